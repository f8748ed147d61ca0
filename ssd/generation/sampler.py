"""From prompts to completion rows: one path for the sample stage and the evaluators alike.

`Generation` is the typed slice both need (the model's loading and chat-template settings, the
prompt rendering, the backend and its settings), made by `generation_settings`; `make_sampler`
has the backend's module (ssd/generation/backends) build it, `generate_rows` renders,
generates and decodes, flagging degenerate samples with `repetition_loop`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssd.config.schema import (
    KeyRole,
    ModelConfig,
    PromptConfig,
    SamplingConfig,
    keyed,
)
from ssd.generation.backends import GenerationRequest, backend_builder
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import Prompt, render

LOOP_NGRAM = 16  # a repetition loop: some run of LOOP_NGRAM tokens occurs ...
LOOP_MIN_REPEATS = 5  # ... at least this many times in one completion (overlaps count)


@dataclass(frozen=True)
class Generation:
    """How prompts become completions: model settings, prompt rendering and backend.

    `sampling` carries every backend's own settings slice (`sampling.vllm`, ...): a backend's
    `build` reads its own, so a new backend with settings adds them to the schema and nowhere else.
    """

    model: ModelConfig
    prompt: PromptConfig
    batch_size: int = keyed(KeyRole.RUNTIME, 128)  # hf: rows per generate call
    sampling: SamplingConfig = keyed(KeyRole.RUNTIME, default_factory=SamplingConfig)

    @property
    def backend(self) -> str:
        """`sampling.backend`: which engine builds the completions."""
        return self.sampling.backend


def repetition_loop(ids: list[int], ngram: int = LOOP_NGRAM, min_repeats: int = LOOP_MIN_REPEATS):
    """True when some `ngram` consecutive tokens occur `min_repeats` or more times (overlapping).

    Catches a model stuck repeating a line or paragraph (the usual way long samples degenerate);
    code rarely repeats the same 16 tokens five times. Not caught: loops whose text drifts
    (counters, growing indices).
    """
    counts: Counter[tuple[int, ...]] = Counter()
    for start in range(len(ids) - ngram + 1):
        gram = tuple(ids[start : start + ngram])
        counts[gram] += 1
        if counts[gram] >= min_repeats:
            return True
    return False


def generation_settings(
    model: ModelConfig, prompt: PromptConfig, sampling: SamplingConfig, batch_size: int
) -> Generation:
    """The one way a stage gets its `Generation`: the backend and its settings from `sampling`
    (the evaluations decode with the same engine as the sample stage), `batch_size` its own."""
    return Generation(model, prompt, batch_size, sampling)


def make_sampler(generation: Generation, model_dir: Path) -> tuple[Any, Any]:
    """(backend, tokenizer) of `generation.backend`, built by that backend's module."""
    return backend_builder(generation.backend)(generation, model_dir)


def generate_rows(
    backend: Any,
    tokenizer: Any,
    prompts: list[Prompt],
    generation: Generation,
    decoder: Decoder,
    n_per_prompt: int,
    max_new_tokens: int,
    seed: int,
    progress: str | None = None,
) -> list[dict[str, Any]]:
    """Render, generate and decode: the rows both the sample stage and the evaluators store."""
    template_kwargs = dict(generation.model.chat_template_kwargs or {})
    rendered = {p.id: render(p, tokenizer, generation.prompt, template_kwargs) for p in prompts}
    requests = [GenerationRequest(p.id, rendered[p.id][1]) for p in prompts]
    completions = backend.generate(requests, decoder, n_per_prompt, max_new_tokens, seed, progress)
    by_id = {p.id: p for p in prompts}
    rows = []
    for c in completions:
        body = c.completion_ids[:-1] if c.finish_reason == "stop" else c.completion_ids
        rows.append(
            {
                "id": f"{c.prompt_id}#{c.sample_index}",
                "prompt_id": c.prompt_id,
                "sample_index": c.sample_index,
                "instance": by_id[c.prompt_id].instance,
                "prompt": rendered[c.prompt_id][0],
                "prompt_ids": rendered[c.prompt_id][1],
                "completion": tokenizer.decode(body, skip_special_tokens=False),
                "completion_ids": c.completion_ids,
                "finish_reason": c.finish_reason,
                "n_completion_tokens": len(c.completion_ids),
                "length_capped": c.finish_reason == "length",
                "repetition_loop": repetition_loop(c.completion_ids),
                "seed": seed,
            }
        )
    return rows
