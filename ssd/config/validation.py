"""The checks run before any compute: one function per rule family, each raising `ConfigError`.

Hydra's schemas (ssd/config/schema.py) catch unknown keys, wrong types and bad Enum choices; these
add the non-identifier choices (ssd/config/choices.py) and the cross-field rules (T >= 0,
0 < top_p <= 1, n_samples >= max k, paths that exist), each as one line naming the key, the value
and what is allowed. Single-field ranges and sets (every float finite) are the table in
ssd/config/rules.py, checked first; this module keeps the rules that read several fields.
Nothing here imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ssd.config.choices import CHECKPOINT_WORDS, STR_CHOICES, allows, listed
from ssd.config.rules import check_rules
from ssd.config.schema import ConfigError, eval_temperatures
from ssd.data import load_jsonl_prompts


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


def _check_decoding(prefix: str, temperatures: list[float], top_k: int, top_p: float) -> None:
    for t in temperatures:
        _require(t is not None and t >= 0, f"{prefix}.temperature", t, "must be >= 0 (0 = greedy)")
    _require(top_k >= 0, f"{prefix}.top_k", top_k, "must be >= 0 (0 = off)")
    _require(0 < top_p <= 1, f"{prefix}.top_p", top_p, "must be in (0, 1]")


def _looks_like_local_path(path: str) -> bool:
    return path.startswith(("/", "./", "../", "~")) or Path(path).exists()


def validate(cfg: Any) -> None:
    """Check every rule that needs no compute; raise ConfigError on the first violation."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    _require(
        not missing, missing[0] if missing else "", "???", "required: set it on the command line"
    )
    check_rules(cfg)
    s, e, f, ft = cfg.sampling, cfg.eval, cfg.filter, cfg.finetune
    _check_decoding("sampling", [s.temperature], s.top_k, s.top_p)
    _check_decoding("eval", eval_temperatures(cfg), e.top_k, e.top_p)
    _require(len(eval_temperatures(cfg)) > 0, "eval.temperatures", [], "needs at least one T_eval")
    _require(s.n_per_prompt >= 1, "sampling.n_per_prompt", s.n_per_prompt, "must be >= 1")
    _require(s.max_new_tokens >= 1, "sampling.max_new_tokens", s.max_new_tokens, "must be >= 1")
    _require(s.batch_size >= 1, "sampling.batch_size", s.batch_size, "must be >= 1")
    _require(len(e.k) > 0 and min(e.k) >= 1, "eval.k", list(e.k), "a non-empty list of k >= 1")
    _require(
        e.n_samples >= max(e.k),
        "eval.n_samples",
        e.n_samples,
        f"must be >= max(eval.k) = {max(e.k)} for an unbiased pass@k",
    )
    _require(
        0 <= f.min_kept_fraction <= 1, "filter.min_kept_fraction", f.min_kept_fraction, "in [0, 1]"
    )
    _require(
        0 <= f.shortest_percent < 100, "filter.shortest_percent", f.shortest_percent, "in [0, 100)"
    )
    _require(ft.lr > 0, "finetune.lr", ft.lr, "must be > 0")
    _require(0 <= ft.min_lr <= ft.lr, "finetune.min_lr", ft.min_lr, f"in [0, finetune.lr={ft.lr}]")
    _require(
        (ft.max_steps is None) != (ft.epochs is None),
        "finetune.max_steps",
        ft.max_steps,
        "set exactly one of max_steps and epochs (max_steps=null to train by epochs)",
    )
    _require(ft.max_steps is None or ft.max_steps >= 1, "finetune.max_steps", ft.max_steps, ">= 1")
    _require(ft.epochs is None or ft.epochs > 0, "finetune.epochs", ft.epochs, "must be > 0")
    _validate_str_choices(cfg)
    _validate_finetune(ft)
    validate_allocation(ft, os.environ)
    _validate_selection(cfg)
    _require(cfg.replicates >= 1, "replicates", cfg.replicates, "must be >= 1")
    _require(cfg.rounds >= 1, "rounds", cfg.rounds, "must be >= 1")
    _validate_data(cfg)
    _validate_model(cfg)
    _validate_analyze(cfg.analyze)
    _validate_benchmark(cfg.eval.benchmark)


