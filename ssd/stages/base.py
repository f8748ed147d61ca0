"""Stage `base`: the frozen model SSD starts from, as an HF directory and a cache key.

For `model.kind=hf` this is the given id or directory. For the toy it builds a tokenizer and a tiny
Qwen3 model from config and fits it, with the same SFT loop as `finetune`, to samples of the toy's
noisy reference distribution, so its pass@1 is far from 100% and peaks at an interior T_eval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ssd.cache import run_stage, stable_hash
from ssd.toy.task import ToyTask


@dataclass(frozen=True)
class ModelRef:
    path: Path
    key: str


def _fit_toy_base(cfg: Any, out: Path) -> dict[str, Any]:
    from ssd.config.schema import FinetuneConfig
    from ssd.models import build_tiny_model, build_word_tokenizer, save_model
    from ssd.stages.finetune import make_example, train_sft

    task = ToyTask(cfg.toy)
    tokenizer = build_word_tokenizer(task.vocabulary())
    fit = cfg.model.base_fit
    model = build_tiny_model(tokenizer, cfg.model, seed=fit.seed)
    examples = []
    for instance, outcomes in task.sample_reference(fit.n_sequences, seed=fit.seed):
        prompt_ids = tokenizer(f"P{instance}", add_special_tokens=False)["input_ids"]
        completion_ids = tokenizer(task.outcome_text(outcomes), add_special_tokens=False)[
            "input_ids"
        ]
        examples.append(make_example(prompt_ids, completion_ids, cfg.model.max_context)[0])
    opt = OmegaConf.merge(
        OmegaConf.structured(FinetuneConfig),
        {
            "lr": fit.lr,
            "min_lr": fit.lr / 10,
            "warmup_steps": 10,
            "max_steps": fit.max_steps,
            "batch_size": fit.batch_size,
            "global_batch_size": fit.batch_size,
            "weight_decay": 0.0,
            "batching": "random",  # the reference samples, in plain shuffled order
            "precision": "32-true",
            "accelerator": "cpu",
        },
    )
    metrics = train_sft(model, examples, opt, fit.seed, tokenizer.pad_token_id, log_prefix="base")
    save_model(model, tokenizer, out / "model")
    return metrics


def resolve_base(cfg: Any) -> ModelRef:
    """The base model's directory and key, fitting the toy base first when needed (cached)."""
    m = cfg.model
    if m.kind == "hf":
        path = Path(m.path).expanduser()
        key = stable_hash(
            {"hf": str(path.resolve()) if path.exists() else m.path, "dtype": m.dtype}
        )
        return ModelRef(path if path.exists() else Path(m.path), key)
    spec = {
        "model": OmegaConf.to_container(m, resolve=True),
        "toy": OmegaConf.to_container(cfg.toy, resolve=True),
    }
    out = run_stage(cfg.paths.cache_dir, "base", spec, {}, lambda out: _fit_toy_base(cfg, out))
    return ModelRef(out.path / "model", out.key)
