"""Stage `sample`: one (or n) completion per prompt from the frozen model at (T_train, top-k, top-p).

Call `sample(cfg, model_dir, model_key, prompts, seed)`; it returns the cached stage output whose
`samples.jsonl` holds one row per completion with the rendered prompt, token ids, finish reason and
degeneracy flags. The pool is cut into shards of `sampling.shard_size` prompts, each written
atomically with a header naming the stage key, so a killed stage regenerates only missing shards
(merged into samples.jsonl and deleted once the stage is complete).
SLURM array tasks split one pool with `sampling.num_shards=N sampling.shard_id=$SLURM_ARRAY_TASK_ID`:
task i writes shards i, i+N, ... into the stage's partial folder without taking its lock; the task
that finds every shard present (or any run with shard_id unset) merges, verifies (key, prompt ids,
counts) and finishes the stage; the others raise `ShardsPending` (exit quietly on it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ssd.cache import (
    MANIFEST,
    ShardsPending,
    StageOutput,
    atomic_write_text,
    read_json,
    run_stage,
    stage_paths,
)
from ssd.data import Prompt
from ssd.generation.backends import GenerationRequest, make_backend
from ssd.generation.decoding import Decoder

LOOP_NGRAM = 16  # a repetition loop: some run of LOOP_NGRAM tokens occurs ...
LOOP_MIN_REPEATS = 5  # ... at least this many times in one completion (overlaps count)


def sampling_decoder(sampling: Any) -> Decoder:
    return Decoder(sampling.temperature, sampling.top_k, sampling.top_p)


def sample_spec(cfg: Any, seed: int) -> dict[str, Any]:
    """What determines the samples: pool, prompt rendering and decoding (not batch or shard split)."""
    s = cfg.sampling
    data = OmegaConf.to_container(cfg.data, resolve=True)
    if cfg.data.kind == "toy":
        data["toy"] = OmegaConf.to_container(cfg.toy, resolve=True)
    template_kwargs = OmegaConf.to_container(cfg.model.chat_template_kwargs, resolve=True)
    return {
        "data": data,
        "temperature": s.temperature,
        "top_k": s.top_k,
        "top_p": s.top_p,
        "n_per_prompt": s.n_per_prompt,
        "max_new_tokens": s.max_new_tokens,
        "backend": s.backend,
        "seed": seed,
        **({"chat_template_kwargs": template_kwargs} if template_kwargs else {}),
    }


def read_samples(path: Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


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


def generate_rows(
    backend: Any,
    tokenizer: Any,
    prompts: list[Prompt],
    prompt_cfg: Any,
    decoder: Decoder,
    n_per_prompt: int,
    max_new_tokens: int,
    seed: int,
    progress: str | None = None,
    template_kwargs: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Render, generate and decode: the rows both the sample stage and the evaluator store."""
    from ssd.generation.prompts import render

    rendered = {p.id: render(p, tokenizer, prompt_cfg, template_kwargs) for p in prompts}
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


def make_sampler(cfg: Any, model_dir: Path) -> tuple[Any, Any]:
    """(backend, tokenizer) for `sampling.backend`; vllm loads no HF weights of its own."""
    from ssd.models import load_model, load_tokenizer

    m, s = cfg.model, cfg.sampling
    if s.backend == "vllm":
        tokenizer = load_tokenizer(model_dir, m.trust_remote_code)
        v = s.vllm
        options = {
            "dtype": m.dtype,
            "trust_remote_code": m.trust_remote_code,
            "max_model_len": v.max_model_len or m.max_context,
            "tensor_parallel_size": v.tensor_parallel_size,
            "gpu_memory_utilization": v.gpu_memory_utilization,
            "enforce_eager": v.enforce_eager,
            "max_num_seqs": v.max_num_seqs,
        }
        return make_backend("vllm", str(model_dir), tokenizer, s.batch_size, **options), tokenizer
    model, tokenizer = load_model(model_dir, m.dtype, m.trust_remote_code)
    return make_backend(s.backend, model, tokenizer, s.batch_size), tokenizer


# ----------------------------------------------------------------------------------------------
# Shards: `shards/shard-<i>-of-<n>.jsonl`, a header line then the rows of prompts [i*size, ...).


def _ids_hash(prompts: list[Prompt]) -> str:
    return hashlib.sha256("\n".join(p.id for p in prompts).encode()).hexdigest()[:16]


def _shard_path(out: Path, index: int, n_shards: int) -> Path:
    return out / "shards" / f"shard-{index:05d}-of-{n_shards:05d}.jsonl"


def _header(key: str, index: int, chunk: list[Prompt], n_rows: int) -> dict[str, Any]:
    return {"stage_key": key, "shard": index, "prompt_ids_sha256": _ids_hash(chunk), "rows": n_rows}


def _shard_done(path: Path, key: str, index: int, chunk: list[Prompt]) -> bool:
    """A shard counts only if its header names this stage, this index and these prompts."""
    try:
        with path.open(encoding="utf-8") as handle:
            header = json.loads(handle.readline())
    except (OSError, json.JSONDecodeError):
        return False
    expected = _header(key, index, chunk, 0)
    return all(header.get(k) == v for k, v in expected.items() if k != "rows")