def _validate_str_choices(cfg: Any) -> None:
    """The choice fields that cannot be Enums (their values are not identifiers)."""
    for key, allowed in STR_CHOICES.items():
        value = OmegaConf.select(cfg, key)
        if value is None:  # only Optional fields can hold it: None = the component's own rule
            continue
        _require(allows(allowed, value), key, value, f"one of {listed(allowed)}")


def _validate_benchmark(b: Any) -> None:
    if b.name == "toy":
        return
    _require(b.timeout_s > 0, "eval.benchmark.timeout_s", b.timeout_s, "must be > 0")
    _require(b.memory_mb > 0, "eval.benchmark.memory_mb", b.memory_mb, "must be > 0")
    if b.version == "custom":
        _require(
            bool(b.start and b.end),
            "eval.benchmark.start",
            b.start,
            "version=custom needs start and end",
        )
    if b.name == "jsonl" or (b.path and b.name in ("lcb", "humaneval")):
        _require(
            bool(b.path) and Path(b.path).expanduser().exists(),
            "eval.benchmark.path",
            b.path,
            "an existing file",
        )


def _validate_analyze(a: Any) -> None:
    for key in ("max_contexts", "max_tokens", "batch_size", "chunk_tokens"):
        _require(a[key] >= 1, f"analyze.{key}", a[key], "must be >= 1")


def _validate_finetune(ft: Any) -> None:
    for key in ("batch_size", "devices", "num_nodes"):
        _require(ft[key] >= 1, f"finetune.{key}", ft[key], "must be >= 1")
    _require(ft.save_every >= 0, "finetune.save_every", ft.save_every, ">= 0 (0 = final only)")
    _require(
        not (ft.strategy in ("fsdp", "deepspeed") and ft.accelerator == "cpu"),
        "finetune.strategy",
        ft.strategy,
        "fsdp and deepspeed need GPUs (Lightning refuses them with accelerator=cpu)",
    )
    per_step = ft.batch_size * ft.devices * ft.num_nodes
    _require(
        ft.global_batch_size % per_step == 0,
        "finetune.global_batch_size",
        ft.global_batch_size,
        f"must be a multiple of batch_size*devices*num_nodes = {per_step}",
    )
    lora = ft.lora
    if lora.enabled:
        _require(lora.r >= 1, "finetune.lora.r", lora.r, "must be >= 1")
        _require(lora.alpha > 0, "finetune.lora.alpha", lora.alpha, "must be > 0")
        _require(0 <= lora.dropout < 1, "finetune.lora.dropout", lora.dropout, "in [0, 1)")
        targets = list(lora.target_modules)
        _require(bool(targets), "finetune.lora.target_modules", targets, "a non-empty list")


def validate_allocation(ft: Any, environ: Mapping[str, str]) -> None:
    """Inside a SLURM job, fine-tuning must fit the allocation, checked before sampling spends
    hours: its nodes, and for multi-node training (srun, one task per device) its tasks per node.
    """
    nodes = environ.get("SLURM_JOB_NUM_NODES")
    if nodes is None:
        return
    _require(
        ft.num_nodes <= int(nodes),
        "finetune.num_nodes",
        ft.num_nodes,
        f"this SLURM job has {nodes} node(s): request them with hydra.launcher.nodes={ft.num_nodes}",
    )
    tasks = environ.get("SLURM_NTASKS_PER_NODE")
    if ft.num_nodes > 1 and tasks is not None:
        _require(
            ft.devices <= int(tasks.split("(")[0]),
            "finetune.devices",
            ft.devices,
            f"the job runs {tasks} task(s) per node and multi-node training starts one per device: "
            f"set hydra.launcher.gpus_per_node={ft.devices}",
        )


