"""Every stage key the pipeline would use for a composed config, computed without running anything.

Keys depend only on config slices and upstream keys, never on outputs, so the whole chain
(base -> sample -> filter -> finetune -> analyze -> evaluate, and the run record) can be derived
from a config alone. `tests/golden/stage_keys.json` pins these for the default config and every
preset: a refactor that moves a key fails loudly there.

Regenerate (only together with a deliberate, documented key change):
    .venv/bin/python tests/helpers/golden_keys.py > tests/golden/stage_keys.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "conf"

# The configs whose keys are pinned: the default (experiment=tinycode), every preset, a cell.
PINNED = {
    "default": [],
    "toy": ["experiment=toy"],
    "smoke": ["experiment=smoke"],
    "official_repo": ["experiment=official_repo"],
    **{
        f"paper_{m}": [f"experiment=paper_{m}"]
        for m in (
            "gpt_oss_20b",
            "llama31_8b_instruct",
            "qwen3_30b_instruct",
            "qwen3_30b_thinking",
            "qwen3_4b_instruct",
            "qwen3_4b_thinking",
        )
    },
    "tinycode": ["experiment=tinycode"],
    "smoke_cell": ["experiment=smoke", "sampling.temperature=1.5", "eval.temperature=0.7"],
}


def compose_pinned(overrides: list[str]):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose(
            "config",
            overrides=["paths.cache_dir=/cache", "paths.output_dir=/out", *overrides],
        )


def all_keys() -> dict[str, dict[str, str]]:
    from ssd.pipeline import stage_keys

    return {name: stage_keys(compose_pinned(overrides)) for name, overrides in PINNED.items()}


if __name__ == "__main__":
    from ssd.config.schema import register_configs

    register_configs()
    json.dump(all_keys(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
