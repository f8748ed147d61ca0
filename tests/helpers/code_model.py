"""A stand-in for a real chat code model in tests: no hub model can load here or in CI.

`build_tiny_code_model` saves a 2-layer Qwen3 (head_dim 64, so vLLM's CPU attention accepts it)
with a byte-level BPE and ChatML template, fit for a few dozen steps on bundled text.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from ssd.models import build_tiny_model, neutral_generation_config, save_model
from ssd.tinycode.tokenizer import build_bpe_tokenizer


def build_tiny_code_model(
    out_dir: Path,
    corpus: Path,
    seed: int = 0,
    hidden_size: int = 128,
    head_dim: int = 64,
    fit_steps: int = 40,
) -> Path:
    """Save a 2-layer Qwen3 chat model and a BPE tokenizer, both fit to `corpus` in seconds.

    The corpus alternates problem statements and solutions in blank-line separated paragraphs;
    each pair becomes a ChatML conversation, so the model writes code-like text and ends its turn
    with `<|im_end|>` (a few dozen AdamW steps: distributions peaked but far from one-hot).

    Args:
        out_dir: where the HF directory is written (config, safetensors, tokenizer files).
        corpus: the bundled text (tests/assets/code_corpus.txt).
        seed: weight initialisation and batch order.
        hidden_size: model width; heads = hidden_size // head_dim.
        head_dim: 64, the smallest vLLM's CPU attention backend accepts.
        fit_steps: next-token steps on the conversations (0 = random weights).

    Returns:
        `out_dir`.
    """
    texts = [t for t in Path(corpus).read_text(encoding="utf-8").split("\n\n") if t.strip()]
    tokenizer = build_bpe_tokenizer(texts)
    arch = SimpleNamespace(
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_layers=2,
        num_heads=max(hidden_size // head_dim, 1),
        head_dim=head_dim,
        max_context=2048,
    )
    model = build_tiny_model(tokenizer, arch, seed)
    conversations = [
        [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        for q, a in zip(texts[0::2], texts[1::2], strict=False)
    ]
    stream = [
        i
        for c in conversations
        for i in tokenizer(tokenizer.apply_chat_template(c, tokenize=False))["input_ids"]
    ]
    _fit_on_stream(model, torch.tensor(stream), fit_steps, seed)
    model.generation_config = neutral_generation_config(tokenizer)
    save_model(model, tokenizer, Path(out_dir))
    return Path(out_dir)


def _fit_on_stream(model: Any, stream: torch.Tensor, steps: int, seed: int, width: int = 64):
    """Next-token AdamW steps on random windows of one token stream, on one CPU thread.

    One thread: for matrices this small, thread barriers cost more than they save, and on a
    loaded machine they stall (measured on 2 busy cores: 2 s with one thread, 215 s with two).
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model.train()
    try:
        for _ in range(steps):
            starts = torch.randint(0, len(stream) - width - 1, (8,), generator=generator)
            batch = torch.stack([stream[s : s + width + 1] for s in starts.tolist()])
            logits = model(input_ids=batch[:, :-1]).logits
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
        model.eval()