class _ShardWriter:
    """Generates shards on demand, loading the model only when a shard is actually missing."""

    def __init__(self, cfg: Any, model_dir: Path, chunks: list[list[Prompt]], seed: int, key: str):
        self.cfg = cfg
        self.model_dir = model_dir
        self.chunks = chunks
        self.seed = seed
        self.key = key
        self.sampler: tuple[Any, Any] | None = None  # (backend, tokenizer), built on first need

    def ensure(self, out: Path, indices: list[int], stop_when: Path | None = None) -> None:
        s = self.cfg.sampling
        for index in indices:
            path = _shard_path(out, index, len(self.chunks))
            if _shard_done(path, self.key, index, self.chunks[index]):
                continue  # a finished shard of a killed run (or of another array task) is kept
            if stop_when is not None and stop_when.is_file():
                return  # someone finished the whole stage meanwhile
            if self.sampler is None:
                self.sampler = make_sampler(self.cfg, self.model_dir)
            backend, tokenizer = self.sampler
            rows = generate_rows(
                backend,
                tokenizer,
                self.chunks[index],
                self.cfg.data.prompt,
                sampling_decoder(s),
                s.n_per_prompt,
                s.max_new_tokens,
                self.seed,
                progress=f"sample seed={self.seed} shard {index + 1}/{len(self.chunks)}",
                template_kwargs=OmegaConf.to_container(self.cfg.model.chat_template_kwargs),
            )
            header = _header(self.key, index, self.chunks[index], len(rows))
            write_jsonl(path, [header, *rows])


def _merge(out: Path, key: str, chunks: list[list[Prompt]], n_per_prompt: int) -> list[dict]:
    """Every shard's rows in pool order, after checking key, prompt ids and counts."""
    rows: list[dict[str, Any]] = []
    for index, chunk in enumerate(chunks):
        path = _shard_path(out, index, len(chunks))
        header, *shard_rows = read_samples(path)
        expected = {(p.id, j) for p in chunk for j in range(n_per_prompt)}
        found = [(r["prompt_id"], r["sample_index"]) for r in shard_rows]
        if header.get("stage_key") != key or len(found) != len(expected) or set(found) != expected:
            raise RuntimeError(
                f"sample: {path} does not hold this stage's rows (key {header.get('stage_key')} vs "
                f"{key}, {len(found)} rows vs {len(expected)} expected); delete it and rerun"
            )
        rows.extend(shard_rows)
    return rows


def sample(
    cfg: Any, model_dir: Path, model_key: str, prompts: list[Prompt], seed: int
) -> StageOutput:
    """Run (or reuse) the sample stage for one seed; returns the stage output.

    Raises:
        ShardsPending: `sampling.shard_id` is set, this task's shards are written and others are
            still missing (the task that writes the last one finishes the stage).
    """
    s = cfg.sampling
    spec, inputs = sample_spec(cfg, seed), {"model": model_key}
    chunks = [prompts[i : i + s.shard_size] for i in range(0, len(prompts), s.shard_size)]
    key, final, partial = stage_paths(cfg.paths.cache_dir, "sample", spec, inputs)
    writer = _ShardWriter(cfg, model_dir, chunks, seed, key)
    if s.shard_id is not None and not (final / MANIFEST).is_file():
        partial.mkdir(parents=True, exist_ok=True)
        mine = list(range(s.shard_id, len(chunks), s.num_shards))
        writer.ensure(partial, mine, stop_when=final / MANIFEST)
        missing = [
            i
            for i in range(len(chunks))
            if not _shard_done(_shard_path(partial, i, len(chunks)), key, i, chunks[i])
        ]
        if missing and not (final / MANIFEST).is_file():
            raise ShardsPending(
                f"sample: shard_id={s.shard_id} wrote its {len(mine)} shard(s); "
                f"{len(missing)}/{len(chunks)} still missing, the last array task merges them"
            )
        if (final / MANIFEST).is_file():
            return StageOutput("sample", key, final, read_json(final / MANIFEST), reused=True)

    def compute(out: Path) -> dict[str, Any]:
        writer.ensure(out, list(range(len(chunks))))
        rows = _merge(out, key, chunks, s.n_per_prompt)
        write_jsonl(out / "samples.jsonl", rows)
        shutil.rmtree(out / "shards")  # merged and verified: keep one copy of the samples
        n_tokens = sum(r["n_completion_tokens"] for r in rows)
        return {
            "n_prompts": len(prompts),
            "n_samples": len(rows),
            "n_shards": len(chunks),
            "n_stopped": sum(r["finish_reason"] == "stop" for r in rows),
            "n_length_capped": sum(r["length_capped"] for r in rows),
            "n_repetition_loop": sum(r["repetition_loop"] for r in rows),
            "mean_completion_tokens": n_tokens / max(len(rows), 1),
        }

    return run_stage(cfg.paths.cache_dir, "sample", spec, inputs, compute)
