"""From prompts to completion rows: one path for the sample stage and the evaluators alike.

`Generation` is the typed slice both need (the model's loading and chat-template settings, the
prompt rendering, the backend); `make_sampler` builds the backend, `generate_rows` renders,
generates and decodes, flagging degenerate samples with `repetition_loop`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssd.config.schema import KeyRole, ModelConfig, PromptConfig, VLLMConfig, keyed
from ssd.data import Prompt
from ssd.generation.backends import GenerationRequest, make_backend
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import render
from ssd.models import load_model, load_tokenizer

LOOP_NGRAM = 16  # a repetition loop: some run of LOOP_NGRAM tokens occurs ...
LOOP_MIN_REPEATS = 5  # ... at least this many times in one completion (overlaps count)


@dataclass(frozen=True)
class Generation:
    """How prompts become completions: model settings, prompt rendering and backend."""

    model: ModelConfig
    prompt: PromptConfig
    backend: str
    batch_size: int = keyed(KeyRole.RUNTIME, 128)  # hf: rows per generate call
    vllm: VLLMConfig = keyed(KeyRole.RUNTIME, default_factory=VLLMConfig)


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


def make_sampler(generation: Generation, model_dir: Path) -> tuple[Any, Any]:
    """(backend, tokenizer) for `generation.backend`; vllm loads no HF weights of its own."""
    m, v = generation.model, generation.vllm
    if generation.backend == "vllm":
        tokenizer = load_tokenizer(model_dir, m.trust_remote_code)
        options = {
            "dtype": str(m.dtype),  # a plain string for vLLM, not the config's Enum
            "trust_remote_code": m.trust_remote_code,
            "max_model_len": v.max_model_len or m.max_context,
            "tensor_parallel_size": v.tensor_parallel_size,
            "gpu_memory_utilization": v.gpu_memory_utilization,
            "enforce_eager": v.enforce_eager,
            "max_num_seqs": v.max_num_seqs,
        }
        backend = make_backend("vllm", str(model_dir), tokenizer, generation.batch_size, **options)
        return backend, tokenizer
    model, tokenizer = load_model(model_dir, m.dtype, m.trust_remote_code)
    return make_backend(generation.backend, model, tokenizer, generation.batch_size), tokenizer


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
