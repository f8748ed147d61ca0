"""Which task of a multi-task submitit job runs the pipeline, and how the others wait for it.

No SLURM in a unit test (the real SLURM run is tests/test_slurm.py). Two stand-ins:
- the SLURM task environment, simulated only through the variables submitit's own
  `SlurmJobEnvironment` reads (SUBMITIT_EXECUTOR picks the environment; SLURM_JOB_ID,
  SLURM_PROCID, SLURM_NTASKS, SLURM_ARRAY_* give the job id and rank; SUBMITIT_FOLDER is where
  the result pickles go), so `ssd.job_tasks` runs submitit's real code on them;
- a real two-task job of submitit's LocalExecutor, which sets those variables itself;
- for a dead task 0, a real child process killed with SIGKILL (its pid named in the beacon).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import submitit
from submitit.core.utils import JobPaths

from ssd.job_tasks import (
    EXIT_TASK_ZERO_DIED,
    beacon_path,
    process_identity,
    task_rank,
    task_zero_gone,
    wait_for_task_zero,
)

SUBMITIT_VARS = ("SUBMITIT_EXECUTOR", "SUBMITIT_FOLDER", "_TEST_CLUSTER_")


@pytest.fixture
def slurm_task(monkeypatch, tmp_path):
    """A SLURM task's environment as submitit reads it: returns a setter for rank / array ids."""
    for name in SUBMITIT_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in ("SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)

    def _set(rank: int, array: tuple[str, str] | None = None) -> None:
        monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
        monkeypatch.setenv("SUBMITIT_FOLDER", str(tmp_path))
        monkeypatch.setenv("SLURM_JOB_ID", "4242")
        monkeypatch.setenv("SLURM_NTASKS", "2")
        monkeypatch.setenv("SLURM_PROCID", str(rank))
        if array:
            monkeypatch.setenv("SLURM_ARRAY_JOB_ID", array[0])
            monkeypatch.setenv("SLURM_ARRAY_TASK_ID", array[1])

    return _set


def test_rank_is_zero_outside_submitit(slurm_task, monkeypatch):
    monkeypatch.setenv("SLURM_PROCID", "3")  # a plain srun task: not a submitit job
    assert task_rank() == 0


@pytest.mark.parametrize("rank", [0, 1])
def test_rank_is_the_slurm_task_rank_inside_submitit(slurm_task, rank):
    slurm_task(rank)
    assert task_rank() == rank


def waiter() -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def wait() -> None:
        wait_for_task_zero(poll_s=0.01)
        done.set()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread, done


@pytest.mark.parametrize(
    "array, result_name",
    [(None, "4242_0_result.pkl"), (("4240", "7"), "4240_7_0_result.pkl")],
    ids=["job", "array-task"],
)
def test_a_nonzero_task_waits_for_task_zeros_result(
    slurm_task, tmp_path, capsys, array, result_name
):
    slurm_task(1, array)
    (tmp_path / "4242_1_result.pkl").write_bytes(b"")  # its own result counts for nothing
    thread, done = waiter()
    assert not done.wait(0.3), "returned before task 0 wrote its result"
    (tmp_path / result_name).write_bytes(b"")
    thread.join(timeout=5)
    assert done.is_set()
    out = capsys.readouterr().out
    assert f"waiting for {result_name}" in out and "task 1: task 0 finished" in out


TASK = """
import json, sys, time
from ssd.job_tasks import task_rank, wait_for_task_zero
rank = task_rank()
if rank:
    wait_for_task_zero(poll_s=0.02)
else:
    time.sleep(1.0)
print(json.dumps({"rank": rank, "t": time.time()}))
"""


def test_a_real_two_task_local_job_runs_once_while_task_one_waits(tmp_path, monkeypatch):
    """~3 s: a real local two-task submitit job, each task a fresh interpreter."""
    for name in SUBMITIT_VARS:
        monkeypatch.delenv(name, raising=False)
    executor = submitit.LocalExecutor(folder=tmp_path / "jobs")
    executor.update_parameters(tasks_per_node=2, timeout_min=2)
    job = executor.submit(submitit.helpers.CommandFunction([sys.executable, "-c", TASK]))
    results = job.results()
    outputs = [json.loads(out.strip().splitlines()[-1]) for out in results]
    assert "task 1: task 0 finished" in results[1] and "waiting" not in results[0]
    assert [o["rank"] for o in outputs] == [0, 1]
    zero = JobPaths(tmp_path / "jobs", job_id=job.job_id, task_id=0).result_pickle
    # Task 1 returned only after task 0's result pickle existed (task 0 slept 1 s first).
    assert outputs[1]["t"] >= zero.stat().st_mtime - 0.05
    assert outputs[1]["t"] > outputs[0]["t"]


@pytest.fixture
def process():
    """A live child process (killed at teardown): stands in for task 0."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait()


def write_beacon(path: Path, pid: int, **changes: str) -> None:
    path.write_text(json.dumps({**process_identity(pid), "attempt": "0", **changes}))


def exiting_waiter() -> tuple[threading.Thread, list]:
    """wait_for_task_zero in a thread; the list gets the SystemExit code it raised, if any."""
    codes: list = []

    def wait() -> None:
        try:
            wait_for_task_zero(poll_s=0.01)
        except SystemExit as stop:
            codes.append(stop.code)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread, codes


def test_task_zero_of_a_multi_task_job_names_its_process(slurm_task, tmp_path, monkeypatch):
    slurm_task(0)
    monkeypatch.setenv("SLURM_RESTART_COUNT", "2")
    assert task_rank() == 0
    told = json.loads(beacon_path(tmp_path, "4242").read_text())
    assert told["pid"] == os.getpid() and told["attempt"] == "2"
    assert told["start"] == process_identity(os.getpid())["start"] and told["start"]


def test_a_single_task_job_writes_no_beacon(slurm_task, tmp_path, monkeypatch):
    slurm_task(0)
    monkeypatch.setenv("SLURM_NTASKS", "1")
    assert task_rank() == 0
    assert not beacon_path(tmp_path, "4242").exists()


def test_a_waiting_task_exits_non_zero_once_task_zero_dies_without_a_result(
    slurm_task, tmp_path, process, capsys
):
    slurm_task(1)
    write_beacon(beacon_path(tmp_path, "4242"), process.pid)
    thread, codes = exiting_waiter()
    thread.join(timeout=0.3)
    assert thread.is_alive(), "gave up on a live task 0"
    process.send_signal(signal.SIGKILL)
    process.wait()
    thread.join(timeout=5)
    assert codes == [EXIT_TASK_ZERO_DIED] and EXIT_TASK_ZERO_DIED != 0
    err = capsys.readouterr().err
    assert f"task 0 (pid {process.pid} on " in err and "ended without a result" in err


@pytest.mark.parametrize(
    "changes",
    [{"attempt": "1"}, {"boot_id": "another-host"}, {"pid_ns": "pid:[1]"}, {"start": "1"}],
    ids=["earlier-attempt", "other-host", "other-pid-namespace", "pid-reused"],
)
def test_a_beacon_that_cannot_speak_for_this_attempt_is_not_a_death(
    slurm_task, tmp_path, process, changes
):
    """Only a dead process that is provably this attempt's task 0 ends the wait; a pid reused
    by another process (same pid, other start time) counts as task 0 gone."""
    slurm_task(1)
    write_beacon(beacon_path(tmp_path, "4242"), process.pid, **changes)
    gone = task_zero_gone(beacon_path(tmp_path, "4242"))
    if "start" in changes:
        assert gone == f"pid {process.pid} on {os.uname().nodename}"
    else:
        assert gone is None


DIES = """
import os, signal, time
from ssd.job_tasks import task_rank, wait_for_task_zero
if task_rank():
    wait_for_task_zero(poll_s=0.1)
else:
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
"""


def test_a_real_two_task_local_job_ends_when_task_zero_is_killed(tmp_path, monkeypatch):
    """A real local two-task submitit job: task 0 SIGKILLs itself, task 1 exits non-zero."""
    for name in SUBMITIT_VARS:
        monkeypatch.delenv(name, raising=False)
    executor = submitit.LocalExecutor(folder=tmp_path / "jobs")
    executor.update_parameters(tasks_per_node=2, timeout_min=2)
    job = executor.submit(exec, DIES, {})  # in the task process itself, not a child of it
    for _ in range(600):  # task 1 would otherwise wait for the 2 min time limit
        if job.done():
            break
        time.sleep(0.1)
    else:
        job.cancel()
        pytest.fail("the job was still running 60 s after task 0 was killed")
    log = JobPaths(tmp_path / "jobs", job_id=job.job_id, task_id=1).stderr.read_text()
    assert "task 1: task 0 (pid" in log and "ended without a result" in log, log
    assert not JobPaths(tmp_path / "jobs", job_id=job.job_id, task_id=0).result_pickle.exists()
