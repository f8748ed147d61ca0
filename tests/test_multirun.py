"""A real Hydra multirun: `python train.py -m` over T_train x T_eval, sharing the stage cache."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests_support import REPO

pytestmark = pytest.mark.slow


def test_two_by_two_grid_runs_every_cell_and_computes_each_stage_once(tmp_path):
    command = [
        sys.executable,
        str(REPO / "train.py"),
        "-m",
        "experiment=smoke",
        "replicates=1",
        "sampling.temperature=0.5,1.5",
        "eval.temperature=0.7,1.0",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    cells = sorted((tmp_path / "sweep").glob("*/results.json"))
    assert len(cells) == 4
    seen = set()
    for path in cells:
        results = json.loads(path.read_text())
        t_train = results["config"]["sampling"]["temperature"]
        t_eval = results["config"]["eval"]["temperature"]
        seen.add((t_train, t_eval))
        ssd_row = results["summary"]["curves"]["ssd"][0]
        assert ssd_row["t_eval"] == t_eval and ssd_row["t_eff"] == pytest.approx(t_train * t_eval)
        base_grid = [row["t_eval"] for row in results["summary"]["curves"]["base"]]
        assert base_grid == sorted({0.5, 1.0, t_eval})  # the full base sweep plus the cell's T_eval
    assert seen == {(0.5, 0.7), (0.5, 1.0), (1.5, 0.7), (1.5, 1.0)}
    cache = tmp_path / "cache"
    count = lambda stage: len(list((cache / stage).glob("*/manifest.json")))  # noqa: E731
    assert (
        count("base") == 1
        and count("sample") == 2
        and count("filter") == 2
        and count("finetune") == 2
    )
    # evaluations: base grid 1 + base at 0.7 1 + (SSD-as-decoder + SSD) x 4 cells
    assert count("evaluate") == 2 + 8
