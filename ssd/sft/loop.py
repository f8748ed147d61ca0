"""The one Lightning SFT loop: `train_sft` fits a model in place; `run_job` is a finetune job.

Used by the finetune stage, the toy's base fit and the paper toy's SGD students. A job (the
model dir, kept samples, settings, output folder) runs in-process on one device, or in
`python -m ssd.sft.worker JOB.json` when Lightning must relaunch it on every rank (devices > 1),
started by `srun` inside the SLURM allocation when num_nodes > 1.
"""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment
from lightning.pytorch.strategies import FSDPStrategy
from omegaconf import OmegaConf
from transformers import AutoConfig, AutoTokenizer

from ssd.artifacts import atomic_write_json, read_jsonl
from ssd.config.schema import FinetuneConfig
from ssd.models import load_model
from ssd.sft.checkpoints import RESUME, StepCheckpoints, saved_checkpoints
from ssd.sft.data import (
    BatchShape,
    SFTDataModule,
    SFTExample,
    make_example,
    padding_fraction,
    total_steps,
)
from ssd.sft.module import SFTModule, apply_lora

for _name in ("lightning.pytorch", "lightning.fabric", "lightning"):
    logging.getLogger(_name).setLevel(logging.WARNING)
# Lightning hints at `srun` whenever SLURM is installed, also for jobs that rightly run without it.
warnings.filterwarnings("ignore", message=".*srun.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*")
LOCAL_WORKER_ENV = "SSD_LOCAL_WORKER"  # set for a worker this process launched (not srun)
TRAIN_METRICS = "train_metrics.json"


def world_size(opt: FinetuneConfig) -> int:
    return opt.devices * opt.num_nodes


def batch_shape(opt: FinetuneConfig) -> BatchShape:
    """Accumulation = global batch / (per-device batch x devices x nodes): 32 on any cluster."""
    world = world_size(opt)
    return BatchShape(
        batch_size=opt.batch_size,
        accumulate=opt.global_batch_size // (opt.batch_size * world),
        world_size=world,
        length_grouped=opt.batching == "length_grouped",
        group_batches=opt.length_group_batches,
    )


def resolve_precision(opt: FinetuneConfig) -> str:
    """`auto`: bf16-mixed where training runs on a GPU, 32-true on CPU."""
    precision = opt.precision
    if precision != "auto":
        return precision
    on_gpu = opt.accelerator != "cpu" and torch.cuda.is_available()
    return "bf16-mixed" if on_gpu else "32-true"


def _strategy(opt: FinetuneConfig, model: Any) -> Any:
    name = opt.strategy
    if name == "ddp" and world_size(opt) == 1:
        return "auto"  # a one-process group would only hold a port and env vars a worker inherits
    if name != "fsdp":
        return name  # auto | ddp | deepspeed (ZeRO-2, Lightning's default stage)

    blocks = set(getattr(model, "_no_split_modules", None) or [])  # e.g. Qwen3DecoderLayer
    layers = {type(m) for m in model.modules() if type(m).__name__ in blocks}
    return FSDPStrategy(auto_wrap_policy=layers, use_orig_params=True, state_dict_type="sharded")


