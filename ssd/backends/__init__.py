"""Sampling backends behind one small interface; `make_backend` picks one by name.

Every backend samples from `Decoder.probs` semantics with one random stream per (seed, prompt id,
sample index), so a sample does not depend on batch size, sharding or backend scheduling.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ssd.decoding import Decoder


@dataclass(frozen=True)
class GenerationRequest:
    prompt_id: str
    prompt_ids: list[int]


@dataclass(frozen=True)
class Completion:
    prompt_id: str
    sample_index: int
    completion_ids: list[int]  # generated tokens, the stop token included when one was emitted
    finish_reason: str  # stop | length


class SamplingBackend(Protocol):
    def generate(
        self,
        requests: list[GenerationRequest],
        decoder: Decoder,
        n_per_prompt: int,
        max_new_tokens: int,
        seed: int,
        progress: str | None = None,
    ) -> list[Completion]: ...


def row_uniforms(seed: int, prompt_id: str, sample_index: int, length: int) -> np.ndarray:
    """The random stream of one sample: uniforms in (0, 1], keyed by seed, prompt and index."""
    rng = np.random.default_rng([seed, zlib.crc32(prompt_id.encode()), sample_index])
    return 1.0 - rng.random(length)


def make_backend(name: str, model: Any, tokenizer: Any, batch_size: int, **options: Any):
    if name == "hf":
        from ssd.backends.hf import HFBackend

        return HFBackend(model, tokenizer, batch_size=batch_size)
    raise ValueError(f"sampling.backend={name!r} is not available here (hf)")
