"""Real-SLURM tests of what happens when a job cannot do its work (tests/slurm/setup.sh's one-node
cluster with 2 fake GPUs; root only, else skipped): task 0 of a two-GPU, two-task job dies, and
the job must end within seconds rather than hold its GPUs until the time limit; a sweep with a
bad cell never reaches sbatch.

Each test prints how long the job took to end after task 0 died (`pytest -s` shows it).
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from helpers.slurm import (
    sacct_final,
    sacct_since,
    slurm_cluster,  # noqa: F401 - the session fixture (pytestmark uses it)
    wait_until,
)
from helpers.support import REPO

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]

# The slurm launcher at 2 GPUs (2 tasks), training on CPU with 2 ranks; a 10 min limit that a
# hanging task would run into long after the bounds below.
TWO_GPU_CELL = [
    "hydra/launcher=slurm", "hydra.launcher.gpus_per_node=2", "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=2", "hydra.launcher.timeout_min=10", "experiment=smoke",
    "replicates=1", "logger=csv", "eval.temperature=1.0", "finetune.devices=2",
    "finetune.batch_size=16", "finetune.strategy=ddp", "finetune.accelerator=cpu",
]  # fmt: skip
ENDS_WITHIN_S = 120  # a bound for failing instead of hanging, not a timing claim


def start_cell(tmp_path: Path, *overrides: str) -> tuple[subprocess.Popen, Path]:
    """Submit one two-task cell through train.py -m; returns the submitting process and sweep dir."""
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable, str(REPO / "train.py"), "-m", *TWO_GPU_CELL,
        f"paths.cache_dir={tmp_path / 'cache'}", f"hydra.sweep.dir={sweep}", *overrides,
    ]  # fmt: skip
    out = (tmp_path / "submit.log").open("w")
    return subprocess.Popen(cmd, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT), sweep


def job_of(sweep: Path, proc: subprocess.Popen) -> str:
    def submitted() -> str | None:
        # submitit makes .submitit/ before the job's own folder (seen: a poll in between)
        root = sweep / ".submitit"
        folders = [d.name for d in root.iterdir() if d.is_dir()] if root.is_dir() else []
        return folders[0] if len(folders) == 1 else None

    return wait_until("the job's submitit folder", submitted, 60, proc)


def end_of(job: str, proc: subprocess.Popen, since: float) -> tuple[dict[str, str], float]:
    """The job's final sacct row once the submitting process has returned, and how many seconds
    after `since` (a time.time()) sacct says the job ended (whole seconds: sacct's resolution)."""
    try:
        proc.wait(timeout=ENDS_WITHIN_S)
    except subprocess.TimeoutExpired:
        subprocess.run(["scancel", job], check=False)
        proc.kill()
        pytest.fail(f"job {job} still running {ENDS_WITHIN_S} s after task 0 died", pytrace=False)
    (row,) = sacct_final(job).values()
    return row, datetime.fromisoformat(row["End"]).timestamp() - since


def task_log(folder: Path, task: int, stream: str = "err") -> str:
    path = folder / f"{folder.name}_{task}_log.{stream}"
    return path.read_text() if path.exists() else ""


def test_task_zero_killed_with_sigkill_ends_the_waiting_task_and_the_job(tmp_path: Path) -> None:
    """Task 0 is SIGKILLed (as the OOM killer does) while task 1 waits for its result: task 1
    finds task 0's process gone and exits non-zero by itself. srun's kill-on-bad-exit is turned
    off here so that only ssd.job_tasks can end task 1."""
    no_kill_on_bad_exit = (
        "hydra.launcher.setup=['export PYTHONUNBUFFERED=1','export SLURM_KILL_BAD_EXIT=0']"
    )
    proc, sweep = start_cell(tmp_path, no_kill_on_bad_exit)
    job = job_of(sweep, proc)
    folder = sweep / ".submitit" / job
    beacon = folder / f"{job}_0_task.json"
    wait_until(
        "task 1 waiting and task 0's beacon",
        lambda: beacon.exists() and "waiting for" in task_log(folder, 1, "out"),
        120,
        proc,
    )
    pid = json.loads(beacon.read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    killed = time.time()
    row, took = end_of(job, proc, killed)
    print(f"\njob {job} ended {took:.1f} s after task 0 (pid {pid}) was SIGKILLed: {row}")
    assert proc.returncode != 0
    assert row["State"] == "FAILED", row
    err = task_log(folder, 1)
    assert f"task 1: task 0 (pid {pid} on " in err and "ended without a result" in err, err
    assert not (folder / f"{job}_0_result.pkl").exists()


def test_a_config_error_in_task_zero_ends_the_job(tmp_path: Path) -> None:
    """A config error that reaches the node makes task 0 exit 2; the job ends instead of task 1
    waiting for the time limit. The error: finetune.num_nodes=2 in a one-node job, with the
    pre-submission check off (as where only compute nodes see the data; on, it refuses this cell
    before sbatch). The launcher as users get it (srun kill-on-bad-exit on)."""
    proc, sweep = start_cell(
        tmp_path,
        "finetune.num_nodes=2",
        "finetune.batch_size=8",
        "hydra.callbacks.presubmit.enabled=false",
    )
    job = job_of(sweep, proc)
    folder = sweep / ".submitit" / job
    wait_until(
        "task 0's config error",
        lambda: "finetune.num_nodes=2 is invalid" in task_log(folder, 0),
        120,
        proc,
    )
    row, took = end_of(job, proc, time.time())
    print(f"\njob {job} ended {took:.1f} s after task 0's config error: {row}")
    assert proc.returncode != 0
    assert row["State"] == "FAILED", row
    assert not (folder / f"{job}_0_result.pkl").exists()
    assert "task 0 finished" not in task_log(folder, 1, "out")


def test_a_sweep_with_a_bad_cell_is_refused_before_any_sbatch(tmp_path: Path) -> None:
    """hydra/launcher=slurm with one bad cell of four (ssd/presubmit.py): exit 2, one line for it,
    and no job of this sweep reaches SLURM (sacct lists none run from this directory)."""
    since = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=slurm",
        "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1", "experiment=smoke",
        "sampling.temperature=0.5,1.0", "finetune.global_batch_size=32,5",
        f"paths.cache_dir={tmp_path / 'cache'}", f"hydra.sweep.dir={sweep}",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.strip().splitlines() == [
        "error: sweep not submitted: cell #1 of 4 [sampling.temperature=0.5 "
        "finetune.global_batch_size=5]: finetune.global_batch_size=5 is invalid: must be a "
        "multiple of batch_size*devices*num_nodes = 32",
        "error: sweep not submitted: cell #3 of 4 [sampling.temperature=1.0 "
        "finetune.global_batch_size=5]: finetune.global_batch_size=5 is invalid: must be a "
        "multiple of batch_size*devices*num_nodes = 32",
    ]
    assert not sweep.exists()  # submitit writes its .submitit folder before calling sbatch
    # sacct: what slurmctld accepted since the test started, by working directory (the DB has
    # it within a second of sbatch; an accepted job would be listed, running or not).
    time.sleep(2)
    rows = sacct_since(since)
    assert not [r for r in rows if r[1] == str(tmp_path)], rows
