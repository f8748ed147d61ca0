"""Sweeps are checked before they queue: every cell of a `-m` run is composed, validated and
preflighted in the submitting process, before the launcher starts or submits anything.

A bad cell found on a compute node costs its queue wait, and with a SLURM launcher every other
cell is already submitted. Hydra calls `PreSubmitCheck.on_multirun_start` (conf/config.yaml:
`hydra.callbacks.presubmit`) before the sweeper hands a job to any launcher (basic, submitit local
or SLURM). Each cell gets the checks `ssd.pipeline.run` makes before compute (validation, hub
preflight, the pool and its contamination guard, and, for the SLURM launcher, that fine-tuning fits
the allocation it asks for); a sweep with a bad cell is refused whole: one line per bad cell on
stderr, exit 2, no job started, no `sbatch`. `hydra.callbacks.presubmit.enabled=false` skips it,
e.g. where only the compute nodes mount the data (each job still checks itself).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


class PreSubmitCheck(Callback):
    """Refuse a multirun (exit 2) when any of its cells would be refused on its own."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
            print(
                f"warning: cells not checked before launch: hydra.sweeper "
                f"{config.hydra.sweeper.get('_target_')} is not Hydra's basic sweeper",
                file=sys.stderr,
            )
            return
        problems = check_sweep(config)
        if problems:
            print("\n".join(problems), file=sys.stderr, flush=True)
            raise SystemExit(2)


def sweep_cells(config: DictConfig) -> tuple[list[list[str]], set[str]]:
    """Every cell's overrides, in job order, expanded as Hydra's basic sweeper expands them, and
    the keys that vary across the sweep."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
    loader = (
        GlobalHydra.instance().config_loader() if GlobalHydra.instance().is_initialized() else None
    )
    overrides = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    swept = {o.get_key_element() for o in overrides if o.is_sweep_override()}
    batches = BasicSweeper.split_arguments(overrides, None)
    return [list(cell) for batch in batches for cell in batch], swept


def check_sweep(config: DictConfig) -> list[str]:
    """One `error: ...` line per cell that composition, validation or preflight refuses."""
    from ssd.cli.run import is_config_error, one_line

    loader = GlobalHydra.instance().config_loader()
    checker = CellChecker()
    cells, swept = sweep_cells(config)
    problems = []
    for num, overrides in enumerate(cells):
        try:
            sweep_config = loader.load_sweep_config(config, overrides)
            shape = allocation(sweep_config.hydra.launcher)
            with job_config(sweep_config) as cfg:
                checker.check(cfg, shape)
        except Exception as err:  # noqa: BLE001 - config errors are reported, anything else raised
            if not is_config_error(err):
                raise
            problems.append(
                f"error: sweep not submitted: cell #{num} of {len(cells)} "
                f"[{' '.join(o for o in overrides if o.split('=', 1)[0] in swept)}]: "
                f"{one_line(err)}"
            )
    return problems


def allocation(launcher: DictConfig) -> dict[str, str]:
    """The SLURM_* values a job of this launcher will see, as `validate_allocation` reads them
    inside the job ({} for a launcher that is not SLURM's)."""
    if not str(launcher.get("_target_", "")).endswith("SlurmLauncher"):
        return {}
    shape = {"SLURM_JOB_NUM_NODES": str(launcher.get("nodes") or 1)}
    if launcher.get("tasks_per_node"):
        shape["SLURM_NTASKS_PER_NODE"] = str(launcher.tasks_per_node)
    return shape


@contextmanager
def job_config(sweep_config: DictConfig) -> Iterator[DictConfig]:
    """The config a cell's task function receives: Hydra's node removed and HydraConfig set to
    the cell's (so `${hydra:...}` values resolve), as Hydra's run_job does; restored after."""
    hydra_config = HydraConfig.instance()
    before = hydra_config.cfg
    hydra_config.set_config(sweep_config)
    cfg = copy.deepcopy(sweep_config)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    try:
        yield cfg
    finally:
        hydra_config.cfg = before


class CellChecker:
    """What `ssd.pipeline.run` checks before compute, with hub lookups and pools loaded once per
    distinct item across the cells (a sweep's cells mostly share them)."""

    def __init__(self) -> None:
        self._hub: dict[Any, Exception | None] = {}
        self._pools: dict[str, Exception | None] = {}

    def check(self, cfg: DictConfig, shape: dict[str, str] | None = None) -> None:
        """Raise the first ConfigError this cell's job would stop with before compute; `shape`:
        the SLURM_* values its job would see (fine-tuning must fit the allocation)."""
        from ssd.contamination import check_pool
        from ssd.data import load_prompts
        from ssd.pipeline import typed
        from ssd.preflight import check_item, hub_items
        from ssd.validation import validate, validate_allocation

        validate(cfg)
        if shape:
            validate_allocation(cfg.finetune, shape)
        for item in hub_items(cfg):
            self._once(self._hub, item, lambda item=item: check_item(item))
        config = typed(cfg)
        d, bench, toy = config.data, config.eval.benchmark, config.toy
        self._once(
            self._pools,
            repr((d, bench, toy)),
            lambda: check_pool(load_prompts(d, toy), d, bench, toy),
        )

    @staticmethod
    def _once(memo: dict[Any, Exception | None], key: Any, check: Any) -> None:
        if key not in memo:
            try:
                check()
                memo[key] = None
            except Exception as err:  # noqa: BLE001 - remembered, raised for every cell it hits
                memo[key] = err
        if memo[key] is not None:
            raise memo[key]
