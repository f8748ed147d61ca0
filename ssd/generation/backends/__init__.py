"""Sampling backends behind one small interface; `make_backend` picks one by name.

Every backend samples with `Decoder.probs` semantics (ssd.generation.decoding) and seeds randomness per prompt
from (seed, prompt id, sample index), so a sample does not depend on batch size, sharding or
scheduling: `hf` draws from its own uniforms (`row_uniforms`), `vllm` gives each prompt's request
its own engine seed (`prompt_seed`). Both stop on EOS and the chat template's end-of-turn token.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Protocol

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


def make_backend(name: str, model: Any, tokenizer: Any, batch_size: int, **options: Any):
    """A backend by `sampling.backend` name.

    Args:
        name: hf | vllm.
        model: hf: a loaded HF model. vllm: the model's directory or hub id (a loaded HF model is
            accepted for its `name_or_path`, but loading one just for vLLM wastes memory).
        tokenizer: the model's tokenizer (prompts are rendered and completions decoded with it).
        batch_size: hf: rows per `generate` call; vllm schedules its own batches.
        options: vllm: `ssd.generation.backends.vllm.VLLMBackend` keyword arguments (engine settings).
    """
    if name == "hf":
        from ssd.generation.backends.hf import HFBackend

        return HFBackend(model, tokenizer, batch_size=batch_size)
    if name == "vllm":
        from ssd.generation.backends.vllm import VLLMBackend

        path = getattr(model, "name_or_path", model)
        return VLLMBackend(str(path), tokenizer, **options)
    raise ValueError(f"sampling.backend={name!r} is not available (hf, vllm)")
