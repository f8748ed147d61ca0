"""Render a prompt row into the exact token ids a model is conditioned on.

`raw` sends the question text as is (the official code's style); `chat` wraps it in the tokenizer's
chat template with an optional system message (the paper's style). The rendered text is stored with
every sample so results record the prompt that was really used.
"""

from __future__ import annotations

from typing import Any

from ssd.data import Prompt


def render(prompt: Prompt, tokenizer: Any, prompt_cfg: Any) -> tuple[str, list[int]]:
    """Return (rendered text, token ids) for `prompt` under `prompt_cfg.format`."""
    body = prompt.question
    if prompt.starter_code:
        body = f"{body}\n\n```python\n{prompt.starter_code}\n```"
    if prompt_cfg.format == "chat":
        messages = []
        if prompt_cfg.system_message:
            messages.append({"role": "system", "content": prompt_cfg.system_message})
        messages.append({"role": "user", "content": body})
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return text, tokenizer(text, add_special_tokens=False)["input_ids"]
    return body, tokenizer(body, add_special_tokens=False)["input_ids"]


def stop_token_ids(tokenizer: Any) -> list[int]:
    """EOS plus the chat template's end-of-turn token when the tokenizer has one."""
    ids = {tokenizer.eos_token_id}
    for token in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<|return|>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id and token_id >= 0:
            ids.add(token_id)
    return sorted(i for i in ids if i is not None)
