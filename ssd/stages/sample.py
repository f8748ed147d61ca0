"""Stage `sample`: one (or n) completion per prompt from the frozen model at (T_train, top-k, top-p).

Call `sample(model, prompts, seed, settings, data, model_cfg, pool_task, cache)`; it returns the cached stage output whose
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
from pathlib import Path
from typing import Any

from ssd.artifacts import ModelRef, read_jsonl, write_jsonl
from ssd.cache import MANIFEST, Cache, ShardsPending, StageOutput
from ssd.config.schema import DataConfig, ModelConfig, SamplingConfig, ToyTaskConfig
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import Prompt
from ssd.generation.sampler import Generation, generate_rows, generation_settings, make_sampler


def sampling_decoder(sampling: SamplingConfig) -> Decoder:
    """T_train with the training truncation: the decoding SSD samples its training data with."""
    return Decoder(sampling.temperature, sampling.top_k, sampling.top_p)


def sample_key_parts(
    settings: SamplingConfig, data: DataConfig, model: ModelConfig, toy: ToyTaskConfig | None
) -> dict[str, Any]:
    """The typed slices the samples depend on (hashed by `ssd.cache.identity`)."""
    return {"sampling": settings, "data": data, "model": model, "toy": toy}


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

    def __init__(
        self,
        settings: SamplingConfig,
        generation: Generation,
        model_dir: Path,
        chunks: list[list[Prompt]],
        seed: int,
        key: str,
    ):
        self.settings = settings
        self.generation = generation
        self.model_dir = model_dir
        self.chunks = chunks
        self.seed = seed
        self.key = key
        self.sampler: tuple[Any, Any] | None = None  # (backend, tokenizer), built on first need

    def ensure(self, out: Path, indices: list[int], stop_when: Path | None = None) -> None:
        s = self.settings
        for index in indices:
            path = _shard_path(out, index, len(self.chunks))
            if _shard_done(path, self.key, index, self.chunks[index]):
                continue  # a finished shard of a killed run (or of another array task) is kept
            if stop_when is not None and stop_when.is_file():
                return  # someone finished the whole stage meanwhile
            if self.sampler is None:
                self.sampler = make_sampler(self.generation, self.model_dir)
            backend, tokenizer = self.sampler
            rows = generate_rows(
                backend,
                tokenizer,
                self.chunks[index],
                self.generation,
                sampling_decoder(s),
                s.n_per_prompt,
                s.max_new_tokens,
                self.seed,
                progress=f"sample seed={self.seed} shard {index + 1}/{len(self.chunks)}",
            )
            header = _header(self.key, index, self.chunks[index], len(rows))
            write_jsonl(path, [header, *rows])


def _merge(out: Path, key: str, chunks: list[list[Prompt]], n_per_prompt: int) -> list[dict]:
    """Every shard's rows in pool order, after checking key, prompt ids and counts."""
    rows: list[dict[str, Any]] = []
    for index, chunk in enumerate(chunks):
        path = _shard_path(out, index, len(chunks))
        header, *shard_rows = read_jsonl(path)
        expected = {(p.id, j) for p in chunk for j in range(n_per_prompt)}
        found = [(r["prompt_id"], r["sample_index"]) for r in shard_rows]
        if header.get("stage_key") != key or len(found) != len(expected) or set(found) != expected:
            raise RuntimeError(
                f"sample: {path} does not hold this stage's rows (key {header.get('stage_key')} vs "
                f"{key}, {len(found)} rows vs {len(expected)} expected); delete it and rerun"
            )
        rows.extend(shard_rows)
    return rows


def _write_task_shards(writer: _ShardWriter, s: SamplingConfig, final: Path, partial: Path) -> None:
    """An array task's share (shards shard_id, shard_id + N, ...), unlocked, into the partial
    folder; raises ShardsPending unless every shard is then there (this task goes on to merge)."""
    chunks, key = writer.chunks, writer.key
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


def sample(
    model: ModelRef,
    prompts: list[Prompt],
    seed: int,
    settings: SamplingConfig,
    data: DataConfig,
    model_cfg: ModelConfig,
    pool_task: ToyTaskConfig | None,
    cache: Cache,
) -> StageOutput:
    """Run (or reuse) the sample stage for one seed.

    Args:
        model: the model to sample from (the base, or the previous round's SSD model).
        prompts: the pool, in order; `settings.shard_size` of them per shard.
        seed: this replicate's seed (not `settings.seed`, the first replicate's).
        pool_task: `ssd.data.pool_settings`: the toy language when the pool is the toy's (part
            of the key), else None.

    Raises:
        ShardsPending: `settings.shard_id` is set, this task's shards are written and others
            are still missing (the task that writes the last one finishes the stage).
    """
    s = settings
    config = sample_key_parts(settings, data, model_cfg, pool_task)
    args, inputs = {"seed": seed}, {"model": model.key}
    chunks = [prompts[i : i + s.shard_size] for i in range(0, len(prompts), s.shard_size)]
    key = cache.key("sample", config, args, inputs)
    final, partial = cache.paths("sample", key)
    generation = generation_settings(model_cfg, data.prompt, settings, settings.batch_size)
    writer = _ShardWriter(settings, generation, model.path, chunks, seed, key)
    if s.shard_id is not None and not (final / MANIFEST).is_file():
        _write_task_shards(writer, s, final, partial)

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

    return cache.run("sample", compute, config, args, inputs)
