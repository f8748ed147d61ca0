"""What every sampling backend speaks: requests in, completions out, per-sample randomness.

Every backend samples with `Decoder.probs` semantics (ssd.generation.decoding) and seeds randomness per prompt
from (seed, prompt id, sample index), so a sample does not depend on batch size, sharding or
scheduling: `hf` draws from its own uniforms (`row_uniforms`), `vllm` gives each prompt's request
its own engine seed (`prompt_seed`). Both stop on EOS and the chat template's end-of-turn token.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ssd.generation.decoding import Decoder


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


def prompt_seed(seed: int, prompt_id: str) -> int:
    """The engine seed of one prompt's request (vLLM), keyed like `row_uniforms` by seed and id.

    vLLM gives the j-th of n samples seed + j, so seeds are drawn from [0, 2**62) where two
    prompts' ranges practically never overlap.
    """
    rng = np.random.default_rng([seed, zlib.crc32(prompt_id.encode())])
    return int(rng.integers(0, 2**62))
