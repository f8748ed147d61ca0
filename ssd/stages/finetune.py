"""Stage `finetune`: plain SFT of a model on its own kept samples, loss on completion tokens only.

`finetune(model, kept, seed, settings, trust_remote_code, cache)` trains with the one SFT loop
(ssd/sft/loop.py) and writes HF checkpoints under `checkpoints/step-N/` and the final model under
`model/`. A killed run leaves `resume/last.ckpt` in the stage's `.partial` folder and the rerun
continues from it with the same data order; with more than one device the training runs in
`python -m ssd.sft.worker JOB.json` on every rank.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ssd.artifacts import ModelRef, atomic_write_json, read_json
from ssd.cache import Cache, StageOutput
from ssd.config.schema import FinetuneConfig
from ssd.sft.loop import (
    TRAIN_METRICS,
    launch_worker,
    replay_csv,
    resolve_precision,
    run_job,
    world_size,
)


def finetune(
    model: ModelRef,
    kept: StageOutput,
    seed: int,
    settings: FinetuneConfig,
    trust_remote_code: bool,
    cache: Cache,
    tracker: Any = None,
) -> StageOutput:
    """Run (or reuse, or resume) SFT of `model` on the kept samples; `.model` is the result."""

    def compute(out: Path) -> dict[str, Any]:
        if (out / TRAIN_METRICS).is_file() and (out / "model" / "config.json").is_file():
            return read_json(out / TRAIN_METRICS)  # trained before a kill, manifest missing
        job = {
            "finetune": asdict(settings),
            "model_dir": str(model.path),
            "trust_remote_code": trust_remote_code,
            "kept": str(kept.path / "kept.jsonl"),
            "seed": seed,
            "out": str(out),
        }
        if world_size(settings) == 1:
            loggers = tracker.lightning_loggers() if tracker is not None else False
            return run_job(job, loggers)
        atomic_write_json(out / "job.json", job)
        launch_worker(out / "job.json", settings)
        if tracker is not None:
            replay_csv(out / "logs", tracker)
        return read_json(out / TRAIN_METRICS)

    # `precision=auto` trains differently on a GPU and a CPU: the key holds what it resolved to.
    args = {"seed": seed, "precision": resolve_precision(settings)}
    inputs = {"model": model.key, "kept": kept.key}
    return cache.run("finetune", compute, {"finetune": settings}, args, inputs, model="model")
