"""Real-SLURM tests: tests/slurm/setup.sh starts a one-node cluster (root only), then a 2x2 Hydra sweep
runs through conf/hydra/launcher/{slurm,slurm_cpu}.yaml as one SLURM job array.

Run: `pytest -m slurm` as root (CI does). Not root: skipped. Any other setup failure: the test fails.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _sacct_attempts(job: str, wait_s: float = 60) -> list[str]:
    """The State of every run of `job`, requeued ones included, once the last one is final."""
    deadline = time.monotonic() + wait_s
    while True:
        out = subprocess.run(
            ["sacct", "-j", job, "--duplicates", "-X", "-n", "-P", "-o", "State"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if (
            out
            and out[-1] not in ("PENDING", "RUNNING", "COMPLETING")
            or time.monotonic() > deadline
        ):
            return out
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

    from ssd.cli.report import main as report

    assert report([str(sweep)]) == 0
    table = (sweep / "report" / "table.csv").read_text().splitlines()
    assert len(table) == 1 + 4 and (sweep / "report" / "heatmap_pass_at_1.png").is_file()
    # Concurrent array tasks shared the cache: each unique stage exists once.
    cache = tmp_path / "cache"
    assert len(list((cache / "base").glob("*/manifest.json"))) == 1
    assert len(list((cache / "sample").glob("*/manifest.json"))) == 2
    # Each job wrote only under its own output dir (and the sweep's .submitit logs) and the cache.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "sweep"]
    assert sorted(p.name for p in sweep.iterdir()) == [
        ".submitit",
        "0",
        "1",
        "2",
        "3",
        "multirun.yaml",
        "report",
    ]


def _completed_at(log: str) -> str:
    """When submitit logged a task's "Job completed successfully" (a sortable timestamp)."""
    (line,) = [
        ln for ln in log.splitlines() if ln.startswith("submitit ") and "Job completed" in ln
    ]
    return line.split("(", 1)[1].split(")", 1)[0]