def _plugins() -> list[Any]:
    """Under SLURM, Lightning must not requeue on its own: the submitit launcher does."""
    if os.environ.get(LOCAL_WORKER_ENV):
        return [LightningEnvironment()]  # ranks are ours to launch, even inside a SLURM job
    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def train_sft(
    model: Any,
    examples: list[SFTExample],
    opt: FinetuneConfig,
    seed: int,
    pad_id: int,
    loggers: list[Any] | bool = False,
    log_prefix: str = "finetune",
    out: Path | None = None,
    export: dict[str, Any] | None = None,
    callbacks: list[Any] | None = None,
    first_metrics: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Fit `model` in place on `examples`; returns metrics.

    Args:
        opt: the fine-tuning settings (lr, schedule, batch shape, strategy, precision, ...).
        out: the stage folder; with it, HF checkpoints and the resume checkpoint live there and a
            run finding `out/resume/last.ckpt` continues from it.
        export: {"config", "tokenizer", "lora"} for HF exports (needs `out`).
        callbacks: extra Lightning callbacks (tests use one to interrupt a run).
        first_metrics: logged with the first step (kept samples, truncated count).
    """
    L.seed_everything(seed, workers=True, verbose=False)
    lora = opt.lora if opt.lora.enabled else None
    if lora is not None:
        model = apply_lora(model, lora)
    if opt.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    shape = batch_shape(opt)
    n_steps = total_steps(len(examples), shape, opt.max_steps, opt.epochs)
    data = SFTDataModule(examples, shape, n_steps, seed, pad_id, opt.num_workers)
    module = SFTModule(model, opt, n_steps, log_prefix, first_metrics)
    all_callbacks = list(callbacks or [])
    if out is not None and export is not None:
        saver = StepCheckpoints(out, opt.save_every, lora=lora, **export)
        all_callbacks.insert(0, saver)
    trainer = _trainer(opt, model, shape, n_steps, loggers, all_callbacks)
    resume = out / RESUME if out is not None and (out / RESUME).exists() else None
    model.train()
    started = time.perf_counter()
    trainer.fit(module, datamodule=data, ckpt_path=resume)
    if trainer.interrupted:  # a fit that returns interrupted is unfinished: never record it
        raise KeyboardInterrupt(f"{log_prefix} training interrupted at step {trainer.global_step}")
    wall = time.perf_counter() - started
    model.eval()
    n_tokens = sum(e.n_label_tokens for e in examples)
    last = module.last_metrics
    return {
        "steps": int(trainer.global_step),
        "final_loss": last.get(f"{log_prefix}/loss"),
        "final_grad_norm": last.get(f"{log_prefix}/grad_norm"),
        "train_wall_s": round(wall, 3),
        "resumed": resume is not None,
        "resumed_from_step": module.start_step,  # 0 unless a killed attempt left a checkpoint
        "n_examples": len(examples),
        "n_completion_tokens": n_tokens,
        "accumulate": shape.accumulate,
        "world_size": shape.world_size,
        "precision": resolve_precision(opt),
        "padding_fraction": round(padding_fraction(data.plan, examples), 6),
        "tokens_per_s_mean": round(_plan_tokens(data, module.start_step) / max(wall, 1e-9), 3),
        "global_rank": trainer.global_rank,
    }


def _trainer(
    opt: FinetuneConfig,
    model: Any,
    shape: BatchShape,
    n_steps: int,
    loggers: Any,
    callbacks: list[Any],
) -> L.Trainer:
    """One long epoch of exactly `n_steps` optimizer steps on the configured devices."""
    on_gpu = opt.accelerator != "cpu" and torch.cuda.is_available()
    return L.Trainer(
        max_steps=n_steps,
        max_epochs=1,  # the plan is one long epoch of exactly n_steps steps
        accelerator=opt.accelerator,
        devices=opt.devices,
        num_nodes=opt.num_nodes,
        strategy=_strategy(opt, model),
        precision=resolve_precision(opt),
        plugins=_plugins(),
        accumulate_grad_batches=shape.accumulate,
        gradient_clip_val=opt.grad_clip or None,
        logger=loggers,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
        use_distributed_sampler=False,  # the plan already gives each rank its micro-batches
        limit_val_batches=0,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        deterministic="warn" if on_gpu else True,
    )


def _plan_tokens(data: SFTDataModule, start_step: int) -> int:
    """Non-padding tokens of the steps this session trained (all ranks)."""
    return sum(
        len(data.examples[i].input_ids)
        for step in data.plan[start_step:]
        for rank in step
        for batch in rank
        for i in batch
    )


def _training_dtype(opt: FinetuneConfig) -> str:
    """Master weights stay float32 unless precision is bf16-true."""
    return "bfloat16" if resolve_precision(opt) == "bf16-true" else "float32"


def finetune_settings(values: dict[str, Any]) -> FinetuneConfig:
    """A job file's finetune settings back as the typed schema (enums and nested LoRA included)."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(FinetuneConfig), values))


def run_job(job: dict[str, Any], loggers: list[Any] | bool = False) -> dict[str, Any]:
    """Load the model and the kept samples named by `job`, train, export; metrics on rank 0."""
    opt = finetune_settings(job["finetune"])
    out = Path(job["out"])
    trust = job["trust_remote_code"]
    model, tokenizer = load_model(job["model_dir"], _training_dtype(opt), trust)
    pairs = [
        make_example(r["prompt_ids"], r["completion_ids"], opt.max_seq_len)
        for r in read_jsonl(Path(job["kept"]))
    ]
    examples = [example for example, _ in pairs]
    export = {
        "config": AutoConfig.from_pretrained(job["model_dir"], trust_remote_code=trust),
        "tokenizer": AutoTokenizer.from_pretrained(job["model_dir"], trust_remote_code=trust),
    }
    first = {"finetune/kept_samples": len(examples)}
    first["finetune/truncated"] = sum(truncated for _, truncated in pairs)
    metrics = train_sft(
        model,
        examples,
        opt,
        job["seed"],
        tokenizer.pad_token_id,
        loggers,
        "finetune",
        out,
        export,
        first_metrics=first,
    )
    metrics["n_truncated"] = first["finetune/truncated"]
    metrics["checkpoints"] = saved_checkpoints(out, metrics["steps"])
    if metrics.pop("global_rank") == 0:
        atomic_write_json(out / TRAIN_METRICS, metrics)
    return metrics


def launch_worker(job_path: Path, opt: FinetuneConfig) -> None:
    """Train in `python -m ssd.sft.worker JOB` so only that script is re-run on every rank."""
    cmd = [sys.executable, "-m", "ssd.sft.worker", str(job_path)]
    env = dict(os.environ)
    if opt.num_nodes > 1:  # one task per device over the allocation's nodes
        # --overlap: the job's own step (submitit's srun, one task per device) still holds the
        # allocation; this step shares it instead of waiting for resources that never free up.
        cmd = [
            "srun",
            "--overlap",
            f"--nodes={opt.num_nodes}",
            f"--ntasks-per-node={opt.devices}",
            *cmd,
        ]
    else:
        env[LOCAL_WORKER_ENV] = "1"
        for key in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "NODE_RANK"):
            env.pop(key, None)  # left by an earlier group in this process: pick a fresh port
    subprocess.run(cmd, env=env, check=True)


def replay_csv(logs: Path, tracker: Any) -> None:
    """Send a worker's CSV metrics to the pipeline's tracker (W&B), one row per step."""
    for path in sorted(logs.rglob("metrics.csv")):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                values = {k: float(v) for k, v in row.items() if v not in ("", None)}
                step = values.pop("step", None)
                tracker.log({**values, "trainer/global_step": step})