def _validate_selection(cfg: Any) -> None:
    e, ft = cfg.eval, cfg.finetune
    points = e.checkpoints
    words = listed(CHECKPOINT_WORDS)
    if isinstance(points, str):
        _require(points in CHECKPOINT_WORDS, "eval.checkpoints", points, f"{words} or [steps]")
    else:
        steps = list(points)
        _require(
            bool(steps) and all(isinstance(s, int) and s >= 1 for s in steps),
            "eval.checkpoints",
            steps,
            f"{words} or a non-empty list of steps >= 1",
        )
        if ft.max_steps is not None:
            saved = {ft.max_steps} | (
                set(range(ft.save_every, ft.max_steps, ft.save_every)) if ft.save_every else set()
            )
            bad = sorted(set(steps) - saved)
            _require(
                not bad,
                "eval.checkpoints",
                steps,
                f"step(s) {bad} are not saved (finetune.save_every={ft.save_every}, "
                f"max_steps={ft.max_steps})",
            )
    if e.selection == "validation":
        _require(
            0 < e.validation_fraction < 1,
            "eval.validation_fraction",
            e.validation_fraction,
            "must be in (0, 1)",
        )
        _require(
            e.benchmark.name != "toy" or cfg.toy.n_instances >= 2,
            "toy.n_instances",
            cfg.toy.n_instances,
            "eval.selection=validation needs >= 2 problems (one per split at least)",
        )


def _validate_model(cfg: Any) -> None:
    m = cfg.model
    if m.kind == "hf":
        _require(bool(m.path), "model.path", m.path, "an HF hub id or an existing model directory")
        if _looks_like_local_path(m.path):
            path = Path(m.path).expanduser()
            _require(path.is_dir(), "model.path", m.path, "no such directory")
            _require(
                (path / "config.json").is_file(),
                "model.path",
                m.path,
                "not an HF model directory (no config.json)",
            )
        # A hub id (not a local path) is accepted as is: checking it would need the network.
    _require(m.max_context >= 1, "model.max_context", m.max_context, "must be >= 1")
    v = cfg.sampling.vllm
    _require(
        v.tensor_parallel_size >= 1,
        "sampling.vllm.tensor_parallel_size",
        v.tensor_parallel_size,
        ">= 1",
    )
    _require(
        0 < v.gpu_memory_utilization <= 1,
        "sampling.vllm.gpu_memory_utilization",
        v.gpu_memory_utilization,
        "must be in (0, 1]",
    )
    _require(
        v.max_model_len is None or v.max_model_len >= 1,
        "sampling.vllm.max_model_len",
        v.max_model_len,
        "None or >= 1",
    )
    if m.kind == "toy" or cfg.data.kind == "toy" or cfg.eval.benchmark.name == "toy":
        kinds = tuple(str(k) for k in (m.kind, cfg.data.kind, cfg.eval.benchmark.name))
        _require(
            kinds == ("toy", "toy", "toy"),
            "model/data/eval.benchmark",
            kinds,
            "the toy model, prompt pool and benchmark go together (all three toy)",
        )
        t = cfg.toy
        _require(t.n_instances >= 1, "toy.n_instances", t.n_instances, "must be >= 1")
        _require(
            t.n_content_tokens >= 8, "toy.n_content_tokens", t.n_content_tokens, "must be >= 8"
        )
        needed = t.n_forks * (1 + t.locks_per_fork) + 1
        _require(
            cfg.sampling.max_new_tokens >= needed and cfg.eval.max_new_tokens >= needed,
            "sampling.max_new_tokens",
            cfg.sampling.max_new_tokens,
            f"the toy's solutions need {needed} tokens (and eval.max_new_tokens too)",
        )


def _validate_data(cfg: Any) -> None:
    d = cfg.data
    _require(d.limit is None or d.limit >= 1, "data.limit", d.limit, "None or >= 1")
    if d.kind == "jsonl":
        load_jsonl_prompts(d.path)
    if d.kind == "rstar" and d.path:  # a local stand-in; the hub dataset is not fetched here
        path = Path(d.path).expanduser()
        _require(path.exists(), "data.path", d.path, "no such file or directory")
    # How array tasks split the pool (sampling.*) is checked here, beside the pool it splits.
    s = cfg.sampling
    _require(s.shard_size >= 1, "sampling.shard_size", s.shard_size, "must be >= 1")
    _require(s.num_shards >= 1, "sampling.num_shards", s.num_shards, "must be >= 1")
    _require(
        s.shard_id is None or 0 <= s.shard_id < s.num_shards,
        "sampling.shard_id",
        s.shard_id,
        f"None or in [0, sampling.num_shards={s.num_shards})",
    )