def test_a_job_with_one_task_per_device_runs_the_pipeline_once_and_trains_on_every_rank(
    slurm_cluster: None, tmp_path: Path
) -> None:
    """tasks_per_node = devices, as the slurm launcher sets it: SLURM starts the Hydra job in both
    tasks, task 0 runs the pipeline (one W&B run, one results.json) and fine-tunes with 2 DDP
    ranks; task 1 steps aside instead of running a second copy of every stage."""
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    cmd = [
        sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=slurm",
        "experiment=smoke", "replicates=1", "logger.name=wandb", "logger.mode=offline",
        "eval.temperature=1.0", "finetune.devices=2", "finetune.batch_size=16", "finetune.strategy=ddp",
        "finetune.accelerator=cpu", f"paths.cache_dir={cache}", f"hydra.sweep.dir={sweep}",
        "hydra.launcher.gpus_per_node=null", "hydra.launcher.tasks_per_node=2",
        "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=2",
        "hydra.launcher.timeout_min=5",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"sweep failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    (task_dir,) = [d for d in (sweep / ".submitit").iterdir() if d.is_dir()]
    job = task_dir.name
    assert _sacct_states(job, 1) == {job: "COMPLETED"}
    task_logs = {p.name.split("_")[1]: p.read_text() for p in task_dir.glob("*_log.out")}
    assert sorted(task_logs) == ["0", "1"], sorted(task_logs)
    assert "task 1 of a multi-task job" in task_logs["1"]
    assert "task 1 of a multi-task job" not in task_logs["0"]
    # Task 1 stayed in the step until task 0 had its result: a cluster's WaitTime cannot cut task 0.
    assert "task 1: task 0 finished" in task_logs["1"]
    assert _completed_at(task_logs["1"]) >= _completed_at(task_logs["0"])
    assert len(list((sweep / "0" / "wandb").glob("offline-run-*"))) == 1
    results = json.loads((sweep / "0" / "results.json").read_text())
    assert not results["run"]["reused"]
    (finetune,) = [json.loads(p.read_text()) for p in cache.glob("finetune/*/manifest.json")]
    assert finetune["metrics"]["world_size"] == 2, finetune["metrics"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "sweep"]


def _wait_until(what: str, found: Callable[[], Any], limit_s: float, proc: subprocess.Popen) -> Any:
    """Poll `found()` until it returns something truthy; fail naming `what` (and the sweep's log)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"gave up waiting for {what} (sweep exit code {proc.poll()})", pytrace=False)


def _elapsed_s(job: str) -> int:
    """Seconds `job` has run, from squeue's [D-]HH:MM:SS (or M:SS) TimeUsed."""
    used = subprocess.run(
        ["squeue", "-h", "-j", job, "-o", "%M"], capture_output=True, text=True, check=True
    ).stdout.strip()
    days, _, clock = used.rpartition("-")
    seconds = 0
    for part in clock.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds + 86400 * int(days or 0)


def _set_time_limit(job: str, minutes: int) -> None:
    """`scontrol update TimeLimit`, retried while the job is between requeue and pending."""
    for _ in range(20):
        done = subprocess.run(
            ["scontrol", "update", f"JobId={job}", f"TimeLimit={minutes}"],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail(f"scontrol could not set TimeLimit={minutes} on {job}: {done.stderr}")


def test_a_job_that_hits_its_time_limit_is_requeued_and_resumes(
    slurm_cluster: None, tmp_path: Path
) -> None:
    """Preemption, for real: SLURM signals the job signal_delay_s before its time limit, submitit
    checkpoints the Hydra job and requeues it, and the second attempt reuses the finished stages
    and resumes fine-tuning from the last checkpoint of the first instead of starting over.

    When the limit arrives is made deterministic, not faked: the job starts with a 10 min limit,
    and once fine-tuning has written its first checkpoint the test lowers the job's TimeLimit
    (scontrol, as an admin would) so that the limit is 1-2 min away, already inside the 150 s
    signal_delay_s; slurmctld's own time-limit check (every 30 s) then sends USR2 at its next pass.
    The limit is raised back after the signal so the requeued attempt can finish.
    """
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    # ~6000 steps = 85 s of training on one CPU here; the signal comes <= 30 s after the first
    # checkpoint, so it lands mid-run with a wide margin, and the second attempt has less to do.
    max_steps, save_every = 6000, 200
    cmd = [
        sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=slurm",
        "experiment=smoke", "replicates=1", "logger=csv", "eval.temperature=1.0",
        f"finetune.max_steps={max_steps}", f"finetune.save_every={save_every}",
        f"paths.cache_dir={cache}", f"hydra.sweep.dir={sweep}", *FIT_NODE["slurm"],
        "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
        "hydra.launcher.timeout_min=10", "hydra.launcher.signal_delay_s=150",
        "hydra.launcher.max_num_timeout=2",
    ]  # fmt: skip
    log, job = tmp_path / "sweep.log", None
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until(
            "fine-tuning's first resume checkpoint",
            lambda: list(cache.glob("finetune/*.partial/resume/last.ckpt")),
            300,
            proc,
        )
        # One cell: submitit submits a plain job (no array); its folder is named by the job id.
        (task_dir,) = [d for d in (sweep / ".submitit").iterdir() if d.is_dir()]
        job = task_dir.name
        limit = -(-(_elapsed_s(job) + 60) // 60)  # whole minutes, 60-120 s from now
        _set_time_limit(job, limit)
        # submitit's own log lines (stdout also gets Hydra's copy of each, stderr a third one).
        job_logs = lambda: "".join(  # noqa: E731
            line
            for p in task_dir.glob("*_log.out")
            for line in p.read_text().splitlines(keepends=True)
            if line.startswith("submitit ")
        )
        _wait_until(
            "SIGUSR2 from slurmctld", lambda: "Caught signal SIGUSR2" in job_logs(), 90, proc
        )
        _set_time_limit(job, 10)
        proc.wait(timeout=420)
    finally:
        if proc.poll() is None:
            proc.kill()
            if job:
                subprocess.run(["scancel", job], check=False)
    assert proc.returncode == 0, f"sweep failed\n{log.read_text()[-3000:]}\n{job_logs()[-3000:]}"
    logs = job_logs()
    assert logs.count("Caught signal SIGUSR2") == 1 and logs.count("Requeued job") == 1, logs

    assert _sacct_attempts(job) == ["REQUEUED", "COMPLETED"]

    # Every stage before fine-tuning ran once, in the first attempt; the second reused them.
    for stage in ("base", "sample", "filter"):
        assert len(list((cache / stage).glob("*/manifest.json"))) == 1, stage
    (finetune,) = [json.loads(p.read_text()) for p in cache.glob("finetune/*/manifest.json")]
    metrics = finetune["metrics"]
    assert metrics["resumed"] and metrics["steps"] == max_steps, metrics
    resumed_from = metrics["resumed_from_step"]
    assert 0 < resumed_from < max_steps and resumed_from % save_every == 0, metrics
    results = json.loads((sweep / "0" / "results.json").read_text())
    stages = results["replicates"][0]["stages"]
    assert stages["sample"]["reused"] and stages["filter"]["reused"], stages
    assert not stages["finetune"]["reused"] and stages["finetune"]["resumed"], stages
