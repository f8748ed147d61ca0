"""Teacher-force shared contexts through a base/SSD model pair and stream the logits into the analysis.

`analyze_models(base_dir, ssd_dir, rows, settings, ...)` loads both HF models, batches the contexts
(SSD sample rows with prompt_ids + completion_ids, prompt + completion text, or plain text), runs
each model's backbone once per batch and applies its output head `chunk_tokens` positions at a time,
so a chunk of (chunk_tokens, vocab) logits per model is all that ever exists: it runs for a tiny
model on CPU and a 4B model on one GPU. The cached pipeline stage is ssd/stages/analyze.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ssd.analysis.forklock import AnalysisSettings, ForkLockAccumulator
from ssd.models import load_model


@dataclass(frozen=True)
class Context:
    """One teacher-forced sequence; positions predicting input_ids[start:] are analyzed."""

    input_ids: list[int]
    start: int


def to_context(row: dict[str, Any], tokenizer: Any, max_tokens: int, where: str) -> Context | None:
    """A context from a JSONL row (ids win over text); None when nothing is left to predict."""
    if "prompt_ids" in row and "completion_ids" in row:
        prompt, completion = list(row["prompt_ids"]), list(row["completion_ids"])
    elif "prompt" in row and "completion" in row:
        prompt = tokenizer(row["prompt"], add_special_tokens=True)["input_ids"]
        completion = tokenizer(row["completion"], add_special_tokens=False)["input_ids"]
    elif "text" in row:
        ids = tokenizer(row["text"], add_special_tokens=True)["input_ids"]
        prompt, completion = ids[:1], ids[1:]
    else:
        raise ValueError(
            f"{where}: a context row needs prompt_ids + completion_ids, prompt + completion, "
            f"or text; got keys {sorted(row)}"
        )
    if not prompt:  # the first token has no position predicting it
        prompt, completion = completion[:1], completion[1:]
    ids = (prompt + completion)[:max_tokens]
    return Context(ids, len(prompt)) if len(ids) > len(prompt) else None


def batches(contexts: list[Context], batch_size: int) -> Iterator[list[Context]]:
    """Longest first, so each batch pads little and the first batch shows the peak memory."""
    ordered = sorted(contexts, key=lambda c: -len(c.input_ids))
    for i in range(0, len(ordered), batch_size):
        yield ordered[i : i + batch_size]


def _collate(batch: list[Context], pad_id: int, device: torch.device):
    width = max(len(c.input_ids) for c in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    rows, cols = [], []
    for r, c in enumerate(batch):
        ids[r, : len(c.input_ids)] = torch.tensor(c.input_ids)
        mask[r, : len(c.input_ids)] = 1
        positions = range(c.start - 1, len(c.input_ids) - 1)  # position j predicts token j + 1
        rows.extend([r] * len(positions))
        cols.extend(positions)
    index = torch.tensor(rows, device=device), torch.tensor(cols, device=device)
    return ids.to(device), mask.to(device), *index


@torch.inference_mode()
def _hidden(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state


@torch.inference_mode()
def check_output_head(model: Any, ids: torch.Tensor, mask: torch.Tensor, label: str) -> None:
    """Refuse a model whose logits are not its output head applied to the last hidden state.

    The streamed path skips the model's own forward (which would materialise (batch, length,
    vocab) logits); a model that post-processes them (logit soft-capping or scaling) would be
    analyzed wrongly, so its full forward is compared on a short slice first.
    """
    ids, mask = ids[:2, :64], mask[:2, :64]
    full = model(input_ids=ids, attention_mask=mask).logits.float()
    mine = model.get_output_embeddings()(_hidden(model, ids, mask)).float()
    valid = mask.bool()
    scale = full[valid].abs().max().clamp_min(1.0)
    tolerance = 1e-4 if full.dtype == mine.dtype == torch.float32 else 2e-2
    if not torch.allclose(mine[valid], full[valid], atol=float(tolerance * scale), rtol=0):
        raise ValueError(
            f"analyze: {label}'s logits are not its output head applied to the last hidden state "
            "(logit soft-capping or scaling?); the streamed analysis does not support it"
        )


def stream_pair(
    base: Any,
    ssd: Any,
    contexts: list[Context],
    accumulator: ForkLockAccumulator,
    batch_size: int,
    chunk_tokens: int,
    pad_id: int,
    progress: bool = False,
) -> int:
    """Feed every analyzed position of `contexts` to `accumulator`; returns the position count."""
    device = next(base.parameters()).device
    heads = (base.get_output_embeddings(), ssd.get_output_embeddings())
    n_positions, checked = 0, False
    total = -(-len(contexts) // batch_size)
    for batch in tqdm(batches(contexts, batch_size), total=total, disable=not progress):
        ids, mask, rows, cols = _collate(batch, pad_id, device)
        if not checked:
            check_output_head(base, ids, mask, "the base model")
            check_output_head(ssd, ids, mask, "the SSD model")
            checked = True
        hidden = [_hidden(model, ids, mask)[rows, cols] for model in (base, ssd)]
        for i in range(0, len(rows), chunk_tokens):
            with torch.inference_mode():
                logits = [
                    head(h[i : i + chunk_tokens]) for head, h in zip(heads, hidden, strict=True)
                ]
            accumulator.update(logits[0].float(), logits[1].float())
        n_positions += len(rows)
    return n_positions


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def analyze_models(
    base_dir: str | Path,
    ssd_dir: str | Path,
    rows: list[dict[str, Any]],
    settings: AnalysisSettings,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int = 8,
    chunk_tokens: int = 256,
    max_tokens: int = 4096,
    trust_remote_code: bool = False,
    progress: bool = False,
    source: str = "contexts",
) -> dict[str, Any]:
    """Load both models, teacher-force `rows` through them, return the analysis result."""
    target = resolve_device(device)
    base, tokenizer = load_model(base_dir, dtype, trust_remote_code)
    ssd, ssd_tokenizer = load_model(ssd_dir, dtype, trust_remote_code)
    if tokenizer.get_vocab() != ssd_tokenizer.get_vocab():
        raise ValueError("analyze: the base and SSD models have different tokenizers")
    contexts = [
        c
        for i, row in enumerate(rows)
        if (c := to_context(row, tokenizer, max_tokens, f"{source}:{i + 1}")) is not None
    ]
    if not contexts:
        raise ValueError(f"analyze: {source} has no context with a token to predict")
    accumulator = ForkLockAccumulator(settings)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    stream_pair(
        base.to(target), ssd.to(target), contexts, accumulator, batch_size, chunk_tokens, pad_id,
        progress,
    )  # fmt: skip
    result = accumulator.result()
    result["inputs"] = {
        "base": str(base_dir),
        "ssd": str(ssd_dir),
        "contexts": source,
        "n_contexts": len(contexts),
        "n_rows": len(rows),
        "max_tokens": max_tokens,
        "device": str(target),
        "dtype": dtype,
    }
    return result
