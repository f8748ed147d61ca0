"""The Lightning SFT module: completion-only cross-entropy, AdamW, warmup-cosine, step metrics.

Loss normalisation (`finetune.loss_norm`):
- `token_mean` (default): the sum of the completion tokens' cross-entropies divided by the number of
  completion tokens in the whole optimizer step (all micro-batches, all devices). Every token
  weighs the same, and the gradient does not depend on how the global batch is cut.
- `sum`: the paper's equation, the plain sum over the step's completion tokens. Its gradient grows
  with the batch's token count, so gradient clipping (`grad_clip`) is nearly always active.
Each micro-batch carries its step's token count (see ssd/sft/data.py); the loss returned is scaled
by accumulate * world_size because Lightning divides by the accumulation and DDP averages ranks.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch

from ssd.sft.data import IGNORE


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


def apply_lora(model: Any, lora: Any) -> Any:
    """Wrap `model` with peft LoRA adapters; only the adapters train."""
    from peft import get_peft_model  # lazy: peft takes seconds to import; LoRA is opt-in

    return get_peft_model(model, lora_config(lora))


def lora_config(lora: Any) -> Any:
    from peft import LoraConfig  # lazy: as above

    targets = lora.target_modules
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets if isinstance(targets, str) else list(targets),
        task_type="CAUSAL_LM",
    )


class SFTModule(L.LightningModule):
    """An HF causal LM (optionally LoRA-wrapped) trained on planned micro-batches."""

    def __init__(
        self,
        model: Any,
        opt: Any,
        total_steps: int,
        log_prefix: str = "finetune",
        first_metrics: dict[str, float] | None = None,
    ):
        super().__init__()
        self.first_metrics = dict(first_metrics or {})
        self.start_step = 0
        self.model = model
        self.opt = opt
        self.total_steps = total_steps
        self.log_prefix = log_prefix
        self.last_metrics: dict[str, float] = {}
        self._loss_sum = torch.zeros(())
        self._batch_stats: dict[str, int] = {}
        self._last_time: float | None = None

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).logits
        total, _ = completion_loss(logits, batch["labels"], "sum")
        self._loss_sum = self._loss_sum.to(total.device) + total.detach()
        scale = self.trainer.accumulate_grad_batches * self.trainer.world_size
        if self.opt.loss_norm == "token_mean":
            return total * scale / batch["step_label_tokens"].clamp_min(1)
        return total * scale

    def on_train_start(self) -> None:
        self._last_time = time.perf_counter()
        self.start_step = self.trainer.global_step

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        """Once per optimizer step, after every micro-batch's backward, before clipping."""
        batch = self._batch_stats
        squares = sum(
            p.grad.detach().float().pow(2).sum() for p in self.parameters() if p.grad is not None
        )
        loss_sum = self.trainer.strategy.reduce(self._loss_sum, reduce_op="sum")
        if "fsdp" in type(self.trainer.strategy).__name__.lower():  # sharded gradients
            squares = self.trainer.strategy.reduce(squares, reduce_op="sum")
        now = time.perf_counter()
        elapsed = max(now - (self._last_time or now), 1e-9)
        self._last_time = now
        self._loss_sum = torch.zeros((), device=self._loss_sum.device)
        p = self.log_prefix
        self.last_metrics = {
            f"{p}/loss": float(loss_sum) / max(batch["label_tokens"], 1),
            f"{p}/lr": float(optimizer.param_groups[0]["lr"]),
            f"{p}/grad_norm": float(torch.as_tensor(squares).sqrt()),
            f"{p}/tokens_per_s": batch["nonpad_tokens"] / elapsed,
            f"{p}/padding_fraction": 1 - batch["nonpad_tokens"] / max(batch["computed_tokens"], 1),
            f"{p}/step_tokens": float(batch["nonpad_tokens"]),
        }
        if self.trainer.is_global_zero:
            logged = {**self.last_metrics, **self.first_metrics}
            self.first_metrics = {}
            for logger in self.loggers:
                logger.log_metrics(logged, step=self.trainer.global_step + 1)

    def on_train_batch_start(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._batch_stats = {
            k[len("step_") :]: int(v) for k, v in batch.items() if k.startswith("step_")
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Random state too: LoRA dropout must draw the same masks after a resume."""
        checkpoint["rng_cpu"] = torch.get_rng_state()
        if torch.cuda.is_available():
            checkpoint["rng_cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "rng_cpu" in checkpoint:
            torch.set_rng_state(checkpoint["rng_cpu"])
        if "rng_cuda" in checkpoint and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(checkpoint["rng_cuda"])

    def configure_optimizers(self) -> dict[str, Any]:
        o = self.opt
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay
        )
        total = self.total_steps
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: warmup_cosine(step, o.warmup_steps, total, o.lr, o.min_lr) / o.lr,
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
