"""Before compute: will the cache's filesystem hold what this run writes? Warn, or refuse in one line.

A 30B recipe saving every 250 steps writes 60 GB per checkpoint; finding out at step 1,000 wastes
the GPU hours before it. `estimate(config, cache, prompts)` adds up an upper bound per part
(samples: prompts x n x max_new_tokens; checkpoints: model size x (saves + final) plus one resume
checkpoint with optimizer state) for the stages not already finished, minus what their killed
attempts already wrote; `check_space` compares it with the free space (`paths.check_space=false`
skips it). Called by the pipeline just before the first stage computes.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from ssd.artifacts import local_path
from ssd.config.schema import ConfigError
from ssd.disk_space import free_bytes, human, mount_point

WARN_FRACTION = 0.8  # warn when the estimate takes more than this share of the free space
# A sample row: the rendered prompt plus, per completion token, its id in JSON and its text.
_BYTES_PER_TOKEN = 12
_ROW_OVERHEAD = 400
_WEIGHT_FILES = ("*.safetensors", "*.bin", "*.pt")


def _folder_bytes(path: Path) -> int:
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total


def _hub_model_bytes(repo: str) -> int | None:
    """Weight bytes of a hub model already in the local HF cache (index or single file), or None."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    index = try_to_load_from_cache(repo, "model.safetensors.index.json")
    if isinstance(index, str):
        size = json.loads(Path(index).read_text()).get("metadata", {}).get("total_size")
        return int(size) if size else None
    single = try_to_load_from_cache(repo, "model.safetensors")
    return Path(single).stat().st_size if isinstance(single, str) else None


def model_bytes(model_cfg: Any, base_dir: Path | None) -> int | None:
    """Bytes of the base model's weights: a local folder's weight files, the hub cache's index,
    or the built toy base (`base_dir`); None when unknown (its checkpoints are then not counted)."""
    folder = base_dir if base_dir is not None and base_dir.is_dir() else None
    if folder is None and model_cfg.path:
        candidate = local_path(model_cfg.path)
        if candidate.is_dir():
            folder = candidate
        else:
            return _hub_model_bytes(model_cfg.path)
    if folder is None:
        return None
    return sum(f.stat().st_size for pattern in _WEIGHT_FILES for f in folder.glob(pattern)) or None


def sample_bytes(config: Any, prompts: list) -> int:
    """Upper bound of one sampling stage on disk at its peak (shards + merged rows + kept rows)."""
    s = config.sampling
    prompt_chars = sum(len(p.question) + len(p.starter_code) for p in prompts)
    rows = len(prompts) * s.n_per_prompt
    per_row = s.max_new_tokens * _BYTES_PER_TOKEN + _ROW_OVERHEAD
    return 3 * (rows * per_row + prompt_chars * s.n_per_prompt)


def checkpoint_bytes(config: Any, weights: int, n_rows: int) -> int:
    """Upper bound of one fine-tuning stage: HF exports every `save_every` steps, the final model,
    one export being written, and the resume checkpoint (fp32 weights + two Adam moments)."""
    f = config.finetune
    steps = f.max_steps or math.ceil((f.epochs or 1) * n_rows / max(f.global_batch_size, 1))
    saves = steps // f.save_every if f.save_every else 0
    per_param = 2 if str(config.model.dtype) in ("bfloat16", "float16", "auto") else 4
    resume = 0 if f.lora.enabled else (weights // per_param) * 12
    return weights * (saves + 2) + resume


def estimate(config: Any, cache: Any, prompts: list) -> dict[str, int]:
    """What the unfinished stages of this run will write, by part (bytes); keys say what."""
    from ssd import replicate  # imports torch: only when the run is about to compute anyway
    from ssd.stages.base import resolve_base

    plan = type(cache).at(cache.root, plan_only=True)
    base = resolve_base(config.model, config.toy, plan)
    weights = model_bytes(config.model, base.model.path if base.model else None)
    parts = {"samples": 0, "checkpoints": 0, "already written": 0}
    for r in range(config.replicates):
        keys = replicate.plan_keys(config, plan, base.model, config.sampling.seed + r)
        for stage, part in (("sample", "samples"), ("finetune", "checkpoints")):
            key = keys.get(stage)
            if key and cache.finished(stage, key) is not None and config.rounds == 1:
                continue
            rows = len(prompts) * config.sampling.n_per_prompt
            one = (
                sample_bytes(config, prompts)
                if part == "samples"
                else (checkpoint_bytes(config, weights or 0, rows))
            )
            parts[part] += one * config.rounds
            if key:
                parts["already written"] -= _folder_bytes(cache.paths(stage, key)[1])
    parts["model size unknown"] = int(weights is None)
    return parts


def check_space(config: Any, cache: Any, prompts: list) -> int:
    """Refuse (ConfigError, one line) when the estimate exceeds the free space; warn when close.

    Returns the estimate in bytes (0 when `paths.check_space` is off).
    """
    if not getattr(config.paths, "check_space", True):
        return 0
    parts = estimate(config, cache, prompts)
    need = max(sum(v for k, v in parts.items() if k != "model size unknown"), 0)
    free = free_bytes(cache.root)
    where = mount_point(cache.root)
    detail = f"samples {human(parts['samples'])}, checkpoints {human(parts['checkpoints'])}" + (
        " (model size unknown: checkpoints not counted)" if parts["model size unknown"] else ""
    )
    if need > free:
        raise ConfigError(
            f"paths.cache_dir={str(cache.root)!r} is invalid: this run will write up to "
            f"{human(need)} ({detail}) but {where} has {human(free)} free; free space "
            "(`ssd cache gc`), use a larger disk, save less often (finetune.save_every), or "
            "skip this estimate with paths.check_space=false"
        )
    if need > WARN_FRACTION * free:
        print(
            f"warning: this run may write up to {human(need)} ({detail}) into {where}, which "
            f"has {human(free)} free",
            file=sys.stderr,
            flush=True,
        )
    return need
