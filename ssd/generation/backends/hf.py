"""The `hf` backend: batched `model.generate` with KV cache and left padding, on CPU or GPU.

Sampling itself happens in `SeededSampler`, a logits processor that draws each row's token from
`Decoder.probs` with that row's own uniforms (inverse CDF) and hands `generate` a one-hot score, so
`generate` runs greedy over our choice. This keeps HF's cache and stopping logic while making the
draw exactly our decoding operator and independent of how rows are batched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import LogitsProcessor, LogitsProcessorList

from ssd.generation.backends.base import Completion, GenerationRequest, row_uniforms
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import stop_token_ids
from ssd.models import load_model

if TYPE_CHECKING:
    from ssd.generation.sampler import Generation


class SeededSampler(LogitsProcessor):
    """Replace scores by a one-hot of a token drawn from `decoder.probs` with per-row uniforms."""

    def __init__(self, decoder: Decoder, uniforms: torch.Tensor, prompt_width: int):
        self.decoder = decoder
        self.uniforms = uniforms
        self.prompt_width = prompt_width

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.prompt_width
        probs = self.decoder.probs(scores)
        cdf = probs.cumsum(-1)
        u = self.uniforms[:, step : step + 1].to(cdf.device) * cdf[:, -1:]
        tokens = torch.searchsorted(cdf, u).clamp_(max=probs.shape[-1] - 1)
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(1, tokens, 0.0)


class HFBackend:
    """Batched `generate` with left padding and KV cache, on whatever device the model is on.

    Expands `n_per_prompt` into rows itself instead of passing `num_return_sequences`: `generate`
    runs greedy over `SeededSampler`'s one-hot choice, and HF refuses num_return_sequences > 1 in
    greedy mode; rows also need their own uniforms (prompt id, sample index) anyway.
    """

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.stop_ids = stop_token_ids(tokenizer)

    @torch.inference_mode()
    def generate(
        self,
        requests: list[GenerationRequest],
        decoder: Decoder,
        n_per_prompt: int,
        max_new_tokens: int,
        seed: int,
        progress: str | None = None,
    ) -> list[Completion]:
        rows = [(r, j) for r in requests for j in range(n_per_prompt)]
        # Similar lengths together waste less padding; results do not depend on the order.
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0].prompt_ids))
        results: list[Completion | None] = [None] * len(rows)
        batches = range(0, len(order), self.batch_size)
        for start in tqdm(batches, desc=progress, disable=progress is None, leave=False):
            idx = order[start : start + self.batch_size]
            batch = [rows[i] for i in idx]
            for i, completion in zip(
                idx, self._generate_batch(batch, decoder, max_new_tokens, seed), strict=True
            ):
                results[i] = completion
        return [c for c in results if c is not None]

    def _generate_batch(self, batch, decoder, max_new_tokens, seed) -> list[Completion]:
        device = self.model.device
        width = max(len(r.prompt_ids) for r, _ in batch)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor(
            [[pad] * (width - len(r.prompt_ids)) + r.prompt_ids for r, _ in batch]
        )
        attention = torch.tensor(
            [[0] * (width - len(r.prompt_ids)) + [1] * len(r.prompt_ids) for r, _ in batch]
        )
        uniforms = torch.from_numpy(
            np.stack([row_uniforms(seed, r.prompt_id, j, max_new_tokens) for r, j in batch])
        )
        out = self.model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention.to(device),
            logits_processor=LogitsProcessorList([SeededSampler(decoder, uniforms, width)]),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=self.stop_ids,
            pad_token_id=pad,
        )
        completions = []
        for (request, j), row in zip(batch, out[:, width:].tolist(), strict=True):
            ids, reason = [], "length"
            for token in row:
                ids.append(token)
                if token in self.stop_ids:
                    reason = "stop"
                    break
            completions.append(Completion(request.prompt_id, j, ids, reason))
        return completions


def build(generation: Generation, model_dir: Path) -> tuple[HFBackend, Any]:
    """The backend `sampling.backend=hf` names: the model loaded as `model.*` says, batched by
    the stage's batch size."""
    m = generation.model
    model, tokenizer = load_model(model_dir, m.dtype, m.trust_remote_code)
    return HFBackend(model, tokenizer, batch_size=generation.batch_size), tokenizer
