"""Which task of a multi-task submitit job runs the pipeline, and what the others do meanwhile.

`task_rank()` is 0 outside submitit and in task 0; `ssd.pipeline.run` returns early in every
other task after `wait_for_task_zero()`. The waiting tasks must never outlive a dead task 0 (they
hold the job's GPUs until its time limit): task 0 leaves a beacon (host, pid), and a waiting task
on the same host exits non-zero within a poll once that process is gone without a result. Tasks
on other nodes are ended by srun itself: the slurm launcher exports SLURM_KILL_BAD_EXIT=1.
Imports submitit only inside a submitit job.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

EXIT_TASK_ZERO_DIED = 1  # "failed", as in the README's exit-code table


def task_rank() -> int:
    """This process's task rank in a submitit job (0 outside one).

    A SLURM job with tasks_per_node = devices (as Lightning expects of the allocation) runs the
    Hydra job once per task. The pipeline must run once: task 0 samples, evaluates and launches
    the fine-tuning ranks itself (ssd/stages/finetune.py), on the resources the other tasks
    hold. In task 0 of a multi-task job this also writes the beacon the other tasks watch.
    """
    if not os.environ.get("SUBMITIT_EXECUTOR"):
        return 0
    import submitit

    env = submitit.JobEnvironment()
    if env.global_rank == 0 and env.num_tasks > 1:
        _write_beacon(beacon_path(os.environ["SUBMITIT_FOLDER"], env.job_id))
    return int(env.global_rank)


def wait_for_task_zero(poll_s: float = 1.0) -> None:
    """Keep this task alive until task 0 has written its submitit result (success or error).

    Exiting at once would also do on a default SLURM, but a cluster with `WaitTime` set ends a
    step that long after its first task exits, which would kill task 0 mid-pipeline. If task 0
    dies without a result (exit before submitit's pickle, SIGKILL, OOM kill, segfault), exit
    with EXIT_TASK_ZERO_DIED instead of waiting for a result that never comes.
    """
    import submitit
    from submitit.core.utils import JobPaths

    env = submitit.JobEnvironment()
    folder = os.environ["SUBMITIT_FOLDER"]
    done = JobPaths(folder, job_id=env.job_id, task_id=0).result_pickle
    beacon = beacon_path(folder, env.job_id)
    print(
        f"task {env.global_rank} of a multi-task job: task 0 runs the pipeline and starts the "
        f"training ranks; waiting for {done.name}",
        flush=True,
    )
    while not done.exists():
        gone = task_zero_gone(beacon)
        if gone and not done.exists():  # it may have written its result, then exited
            print(
                f"task {env.global_rank}: task 0 ({gone}) ended without a result; exiting so "
                "that the job ends instead of holding its devices until the time limit",
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(EXIT_TASK_ZERO_DIED)
        time.sleep(poll_s)
    print(f"task {env.global_rank}: task 0 finished", flush=True)


def beacon_path(submitit_folder: str | Path, job_id: str) -> Path:
    """Where task 0 of `job_id` says which process it is (beside submitit's own task files)."""
    from submitit.core.utils import JobPaths

    paths = JobPaths(submitit_folder, job_id=job_id, task_id=0)
    return paths.result_pickle.with_name(f"{job_id}_0_task.json")


def _write_beacon(path: Path) -> None:
    """Task 0's host identity and process, for this attempt of the job (a requeue reruns it)."""
    me = process_identity(os.getpid())
    me["attempt"] = os.environ.get("SLURM_RESTART_COUNT", "0")
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(me))
    tmp.replace(path)


def task_zero_gone(beacon: Path) -> str | None:
    """A description of task 0's process if it is known to be gone, else None.

    None also when it cannot be known from here: no beacon yet, a beacon of an earlier attempt of
    a requeued job, or task 0 on another host or in another PID namespace (srun ends those).
    """
    try:
        told = json.loads(beacon.read_text())
    except (OSError, ValueError):
        return None
    if told.get("attempt") != os.environ.get("SLURM_RESTART_COUNT", "0"):
        return None
    here = process_identity(os.getpid())
    if (told.get("boot_id"), told.get("pid_ns")) != (here["boot_id"], here["pid_ns"]):
        return None
    now = process_identity(int(told["pid"]))
    if now.get("start") == told.get("start") and now.get("state") not in (None, "Z", "X"):
        return None
    return f"pid {told['pid']} on {told.get('host', '?')}"


def process_identity(pid: int) -> dict[str, Any]:
    """Host (boot id, PID namespace) and process (pid, start time, state) of `pid`, from /proc.

    A pid alone can be reused; with its start time (in clock ticks since boot) it cannot.
    A process that is gone has no "start" or "state".
    """
    ident: dict[str, Any] = {"pid": pid, "host": os.uname().nodename}
    ident["boot_id"] = _read("/proc/sys/kernel/random/boot_id")
    try:
        ident["pid_ns"] = os.readlink("/proc/self/ns/pid")
    except OSError:
        ident["pid_ns"] = None
    stat = _read(f"/proc/{pid}/stat")
    if stat:  # "pid (comm) state ppid ... starttime(22nd field) ...": comm may hold spaces
        fields = stat.rsplit(")", 1)[1].split()
        ident["state"], ident["start"] = fields[0], fields[19]
    return ident


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None
