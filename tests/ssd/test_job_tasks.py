"""Which task of a multi-task submitit job runs the pipeline, and how the others wait for it.

No SLURM in a unit test (the real SLURM run is tests/test_slurm.py). Two stand-ins:
- the SLURM task environment, simulated only through the variables submitit's own
  `SlurmJobEnvironment` reads (SUBMITIT_EXECUTOR picks the environment; SLURM_JOB_ID,
  SLURM_PROCID, SLURM_NTASKS, SLURM_ARRAY_* give the job id and rank; SUBMITIT_FOLDER is where
  the result pickles go), so `ssd.job_tasks` runs submitit's real code on them;
- a real two-task job of submitit's LocalExecutor, which sets those variables itself.
"""

from __future__ import annotations

import json
import sys
import threading

import pytest
import submitit
from submitit.core.utils import JobPaths

from ssd.job_tasks import task_rank, wait_for_task_zero

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
