"""Fine-tuning checkpoints: HF-format exports for inference, a Lightning checkpoint for resumption.

`StepCheckpoints` writes, every `save_every` optimizer steps, `checkpoints/step-NNNNNN/` (weights,
tokenizer, generation config: what transformers and vLLM load directly) and then `resume/last.ckpt`
(model, optimizer, scheduler, loop counters, data plan, random state). At the end of training it
writes the final HF model to `model/` and deletes the resume checkpoint, which nothing needs then.
Exports go through one path for every strategy: gather a full state dict on rank 0 (a collective
under FSDP), rebuild the architecture on the meta device, load, merge LoRA adapters
(`merge_and_unload`), cast to the base model's dtype and `save_pretrained` into a temporary folder
that is renamed into place, so a kill never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
from transformers import AutoModelForCausalLM

from ssd.sft.module import apply_lora

RESUME = Path("resume") / "last.ckpt"


def checkpoint_dir(step: int) -> str:
    return f"checkpoints/step-{step:06d}"


def is_sharded(strategy: Any) -> bool:
    return "fsdp" in type(strategy).__name__.lower()


def full_state_dict(trainer: L.Trainer, module: Any) -> dict[str, torch.Tensor] | None:
    """The HF model's full state dict on CPU on global rank 0, None elsewhere (all ranks call it)."""
    if is_sharded(trainer.strategy):
        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state = get_model_state_dict(trainer.strategy.model, options=options)
        state = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
    elif trainer.is_global_zero:
        state = {k: v.detach().to("cpu", copy=True) for k, v in module.model.state_dict().items()}
    else:
        state = None
    return state if trainer.is_global_zero else None


def save_hf(
    state: dict[str, torch.Tensor],
    config: Any,
    generation_config: Any,
    tokenizer: Any,
    path: Path,
    lora: Any = None,
) -> Path:
    """An HF model directory from a full state dict (LoRA adapters merged), written atomically."""
    dtype = getattr(config, "dtype", None) or torch.float32
    dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    if lora is not None:
        model = apply_lora(model, lora)
    model.load_state_dict(state, strict=True, assign=True)
    # `assign` leaves tied weights (embeddings = output head) as two tensors: tie them again.
    (model.get_base_model() if lora is not None else model).tie_weights()
    if lora is not None:
        model = model.merge_and_unload()
    model = model.to(dtype)
    model.generation_config = generation_config
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    _replace(tmp, path)
    return path


def _replace(tmp: Path, path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    os.replace(tmp, path)


class StepCheckpoints(L.Callback):
    """HF export + resume checkpoint every `every` steps; the final HF model at the end."""

    def __init__(self, out: Path, every: int, config: Any, tokenizer: Any, lora: Any = None):
        self.out, self.every, self.config = Path(out), every, config
        self.tokenizer, self.lora = tokenizer, lora
        self.saved: dict[int, str] = {}
        self._last = -1

    def export(self, trainer: L.Trainer, module: Any, relative: str) -> None:
        state = full_state_dict(trainer, module)
        if trainer.is_global_zero:
            model = module.model
            generation = (model.get_base_model() if self.lora else model).generation_config
            target = self.out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            save_hf(state, self.config, generation, self.tokenizer, target, self.lora)
        trainer.strategy.barrier("hf_export")

    def save_resume(self, trainer: L.Trainer) -> None:
        final = self.out / RESUME
        tmp = final.with_name(final.name + ".tmp")
        if trainer.is_global_zero:
            final.parent.mkdir(parents=True, exist_ok=True)
        trainer.strategy.barrier("resume_dir")
        trainer.save_checkpoint(tmp)
        if trainer.is_global_zero:
            _replace(tmp, final)
        trainer.strategy.barrier("resume_saved")

    def on_train_start(self, trainer: L.Trainer, module: Any) -> None:
        self._last = trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, module: Any, *args: Any) -> None:
        step = trainer.global_step
        if self.every <= 0 or step == self._last or step % self.every or step >= trainer.max_steps:
            return
        self._last = step
        self.export(trainer, module, checkpoint_dir(step))
        self.save_resume(trainer)

    def on_train_end(self, trainer: L.Trainer, module: Any) -> None:
        self.export(trainer, module, "model")
        if trainer.is_global_zero:
            shutil.rmtree(self.out / RESUME.parent, ignore_errors=True)


def saved_checkpoints(out: Path, max_steps: int) -> dict[int, str]:
    """Step -> folder (relative to the stage) of every HF export of a finished run."""
    found = {
        int(p.name.split("-")[1]): f"checkpoints/{p.name}"
        for p in sorted((out / "checkpoints").glob("step-*"))
        if p.is_dir() and not p.name.endswith(".tmp")
    }
    found[max_steps] = "model"
    return dict(sorted(found.items()))
