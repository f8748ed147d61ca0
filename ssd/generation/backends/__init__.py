"""The backend table: `sampling.backend` -> the module that builds that sampling engine.

Every backend speaks one small interface (ssd/generation/backends/base.py) and is built in one
place, its module's `build(generation, model_dir)`, from the settings slice it reads (`hf`: the
model settings and batch size; `vllm`: the model settings and `sampling.vllm.*`). Adding a backend
is one module plus one line here and one in `ssd.config.choices.Backend` (README, "Add a backend").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ssd.config.choices import Backend
from ssd.generation.backends import hf, vllm
from ssd.generation.backends.base import Completion, GenerationRequest, SamplingBackend

__all__ = ["BACKENDS", "Completion", "GenerationRequest", "SamplingBackend", "backend_builder"]

BACKENDS: dict[Backend, Callable[[Any, Path], tuple[SamplingBackend, Any]]] = {
    Backend.hf: hf.build,
    Backend.vllm: vllm.build,
}


def backend_builder(name: str) -> Callable[[Any, Path], tuple[SamplingBackend, Any]]:
    """`build(generation, model_dir) -> (backend, tokenizer)` of `sampling.backend=name`."""
    try:
        return BACKENDS[Backend(str(name))]
    except ValueError:
        allowed = ", ".join(b.value for b in BACKENDS)
        raise ValueError(f"sampling.backend={name!r} is not available ({allowed})") from None
