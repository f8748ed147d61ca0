"""Stage `finetune`: plain SFT of the base model on its own kept samples, loss on completion tokens.

`train_sft` is the one Lightning training loop (the toy's `base` fit uses it too); `finetune` wraps
it as a cached stage that reads kept.jsonl and writes an HF model directory under `model/`.
Labels are -100 on prompt tokens and padding, so the loss covers the completion and its EOS only.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from ssd.cache import StageOutput, run_stage
from ssd.sample import read_samples

IGNORE = -100
for _name in ("lightning.pytorch", "lightning.fabric", "lightning"):
    logging.getLogger(_name).setLevel(logging.WARNING)
# Lightning hints at `srun` whenever SLURM is installed, also for jobs that rightly run without it.
warnings.filterwarnings("ignore", message=".*srun.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*")


@dataclass(frozen=True)
class SFTExample:
    input_ids: list[int]
    labels: list[int]  # IGNORE where no loss is taken (the prompt)


def make_example(prompt_ids: Sequence[int], completion_ids: Sequence[int], max_seq_len: int):
    """Prompt + completion, labels masked on the prompt; returns (example, was_truncated)."""
    input_ids = list(prompt_ids) + list(completion_ids)
    labels = [IGNORE] * len(prompt_ids) + list(completion_ids)
    truncated = len(input_ids) > max_seq_len
    return SFTExample(input_ids[:max_seq_len], labels[:max_seq_len]), truncated


def collate(examples: list[SFTExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding gets attention 0 and label IGNORE."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, : len(e.input_ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def completion_loss(
    logits: torch.Tensor, labels: torch.Tensor, norm: str
) -> tuple[torch.Tensor, int]:
    """Next-token cross-entropy on labelled positions: mean over tokens, or their sum."""
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    total = torch.nn.functional.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]),
        shift_labels.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
    n_tokens = int((shift_labels != IGNORE).sum())
    return (total / max(n_tokens, 1) if norm == "token_mean" else total), n_tokens


def warmup_cosine(step: int, warmup: int, total: int, lr: float, min_lr: float) -> float:
    """Learning rate at `step`: linear warmup to lr, then cosine down to min_lr at `total`."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))


class SFTModule(L.LightningModule):
    """An HF causal LM trained with completion-only cross-entropy, AdamW and warmup-cosine."""

    def __init__(self, model: Any, opt: Any, log_prefix: str = "finetune"):
        super().__init__()
        self.model = model
        self.opt = opt
        self.log_prefix = log_prefix
        self._last_time: float | None = None

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).logits
        loss, n_tokens = completion_loss(logits, batch["labels"], self.opt.loss_norm)
        now = time.perf_counter()
        metrics = {f"{self.log_prefix}/loss": loss.detach(), f"{self.log_prefix}/lr": self.lr_now()}
        if self._last_time is not None:
            metrics[f"{self.log_prefix}/tokens_per_s"] = n_tokens / max(now - self._last_time, 1e-9)
        self._last_time = now
        self.log_dict(metrics, prog_bar=False, on_step=True, batch_size=batch["input_ids"].shape[0])
        self.log("loss", loss.detach(), prog_bar=True, logger=False)
        return loss

    def lr_now(self) -> float:
        return (
            float(self.trainer.optimizers[0].param_groups[0]["lr"])
            if self.trainer.optimizers
            else 0.0
        )

    def configure_optimizers(self):
        o = self.opt
        optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay
        )
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: warmup_cosine(step, o.warmup_steps, o.max_steps, o.lr, o.min_lr) / o.lr,
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def train_sft(
    model: Any,
    examples: list[SFTExample],
    opt: Any,
    seed: int,
    pad_id: int,
    loggers: list[Any] | bool = False,
    log_prefix: str = "finetune",
) -> dict[str, Any]:
    """Fit `model` in place on `examples` for `opt.max_steps` optimizer steps; returns metrics."""
    L.seed_everything(seed, workers=True, verbose=False)
    devices = getattr(opt, "devices", 1)
    accumulate = opt.global_batch_size // (opt.batch_size * devices)
    loader = DataLoader(
        examples,
        batch_size=opt.batch_size,
        shuffle=True,
        collate_fn=lambda batch: collate(batch, pad_id),
        generator=torch.Generator().manual_seed(seed),
        drop_last=len(examples) >= opt.batch_size,
    )
    module = SFTModule(model, opt, log_prefix)
    trainer = L.Trainer(
        max_steps=opt.max_steps,
        max_epochs=math.ceil(opt.max_steps * accumulate / max(len(loader), 1)),
        accelerator=getattr(opt, "accelerator", "auto"),
        devices=devices,
        precision=getattr(opt, "precision", "32-true"),
        accumulate_grad_batches=accumulate,
        gradient_clip_val=opt.grad_clip,
        logger=loggers,
        enable_checkpointing=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        deterministic=True,
    )
    model.train()
    started = time.perf_counter()
    trainer.fit(module, loader)
    model.eval()
    wall = time.perf_counter() - started
    n_tokens = sum(sum(1 for label in e.labels[1:] if label != IGNORE) for e in examples)
    final = trainer.callback_metrics.get(f"{log_prefix}/loss")
    return {
        "steps": int(trainer.global_step),
        "final_loss": float(final) if final is not None else None,
        "train_wall_s": round(wall, 3),
        "n_examples": len(examples),
        "n_completion_tokens": n_tokens,
    }


def finetune_spec(cfg: Any, seed: int) -> dict[str, Any]:
    """What determines the checkpoint: the finetune config (not where it runs) and the seed."""
    spec = OmegaConf.to_container(cfg.finetune, resolve=True)
    spec.pop("accelerator", None)
    spec["seed"] = seed
    return spec


def finetune(
    cfg: Any, model_dir: Path, model_key: str, kept: StageOutput, seed: int, loggers: Any = False
) -> StageOutput:
    """Run (or reuse) SFT of the model at `model_dir` on the kept samples; output under `model/`."""

    def compute(out: Path) -> dict[str, Any]:
        from ssd.models import load_model, save_model

        model, tokenizer = load_model(model_dir, cfg.model.dtype, cfg.model.trust_remote_code)
        rows = read_samples(kept.path / "kept.jsonl")
        pairs = [
            make_example(r["prompt_ids"], r["completion_ids"], cfg.finetune.max_seq_len)
            for r in rows
        ]
        examples = [example for example, _ in pairs]
        metrics = train_sft(model, examples, cfg.finetune, seed, tokenizer.pad_token_id, loggers)
        metrics["n_truncated"] = sum(truncated for _, truncated in pairs)
        save_model(model, tokenizer, out / "model")
        return metrics

    inputs = {"model": model_key, "kept": kept.key}
    return run_stage(cfg.paths.cache_dir, "finetune", finetune_spec(cfg, seed), inputs, compute)
