"""Stage `sample`: one (or n) completion per prompt from the frozen model at (T_train, top-k, top-p).

Call `sample(cfg, model_dir, model_key, prompts, seed)`; it returns the cached stage output whose
`samples.jsonl` holds one row per completion with the rendered prompt, token ids and finish reason.
Work is written in shards, each atomically, so a killed stage regenerates only missing shards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ssd.backends import GenerationRequest, make_backend
from ssd.cache import StageOutput, atomic_write_text, run_stage
from ssd.data import Prompt
from ssd.decoding import Decoder

SHARD_SIZE = 256  # prompts per shard: the unit of resumption


def sampling_decoder(sampling: Any) -> Decoder:
    return Decoder(sampling.temperature, sampling.top_k, sampling.top_p)


def sample_spec(cfg: Any, seed: int) -> dict[str, Any]:
    """What determines the samples: pool, prompt rendering and decoding (not batch size)."""
    s = cfg.sampling
    data = OmegaConf.to_container(cfg.data, resolve=True)
    if cfg.data.kind == "toy":
        data["toy"] = OmegaConf.to_container(cfg.toy, resolve=True)
    return {
        "data": data,
        "temperature": s.temperature,
        "top_k": s.top_k,
        "top_p": s.top_p,
        "n_per_prompt": s.n_per_prompt,
        "max_new_tokens": s.max_new_tokens,
        "backend": s.backend,
        "seed": seed,
    }


def read_samples(path: Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


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
) -> list[dict[str, Any]]:
    """Render, generate and decode: the rows both the sample stage and the evaluator store."""
    from ssd.prompts import render

    rendered = {p.id: render(p, tokenizer, prompt_cfg) for p in prompts}
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
                "seed": seed,
            }
        )
    return rows


def sample(
    cfg: Any, model_dir: Path, model_key: str, prompts: list[Prompt], seed: int
) -> StageOutput:
    """Run (or reuse) the sample stage for one seed; returns the stage output."""
    spec = sample_spec(cfg, seed)

    def compute(out: Path) -> dict[str, Any]:
        from ssd.models import load_model

        model, tokenizer = load_model(model_dir, cfg.model.dtype, cfg.model.trust_remote_code)
        backend = make_backend(cfg.sampling.backend, model, tokenizer, cfg.sampling.batch_size)
        shards = [prompts[i : i + SHARD_SIZE] for i in range(0, len(prompts), SHARD_SIZE)]
        (out / "shards").mkdir(exist_ok=True)
        rows: list[dict[str, Any]] = []
        for index, shard in enumerate(shards):
            shard_path = out / "shards" / f"shard-{index:05d}.jsonl"
            if not shard_path.is_file():  # a finished shard of a killed run is kept
                shard_rows = generate_rows(
                    backend,
                    tokenizer,
                    shard,
                    cfg.data.prompt,
                    sampling_decoder(cfg.sampling),
                    cfg.sampling.n_per_prompt,
                    cfg.sampling.max_new_tokens,
                    seed,
                    progress=f"sample seed={seed} shard {index + 1}/{len(shards)}",
                )
                write_jsonl(shard_path, shard_rows)
            rows.extend(read_samples(shard_path))
        expected = len(prompts) * cfg.sampling.n_per_prompt
        if len(rows) != expected:
            raise RuntimeError(f"sample: {len(rows)} rows in shards, expected {expected}")
        write_jsonl(out / "samples.jsonl", rows)
        n_tokens = sum(r["n_completion_tokens"] for r in rows)
        return {
            "n_prompts": len(prompts),
            "n_samples": len(rows),
            "n_stopped": sum(r["finish_reason"] == "stop" for r in rows),
            "mean_completion_tokens": n_tokens / max(len(rows), 1),
        }

    return run_stage(cfg.paths.cache_dir, "sample", spec, {"model": model_key}, compute)
