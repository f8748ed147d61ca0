"""A real Hydra multirun: `python train.py -m` over T_train x T_eval, sharing the stage cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.support import REPO, read_wandb_run

pytestmark = pytest.mark.slow


def test_two_by_two_grid_runs_every_cell_and_computes_each_stage_once(tmp_path):
    command = [
        sys.executable,
        str(REPO / "train.py"),
        "-m",
        "experiment=smoke",
        "replicates=1",
        "logger.name=wandb",  # the smoke preset logs to CSV
        "logger.mode=offline",
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
    assert count("run") == 4

    # The same grid again: every cell copies its run record; no stage runs, torch is never imported.
    again = [
        *command[:1],
        "-X",
        "importtime",
        *command[1:-1],
        f"hydra.sweep.dir={tmp_path / 'again'}",
    ]
    rerun = subprocess.run(again, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in rerun.stderr.splitlines()}
    assert "torch" not in imported and "ssd.pipeline" in imported
    for path in cells:
        first = json.loads(path.read_text())
        second = json.loads((tmp_path / "again" / path.parent.name / "results.json").read_text())
        assert not first["run"]["reused"] and second["run"]["reused"]
        assert second["summary"] == first["summary"]
    assert count("sample") == 2 and count("finetune") == 2 and count("evaluate") == 10

    from ssd.cli.report import main as report

    sweep = tmp_path / "sweep"
    assert report([str(sweep), "--wandb", "--wandb-mode", "offline", "--wandb-report"]) == 0
    table = (sweep / "report" / "table.csv").read_text().splitlines()
    assert table[0].startswith(
        "model,benchmark,filter,t_train,top_k,top_p,pool,sft_steps,lr,t_eval,t_eff,eval_top_k"
    )
    assert len(table) == 1 + 4
    for png in ("heatmap_pass_at_1.png", "pass_at_1_vs_t_eff.png", "best_vs_baselines.png"):
        assert (sweep / "report" / png).stat().st_size > 5_000
    summary = json.loads((sweep / "report" / "summary.json").read_text())
    (fit,) = summary["teff_fits"]  # one training setting (top-k, top-p, filter, model, round)
    assert summary["n_rows"] == 4 and fit["fit"]["n_points"] == 4
    # W&B, as written to disk: one run per cell with the flattened config, grouped by the sweep,
    # and the report run in the same group (so the report page's filter finds them all).
    (report_run,) = (sweep / "report" / "wandb").glob("offline-run-*")
    report_run = read_wandb_run(report_run)
    assert (report_run["group"], report_run["job_type"]) == ("sweep", "report")
    for cell in ("0", "1", "2", "3"):
        (run_dir,) = (sweep / cell / "wandb").glob("offline-run-*")
        run = read_wandb_run(run_dir)
        assert (run["group"], run["job_type"]) == ("sweep", "cell")
        assert {"sampling.temperature", "eval.temperature", "model.name"} <= run["config"]
        assert {"eval/ssd/best_pass@1", "eval/base/best_pass@1"} <= run["summary"]


def test_wandb_report_page_spec_is_built_offline(tmp_path):
    from wandb_workspaces.expr import expr_to_filters

    from ssd.cli.report import sweep_logging, wandb_report_spec

    report = wandb_report_spec("ssd-sweeps", "me", "toy_teff/2026")
    assert report.project == "ssd-sweeps" and "toy_teff/2026" in report.title
    cells, table = report.blocks[1], report.blocks[3]
    assert [type(p).__name__ for p in cells.panels] == [
        "ScatterPlot",
        "ParallelCoordinatesPlot",
        "BarPlot",
    ]
    assert (
        cells.panels[0].x == "eval/ssd/best_t_eff" and cells.panels[0].y == "eval/ssd/best_pass@1"
    )
    assert "eval/ssd_as_decoder/best_pass@1" in cells.panels[2].metrics
    assert table.panels[0].table_name == "report/table"
    # Each runset selects one job type of this sweep's group; W&B's own parser reads the filter.
    for block, job_type in ((cells, "cell"), (table, "report")):
        (runset,) = block.runsets
        parsed = expr_to_filters(runset.filters)
        assert parsed.op == "AND", parsed
        leaves = {(leaf.op, leaf.key.name, leaf.value) for leaf in parsed.filters}
        assert leaves == {("=", "group", "toy_teff/2026"), ("=", "jobType", job_type)}

    # The group the report uses is the one the cells logged under: read back from multirun.yaml.
    sweep = tmp_path / "2026"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(
        "logger:\n  project: mine\n  group: null\n"
        f"hydra:\n  sweep:\n    dir: {sweep}\n  runtime:\n    choices:\n      sweep: toy_teff\n"
    )
    assert sweep_logging(sweep) == {"project": "mine", "group": "toy_teff/2026"}
    assert sweep_logging(tmp_path) == {"project": "ssd-sweeps", "group": tmp_path.name}


def _job_span(log: Path) -> tuple[str, str]:
    """(start, end) timestamps of a submitit job, from its own log lines (sortable strings)."""
    stamps = {}
    for line in log.read_text().splitlines():
        for event, text in (("start", "Starting with"), ("end", "Job completed successfully")):
            if line.startswith("submitit ") and text in line:
                stamps[event] = line.split("(", 1)[1].split(")", 1)[0]
    return stamps["start"], stamps["end"]


def test_local_launcher_runs_cells_in_parallel_processes_that_share_the_cache(tmp_path):
    """hydra/launcher=local: two jobs at once (submitit_local), both needing the same base model
    and samples. The second waits on the stage lock instead of computing them again, and each
    job writes only under its own output dir, the sweep's .submitit logs and the shared cache."""
    command = [
        sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=local",
        "hydra.launcher.gpus_per_node=0", "hydra.sweeper.max_batch_size=2",
        "experiment=smoke", "replicates=1", "logger=csv", "eval.temperature=0.7,1.0",
        f"paths.cache_dir={tmp_path / 'cache'}", f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "sweep"]
    sweep = tmp_path / "sweep"
    assert sorted(p.name for p in sweep.iterdir()) == [".submitit", "0", "1", "multirun.yaml"]
    logs = sorted((sweep / ".submitit").glob("*/*_log.out"))
    assert len(logs) == 2, logs
    (start_a, end_a), (start_b, end_b) = (_job_span(log) for log in logs)
    assert start_a < end_b and start_b < end_a, "the two jobs did not overlap in time"
    cells = [json.loads((sweep / c / "results.json").read_text()) for c in ("0", "1")]
    assert {c["config"]["eval"]["temperature"] for c in cells} == {0.7, 1.0}
    cache = tmp_path / "cache"
    count = lambda stage: len(list((cache / stage).glob("*/manifest.json")))  # noqa: E731
    assert count("base") == 1 and count("sample") == 1 and count("finetune") == 1
    reused = [c["replicates"][0]["stages"]["sample"]["reused"] for c in cells]
    assert sorted(reused) == [False, True], reused
