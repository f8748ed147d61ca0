"""Expand a named sweep (sweeps/<name>.yaml) into its jobs without running anything.

`expand_sweep(name, overrides)` returns one override list per job, exactly as Hydra's basic sweeper
would launch them; tests use it to count jobs and check that run identities are unique.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

from ssd.config.schema import register_configs

CONF = Path(__file__).resolve().parents[2] / "conf"
SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"


def sweep_names() -> list[str]:
    return sorted(p.stem for p in SWEEPS.glob("*.yaml"))


def expand_sweep(name: str, overrides: list[str] | None = None) -> list[list[str]]:
    """Every job's overrides for `-m sweep=NAME [overrides]` (command line wins over the file)."""
    register_configs()
    overrides = list(overrides or [])
    parser = OverridesParser.create()
    fixed = [o.input_line for o in parser.parse_overrides(overrides) if not o.is_sweep_override()]
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"sweep={name}", *fixed], return_hydra_config=True)
    params = {str(k): str(v) for k, v in (cfg.hydra.sweeper.params or {}).items()}
    parsed = parser.parse_overrides(
        [f"{k}={v}" for k, v in params.items()] + [f"sweep={name}", *overrides]
    )
    axes: dict[str, list[str]] = {}
    for override in parsed:
        key = override.get_key_element()
        if override.is_sweep_override():
            values = list(override.sweep_string_iterator())
        else:
            values = [override.get_value_element_as_str()]
        axes[key] = [
            f"{key}={v}" for v in values
        ]  # a later (command-line) axis replaces the file's
    return [list(job) for job in itertools.product(*axes.values())]
