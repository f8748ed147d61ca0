"""Which task of a multi-task submitit job runs the pipeline, and what the others do meanwhile.

`task_rank()` is 0 outside submitit and in task 0; `ssd.pipeline.run` returns early in every
other task after `wait_for_task_zero()`. Imports submitit only inside a submitit job.
"""

from __future__ import annotations

import os
import time

import submitit
from submitit.core.utils import JobPaths


def task_rank() -> int:
    """This process's task rank in a submitit job (0 outside one).

    A SLURM job with tasks_per_node = devices (as Lightning expects of the allocation) runs the
    Hydra job once per task. The pipeline must run once: task 0 samples, evaluates and launches
    the fine-tuning ranks itself (ssd/finetune.py), on the resources the other tasks hold.
    """
    if not os.environ.get("SUBMITIT_EXECUTOR"):
        return 0

    return int(submitit.JobEnvironment().global_rank)


def wait_for_task_zero(poll_s: float = 2.0) -> None:
    """Keep this task alive until task 0 has written its submitit result (success or error).

    Exiting at once would also do on a default SLURM, but a cluster with `WaitTime` set ends a
    step that long after its first task exits, which would kill task 0 mid-pipeline.
    """
    env = submitit.JobEnvironment()
    done = JobPaths(os.environ["SUBMITIT_FOLDER"], job_id=env.job_id, task_id=0).result_pickle
    print(
        f"task {env.global_rank} of a multi-task job: task 0 runs the pipeline and starts the "
        f"training ranks; waiting for {done.name}",
        flush=True,
    )
    while not done.exists():
        time.sleep(poll_s)
    print(f"task {env.global_rank}: task 0 finished", flush=True)
