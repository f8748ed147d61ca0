"""Render a prompt row into the exact token ids a model is conditioned on.

Two independent choices (config `data.prompt`): `format` raw | chat says whether the text is sent as
is (the official code's data generation) or wrapped in the tokenizer's chat template with an
optional system message (the paper); `template` plain | lcb says what the problem text is: the
statement (+ starter code block), or the LiveCodeBench wording the official code uses, with its
stdin and starter-code variants. The rendered text is stored with every sample, so results record
the prompt that was really used. Call `render(prompt, tokenizer, cfg.data.prompt)`. `Prompt` is
the row every source produces: a pool (ssd/data.py), a benchmark's problems, the toy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Prompt:
    id: str
    question: str
    starter_code: str = ""
    instance: int | None = None  # toy: which problem instance the prompt names

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


LCB_PREAMBLE = (
    "You will be given a question (problem specification) and will generate a correct Python "
    "program that matches the specification and passes all tests. You will NOT return anything "
    "except for the program."
)
LCB_STDIN_FORMAT = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly "
    "test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when "
    "the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT."
    "\n```python\n  # YOUR CODE HERE\n```"
)
LCB_STARTER_FORMAT = (
    "You will use the following starter code to write the solution to the problem and enclose "
    "your code within delimiters as follows.\n```python\n{starter_code}\n```"
)

# Tokens that end an assistant turn besides EOS: Qwen/ChatML, Llama 3, gpt-oss (harmony). Not
# gpt-oss's `<|end|>`: it closes every channel message, the reasoning one included, so stopping on
# it would cut the final answer off.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<|return|>")


def problem_text(prompt: Prompt, template: str = "plain") -> str:
    """The problem as the model reads it: `plain` statement (+ starter code) or the `lcb` wording."""
    if template == "lcb":
        if prompt.starter_code:
            instructions = LCB_STARTER_FORMAT.format(starter_code=prompt.starter_code)
        else:
            instructions = LCB_STDIN_FORMAT
        return f"{LCB_PREAMBLE}\n\nQuestion: {prompt.question}\n\n{instructions}"
    if template != "plain":
        raise ValueError(f"data.prompt.template={template!r}: plain or lcb")
    if prompt.starter_code:
        return f"{prompt.question}\n\n```python\n{prompt.starter_code}\n```"
    return prompt.question


def render(
    prompt: Prompt,
    tokenizer: Any,
    prompt_cfg: Any,
    template_kwargs: dict[str, Any] | None = None,
) -> tuple[str, list[int]]:
    """Return (rendered text, token ids) for `prompt` under `prompt_cfg`.

    Args:
        prompt: the problem (anything with `question` and `starter_code`).
        tokenizer: an HF tokenizer; `chat` needs its chat template.
        prompt_cfg: `format` raw | chat, `template` plain | lcb, `system_message` (chat only).
        template_kwargs: extra chat-template variables (`model.chat_template_kwargs`).
    """
    body = problem_text(prompt, prompt_cfg.template)
    if prompt_cfg.format == "chat":
        messages = []
        if prompt_cfg.system_message:
            messages.append({"role": "system", "content": prompt_cfg.system_message})
        messages.append({"role": "user", "content": body})
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **(template_kwargs or {})
        )
        # The template already wrote any BOS; adding special tokens again would double it.
        return text, tokenizer(text, add_special_tokens=False)["input_ids"]
    # Raw text is tokenized as vLLM tokenizes a string prompt: with the tokenizer's own special
    # tokens (Llama's BOS; Qwen's tokenizers add none).
    return body, tokenizer(body)["input_ids"]


def stop_token_ids(tokenizer: Any) -> list[int]:
    """EOS plus the chat template's end-of-turn tokens that exist in this tokenizer's vocabulary."""
    vocabulary = tokenizer.get_vocab()
    ids = {tokenizer.eos_token_id} | {vocabulary[t] for t in END_OF_TURN_TOKENS if t in vocabulary}
    return sorted(i for i in ids if i is not None)
