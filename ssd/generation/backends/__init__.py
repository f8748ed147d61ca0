"""Sampling backends behind one small interface (ssd/generation/backends/base.py); `make_backend`
picks one by name: `hf` (batched HF generate, per-row uniforms) or `vllm` (its own engine seeds).
"""

from __future__ import annotations

from typing import Any

from ssd.generation.backends.base import Completion, GenerationRequest, SamplingBackend
from ssd.generation.backends.hf import HFBackend
from ssd.generation.backends.vllm import VLLMBackend

__all__ = ["Completion", "GenerationRequest", "SamplingBackend", "make_backend"]


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
        return HFBackend(model, tokenizer, batch_size=batch_size)
    if name == "vllm":
        path = getattr(model, "name_or_path", model)
        return VLLMBackend(str(path), tokenizer, **options)
    raise ValueError(f"sampling.backend={name!r} is not available (hf, vllm)")
