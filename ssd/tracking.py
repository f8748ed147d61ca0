"""Experiment tracking: W&B (offline without an API key), CSV, or nothing, behind one small class.

`make_tracker(logger_cfg, output_dir, run_name, config)` returns a tracker whose `lightning_loggers()`
feed the SFT trainer and whose `log`, `summary` and `image` record the evaluation. W&B files stay
under the run's output directory; `finish()` is always called, also when the job fails.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig


def wandb_mode(mode: str) -> str:
    """auto = online when an API key is configured, offline otherwise (never prompts)."""
    if mode != "auto":
        return mode
    has_key = (
        bool(os.environ.get("WANDB_API_KEY"))
        or (Path.home() / ".netrc").is_file()
        and ("api.wandb.ai" in (Path.home() / ".netrc").read_text(errors="ignore"))
    )
    return "online" if has_key else "offline"


def group_name(sweep: str | None, sweep_dir: str | Path) -> str:
    """The W&B group of a sweep's runs: `<sweep name>/<folder>` for a named sweep, else the folder.

    One function for the cells (at run time) and `ssd report` (afterwards), so the report's run
    and page find exactly the cells' group.
    """
    folder = Path(sweep_dir).name
    return f"{sweep}/{folder}" if sweep and sweep != "null" else folder


def sweep_group() -> str | None:
    """Inside a Hydra multirun: the sweep's group (see `group_name`); None in a single run."""
    try:
        hydra_cfg = HydraConfig.get()
    except (ImportError, ValueError):
        return None
    if str(hydra_cfg.mode) != "RunMode.MULTIRUN":
        return None
    return group_name(hydra_cfg.runtime.choices.get("sweep"), hydra_cfg.sweep.dir)


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"sampling": {"temperature": 1.5}} -> {"sampling.temperature": 1.5}: W&B filters, groups
    and parallel-coordinates panels address config keys by these dotted names."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class Tracker:
    """No-op base: the `none` logger."""

    def lightning_loggers(self) -> list[Any] | bool:
        return False

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def summary(self, metrics: dict[str, Any]) -> None:
        pass

    def image(self, key: str, path: Path) -> None:
        pass

    def table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        pass

    def finish(self, exit_code: int = 0) -> None:
        pass


class CsvTracker(Tracker):
    def __init__(self, output_dir: Path):
        self.dir = output_dir / "csv"
        self.dir.mkdir(parents=True, exist_ok=True)

    def lightning_loggers(self) -> list[Any]:
        # Lazy: the pipeline imports this module on its torch-free path (a reused run record).
        from lightning.pytorch.loggers import CSVLogger

        return [CSVLogger(save_dir=str(self.dir), name="finetune")]

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        # Long format (step, key, value): the keys differ from call to call, so a wide CSV's
        # header would have to be rewritten whenever a new metric appears.
        path = self.dir / "metrics.csv"
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["step", "key", "value"])
            writer.writerows([step, key, value] for key, value in sorted(metrics.items()))

    def image(self, key: str, path: Path) -> None:
        # The PNG stays where the stage wrote it; the index says which key it is.
        with (self.dir / "images.csv").open("a", newline="") as handle:
            csv.writer(handle).writerow([key, str(path)])

    def summary(self, metrics: dict[str, Any]) -> None:
        with (self.dir / "summary.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["key", "value"])
            writer.writerows(sorted(metrics.items()))

    def table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        with (self.dir / f"{key.replace('/', '_')}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)


class WandbTracker(Tracker):
    def __init__(self, cfg: Any, output_dir: Path, run_name: str, config: dict[str, Any]):
        import wandb  # lazy: ~1 s to import, and logger=csv|none never needs it

        self.wandb = wandb
        self.run = wandb.init(
            project=cfg.project,
            group=cfg.group or sweep_group(),
            job_type="cell",
            name=run_name,
            dir=str(output_dir),
            mode=wandb_mode(cfg.mode),
            config=flatten(config),
            reinit="finish_previous",
            settings=wandb.Settings(silent=True, console="off"),
        )

    def lightning_loggers(self) -> list[Any]:
        # Lazy: the pipeline imports this module on its torch-free path (a reused run record).
        from lightning.pytorch.loggers import WandbLogger

        return [WandbLogger(experiment=self.run)]

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.run.log(metrics, step=step)

    def summary(self, metrics: dict[str, Any]) -> None:
        for key, value in metrics.items():
            self.run.summary[key] = value

    def image(self, key: str, path: Path) -> None:
        self.run.log({key: self.wandb.Image(str(path))})

    def table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.run.log({key: self.wandb.Table(columns=columns, data=rows)})

    def finish(self, exit_code: int = 0) -> None:
        self.run.finish(exit_code=exit_code)


def make_tracker(cfg: Any, output_dir: Path, run_name: str, config: dict[str, Any]) -> Tracker:
    if cfg.name == "wandb":
        return WandbTracker(cfg, output_dir, run_name, config)
    if cfg.name == "csv":
        return CsvTracker(output_dir)
    return Tracker()
