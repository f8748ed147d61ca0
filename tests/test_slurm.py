"""Real-SLURM tests: tests/slurm/setup.sh starts a one-node cluster (root only), then a 2x2 Hydra sweep
runs through conf/hydra/launcher/{slurm,slurm_cpu}.yaml as one SLURM job array.

Run: `pytest -m slurm` as root (CI does). Not root: skipped. Any other setup failure: the test fails.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / "tests" / "slurm" / "setup.sh"
APP = REPO / "tests" / "slurm" / "hydra_app" / "my_app.py"
GRID = [(1, 3), (1, 4), (2, 3), (2, 4)]  # x=1,2 y=3,4 in Hydra's job order

# Shrink each launcher's request to what a 2-CPU CI node without GPUs can schedule.
FIT_NODE = {
    "slurm": ["hydra.launcher.gpus_per_node=null", "hydra.launcher.tasks_per_node=1"],
    "slurm_cpu": [],
}
COMMON = [
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
    "hydra.launcher.timeout_min=5",
]

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """A running one-node SLURM with accounting, started (or found already up) by setup.sh."""
    if os.geteuid() != 0:
        pytest.skip("tests/slurm/setup.sh must run as root (installs slurm-wlm, starts daemons)")
    proc = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(
            f"setup.sh exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )


def _sacct_states(array_job_id: str, n_tasks: int, wait_s: float = 60) -> dict[str, str]:
    """JobID -> State of the array's tasks, polled until all n_tasks are final (the DB lags slurmctld)."""
    deadline = time.monotonic() + wait_s
    while True:
        out = subprocess.run(
            ["sacct", "-j", array_job_id, "-X", "-n", "-P", "-o", "JobID,State"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        states = dict(line.split("|", 1) for line in out.splitlines() if line)
        final = [s for s in states.values() if s not in ("PENDING", "RUNNING", "COMPLETING")]
        if len(final) >= n_tasks or time.monotonic() > deadline:
            return states
        time.sleep(1)


@pytest.mark.parametrize("launcher", ["slurm", "slurm_cpu"])
def test_sweep_runs_as_slurm_array(slurm_cluster: None, launcher: str, tmp_path: Path) -> None:
    cmd = [
        sys.executable, str(APP), "-m", f"hydra/launcher={launcher}", "x=1,2", "y=3,4",
        f"hydra.searchpath=[file://{REPO / 'conf'}]", f"hydra.sweep.dir={tmp_path}",
        *FIT_NODE[launcher], *COMMON,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"sweep failed\n{proc.stdout}\n{proc.stderr}"

    results = [
        json.loads((tmp_path / str(i) / "result.json").read_text()) for i in range(len(GRID))
    ]
    assert [(r["x"], r["y"], r["product"]) for r in results] == [(x, y, x * y) for x, y in GRID]
    array_ids = {r["slurm_array_job_id"] for r in results}
    assert len(array_ids) == 1 and None not in array_ids, f"not one job array: {results}"
    assert [r["slurm_array_task_id"] for r in results] == ["0", "1", "2", "3"]

    (array_id,) = array_ids
    expected = {f"{array_id}_{i}": "COMPLETED" for i in range(len(GRID))}
    assert _sacct_states(array_id, len(GRID)) == expected


def test_toy_grid_through_train_py_on_slurm_then_report(
    slurm_cluster: None, tmp_path: Path
) -> None:
    """The real pipeline: a 2x2 T_train x T_eval toy grid as one SLURM array, then `ssd report`."""
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=slurm",
        "experiment=smoke", "replicates=1", "logger=csv",
        "sampling.temperature=0.5,1.0", "eval.temperature=0.7,1.0",
        f"paths.cache_dir={tmp_path / 'cache'}", f"hydra.sweep.dir={sweep}",
        *FIT_NODE["slurm"], *COMMON,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"sweep failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    cells = sorted(sweep.glob("*/results.json"))
    assert len(cells) == 4
    logs = sorted((sweep / ".submitit").glob("*_0/*_0_log.out"))
    assert logs, "no submitit log for array task 0"
    array_id = logs[0].name.split("_")[0]
    expected = {f"{array_id}_{i}": "COMPLETED" for i in range(4)}
    assert _sacct_states(array_id, 4) == expected

    from ssd.report_cli import main as report

    assert report([str(sweep)]) == 0
    table = (sweep / "report" / "table.csv").read_text().splitlines()
    assert len(table) == 1 + 4 and (sweep / "report" / "heatmap_pass_at_1.png").is_file()
    # Concurrent array tasks shared the cache: each unique stage exists once.
    cache = tmp_path / "cache"
    assert len(list((cache / "base").glob("*/manifest.json"))) == 1
    assert len(list((cache / "sample").glob("*/manifest.json"))) == 2
