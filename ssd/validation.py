"""The checks run before any compute: one function per rule family, each raising `ConfigError`.

Hydra's schemas (ssd/config/schema.py) catch unknown keys, wrong types and bad Enum choices; the
table in ssd/config/rules.py, checked first, gives every field its range or allowed set (every
float finite); this module keeps the rules that read several fields (n_samples >= max k, min_lr
<= lr, batch divisibility, paths that exist), each as one line naming the key, the value and what
is allowed, and asks the benchmark's spec for its own (ssd/codeeval/benchmarks). It sits above
`ssd.config`, which imports nothing of the project's. Nothing here imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from ssd.artifacts import is_local_path, local_path
from ssd.codeeval.benchmarks import benchmark_of
from ssd.config.choices import CHECKPOINT_WORDS, listed
from ssd.config.rules import check_rules
from ssd.config.schema import require


def validate(cfg: Any) -> None:
    """Check every rule that needs no compute; raise ConfigError on the first violation."""
    _validate_default_preset()  # first: it explains the errors a wrong preset would cause
    missing = sorted(OmegaConf.missing_keys(cfg))
    require(
        not missing, missing[0] if missing else "", "???", "required: set it on the command line"
    )
    check_rules(cfg)
    e, ft = cfg.eval, cfg.finetune
    require(
        e.n_samples >= max(e.k),
        "eval.n_samples",
        e.n_samples,
        f"must be >= max(eval.k) = {max(e.k)} for an unbiased pass@k",
    )
    require(0 <= ft.min_lr <= ft.lr, "finetune.min_lr", ft.min_lr, f"in [0, finetune.lr={ft.lr}]")
    require(
        (ft.max_steps is None) != (ft.epochs is None),
        "finetune.max_steps",
        ft.max_steps,
        "set exactly one of max_steps and epochs (max_steps=null to train by epochs)",
    )
    _validate_finetune(ft)
    validate_allocation(ft, os.environ)
    _validate_selection(cfg)
    _validate_data(cfg)
    _validate_model(cfg)
    benchmark_of(cfg.eval.benchmark.name).check(cfg)


DEFAULT_PRESET = ("tinycode", "tinycode")  # conf/config.yaml's experiment, and the model it is for


def _validate_default_preset() -> None:
    """The default preset is the tiny code model's recipe (30-token answers, its 144 problems):
    `model=local` alone would silently run another model under it. Hydra's group choices tell."""
    if not HydraConfig.initialized():
        return  # composed by hand (tests, tools): no defaults list to read
    choices = HydraConfig.get().runtime.choices
    experiment, model = DEFAULT_PRESET
    require(
        choices.get("experiment") != experiment or choices.get("model") in (None, model),
        "model",
        choices.get("model"),
        f"runs under the default preset experiment={experiment}, the {model} model's recipe; "
        "drop the preset with ~experiment (the groups' own defaults) or choose one (experiment=official_repo, "
        "experiment=paper_<model>)",
    )


def _validate_finetune(ft: Any) -> None:
    require(
        not (ft.strategy in ("fsdp", "deepspeed") and ft.accelerator == "cpu"),
        "finetune.strategy",
        ft.strategy,
        "fsdp and deepspeed need GPUs (Lightning refuses them with accelerator=cpu)",
    )
    per_step = ft.batch_size * ft.devices * ft.num_nodes
    require(
        ft.global_batch_size % per_step == 0,
        "finetune.global_batch_size",
        ft.global_batch_size,
        f"must be a multiple of batch_size*devices*num_nodes = {per_step}",
    )


def validate_allocation(ft: Any, environ: Mapping[str, str]) -> None:
    """Inside a SLURM job, fine-tuning must fit the allocation, checked before sampling spends
    hours: its nodes, and for multi-node training (srun, one task per device) its tasks per node.
    """
    nodes = environ.get("SLURM_JOB_NUM_NODES")
    if nodes is None:
        return
    require(
        ft.num_nodes <= int(nodes),
        "finetune.num_nodes",
        ft.num_nodes,
        f"this SLURM job has {nodes} node(s): request them with hydra.launcher.nodes={ft.num_nodes}",
    )
    tasks = environ.get("SLURM_NTASKS_PER_NODE")
    if ft.num_nodes > 1 and tasks is not None:
        require(
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
        require(points in CHECKPOINT_WORDS, "eval.checkpoints", points, f"{words} or [steps]")
    else:
        steps = list(points)
        require(
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
            require(
                not bad,
                "eval.checkpoints",
                steps,
                f"step(s) {bad} are not saved (finetune.save_every={ft.save_every}, "
                f"max_steps={ft.max_steps})",
            )
    if e.selection == "validation":
        require(
            0 < e.validation_fraction < 1,
            "eval.validation_fraction",
            e.validation_fraction,
            "must be in (0, 1)",
        )


def _validate_model(cfg: Any) -> None:
    m = cfg.model
    if m.kind == "hf":
        require(bool(m.path), "model.path", m.path, "an HF hub id or an existing model directory")
        if is_local_path(m.path):
            path = local_path(m.path)
            require(path.is_dir(), "model.path", m.path, "no such directory")
            require(
                (path / "config.json").is_file(),
                "model.path",
                m.path,
                "not an HF model directory (no config.json)",
            )
        # A hub id (not a local path) is checked by ssd/preflight.py: it needs the network.
    toy_parts = (
        m.kind == "toy",
        cfg.data.kind == "toy",
        benchmark_of(cfg.eval.benchmark.name).toy_language,
    )
    if any(toy_parts):
        kinds = tuple(str(k) for k in (m.kind, cfg.data.kind, cfg.eval.benchmark.name))
        require(
            all(toy_parts),
            "model/data/eval.benchmark",
            kinds,
            "the toy model, prompt pool and benchmark go together (all three toy)",
        )


def _validate_data(cfg: Any) -> None:
    d = cfg.data
    if d.kind == "jsonl":  # parsed, with file:line errors, when the pipeline loads the pool
        require(bool(d.path), "data.path", d.path, "data=jsonl needs data.path=FILE.jsonl")
        require(Path(d.path).expanduser().is_file(), "data.path", d.path, "no such file")
    if d.kind == "rstar" and d.path:  # a local stand-in; the hub dataset is not fetched here
        path = Path(d.path).expanduser()
        require(path.exists(), "data.path", d.path, "no such file or directory")
    # How array tasks split the pool (sampling.*) is checked here, beside the pool it splits.
    s = cfg.sampling
    require(
        s.shard_id is None or 0 <= s.shard_id < s.num_shards,
        "sampling.shard_id",
        s.shard_id,
        f"None or in [0, sampling.num_shards={s.num_shards})",
    )
