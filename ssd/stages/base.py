"""Stage `base`: the frozen model SSD starts from, as an HF directory and a cache key.

For `model.kind=hf` this is the given id or directory (nothing is computed; the key hashes where it
is and its dtype). For the toy it builds a tokenizer and a tiny Qwen3 model from config and fits
it, with the one SFT loop, to samples of the toy's noisy reference distribution, so its pass@1 is
far from 100% and peaks at an interior T_eval.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from ssd.artifacts import ModelRef, local_path
from ssd.cache import Cache, StageOutput
from ssd.config.schema import FinetuneConfig, ModelConfig, ToyTaskConfig
from ssd.models import build_tiny_model, save_model
from ssd.sft.data import make_example
from ssd.sft.loop import train_sft
from ssd.toy.task import ToyTask
from ssd.toy.tokenizer import build_word_tokenizer


def _fit_toy_base(model_cfg: ModelConfig, toy: ToyTaskConfig, out: Path) -> dict[str, Any]:
    task = ToyTask(toy)
    tokenizer = build_word_tokenizer(task.vocabulary())
    fit = model_cfg.base_fit
    model = build_tiny_model(tokenizer, model_cfg, seed=fit.seed)
    examples = []
    for instance, outcomes in task.sample_reference(fit.n_sequences, seed=fit.seed):
        prompt_ids = tokenizer(f"P{instance}", add_special_tokens=False)["input_ids"]
        completion = tokenizer(task.outcome_text(outcomes), add_special_tokens=False)["input_ids"]
        examples.append(make_example(prompt_ids, completion, model_cfg.max_context)[0])
    opt = replace(
        FinetuneConfig(),
        lr=fit.lr,
        min_lr=fit.lr / 10,
        warmup_steps=10,
        max_steps=fit.max_steps,
        batch_size=fit.batch_size,
        global_batch_size=fit.batch_size,
        weight_decay=0.0,
        batching="random",  # the reference samples, in plain shuffled order
        precision="32-true",
        accelerator="cpu",
    )
    metrics = train_sft(model, examples, opt, fit.seed, tokenizer.pad_token_id, log_prefix="base")
    save_model(model, tokenizer, out / "model")
    return metrics


def _weights_identity(spec: str, path: Path) -> Any:
    """What names an HF base in its key: a hub id as written, a local directory by its absolute
    path (hashing a real checkpoint would read gigabytes), and weights shipped inside the package
    by their spec plus the sha256 of their files, so the key is the same on every clone and a
    rebuilt `make tinycode-base` never reuses stages of the old weights."""
    if not path.exists():
        return spec
    if not spec.startswith("pkg:"):
        return str(path.resolve())
    files = sorted(f for f in path.rglob("*") if f.is_file())
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path)}\0".encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return {"package": spec, "sha256": digest.hexdigest()}


def resolve_base(model_cfg: ModelConfig, toy: ToyTaskConfig, cache: Cache) -> StageOutput:
    """The base model (`.model`), fitting the toy base first when needed (cached)."""
    if model_cfg.kind == "hf":
        path = local_path(model_cfg.path)
        where = _weights_identity(model_cfg.path, path)
        key = cache.key("base", args={"hf": where, "dtype": model_cfg.dtype})
        ref = ModelRef(path if path.exists() else Path(model_cfg.path), key)
        return StageOutput("base", key, ref.path, {"spec": {"hf": where}}, True, ref)

    def compute(out: Path) -> dict[str, Any]:
        return _fit_toy_base(model_cfg, toy, out)

    return cache.run("base", compute, {"model": model_cfg, "toy": toy}, model="model")
