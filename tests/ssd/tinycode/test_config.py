"""model=tinycode + data=tinycode + the tinycode benchmark compose and validate, need nothing
from the hub, and find the shipped weights from any working directory."""

from __future__ import annotations

import os

from ssd.artifacts import local_path
from ssd.preflight import hub_items
from ssd.validation import validate


def test_tinycode_config_composes_validates_and_resolves_the_weights(make_cfg, tmp_path):
    cfg = make_cfg("model=tinycode", "data=tinycode", "eval.benchmark.name=tinycode")
    validate(cfg)
    assert (cfg.model.name, cfg.data.kind, cfg.eval.benchmark.name) == (
        "tinycode",
        "tinycode",
        "tinycode",
    )
    assert hub_items(cfg) == []  # shipped, nothing to download: no hub preflight
    here = os.getcwd()
    try:
        os.chdir(tmp_path)  # Hydra multiruns may run elsewhere: the package path still resolves
        assert (local_path(cfg.model.path) / "model.safetensors").is_file()
    finally:
        os.chdir(here)
