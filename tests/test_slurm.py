"""Real-SLURM tests: tests/slurm/setup.sh starts a one-node cluster with 2 fake GPUs (GRES; root
only), then Hydra sweeps run through conf/hydra/launcher/{slurm,slurm_cpu}.yaml as SLURM jobs.

`hydra/launcher=slurm` runs in its GPU shape, unchanged: gpus_per_node GPUs (1 or 2) and as many
tasks; training runs on CPU with as many ranks as GPUs. Run: `pytest -m slurm` as root (CI does).
Not root: skipped. Any other setup failure: the test fails. Task-0 failures: test_slurm_failures.py.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.slurm import (
    FAKE_GPUS,
    gpus_in,
    job_folder,
    sacct_attempts,
    sacct_final,
    sacct_states,
    slurm_cluster,  # noqa: F401 - the session fixture (pytestmark uses it)
    submitit_lines,
    wait_until,
)

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "tests" / "slurm" / "hydra_app" / "my_app.py"
GRID = [(1, 3), (1, 4), (2, 3), (2, 4)]  # x=1,2 y=3,4 in Hydra's job order

# What a 2-CPU CI node can schedule; the slurm launcher keeps its GPU shape (1 GPU, 1 task).
COMMON = [
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
    "hydra.launcher.timeout_min=5",
]
GPUS = {"slurm": 1, "slurm_cpu": None}  # each launcher's default request, as sacct records it

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]


@pytest.mark.parametrize("launcher", ["slurm", "slurm_cpu"])
def test_sweep_runs_as_slurm_array(launcher: str, tmp_path: Path) -> None:
    cmd = [
        sys.executable, str(APP), "-m", f"hydra/launcher={launcher}", "x=1,2", "y=3,4",
        f"hydra.searchpath=[file://{REPO / 'conf'}]", f"hydra.sweep.dir={tmp_path}", *COMMON,
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
    rows = sacct_final(array_id, len(GRID))
    assert {job: row["State"] for job, row in rows.items()} == expected
    assert [gpus_in(row["AllocTRES"]) for row in rows.values()] == [GPUS[launcher]] * len(GRID)
    # One task per job. A GPU job's task sees the one GPU SLURM gave it (as its node index: no
    # cgroup renumbers devices here), concurrent jobs different ones; a CPU job's task sees none.
    tasks = [json.loads((tmp_path / str(i) / "task0.json").read_text()) for i in range(len(GRID))]
    assert {t["SLURM_NTASKS"] for t in tasks} == {"1"}
    seen = [(t["SLURM_JOB_GPUS"], t["CUDA_VISIBLE_DEVICES"]) for t in tasks]
    if GPUS[launcher]:
        assert all(gpu == visible and gpu in ("0", "1") for gpu, visible in seen), tasks
    else:
        assert seen == [(None, None)] * len(GRID), tasks
    assert not list(tmp_path.glob("*/task1.json"))


def test_a_two_gpu_job_runs_one_task_per_gpu_and_each_sees_both(tmp_path: Path) -> None:
    """The slurm launcher's shape at gpus_per_node=2: tasks_per_node follows, sacct accounts two
    GPUs, and every task sees CUDA_VISIBLE_DEVICES=0,1 (Lightning picks its device by rank)."""
    cmd = [
        sys.executable, str(APP), "-m", "hydra/launcher=slurm", "hydra.launcher.gpus_per_node=2",
        "x=2", "y=5", f"hydra.searchpath=[file://{REPO / 'conf'}]", f"hydra.sweep.dir={tmp_path}",
        *COMMON,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"sweep failed\n{proc.stdout}\n{proc.stderr}"
    job = job_folder(tmp_path).name
    (row,) = sacct_final(job).values()
    assert row["State"] == "COMPLETED" and gpus_in(row["AllocTRES"]) == FAKE_GPUS, row
    tasks = [json.loads((tmp_path / "0" / f"task{r}.json").read_text()) for r in (0, 1)]
    assert [t["SLURM_PROCID"] for t in tasks] == ["0", "1"]
    seen = [(t["SLURM_NTASKS"], t["SLURM_JOB_GPUS"], t["CUDA_VISIBLE_DEVICES"]) for t in tasks]
    assert seen == [("2", "0,1", "0,1")] * 2, tasks
    assert json.loads((tmp_path / "0" / "result.json").read_text())["product"] == 10


def test_toy_grid_through_train_py_on_slurm_then_report(tmp_path: Path) -> None:
    """The real pipeline: a 2x2 T_train x T_eval toy grid as one SLURM array, then `ssd report`."""
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=slurm",
        "experiment=smoke", "replicates=1", "logger=csv",
        "sampling.temperature=0.5,1.0", "eval.temperature=0.7,1.0",
        f"paths.cache_dir={tmp_path / 'cache'}", f"hydra.sweep.dir={sweep}", *COMMON,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"sweep failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    cells = sorted(sweep.glob("*/results.json"))
    assert len(cells) == 4
    logs = sorted((sweep / ".submitit").glob("*_0/*_0_log.out"))
    assert logs, "no submitit log for array task 0"
    array_id = logs[0].name.split("_")[0]
    expected = {f"{array_id}_{i}": "COMPLETED" for i in range(4)}
    assert sacct_states(array_id, 4) == expected

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
    tmp_path: Path,
) -> None:
    """The slurm launcher's GPU shape at gpus_per_node=2 (tasks_per_node follows): SLURM starts
    the Hydra job in both tasks, task 0 runs the pipeline (one W&B run, one results.json) and
    fine-tunes with 2 DDP ranks on CPU; task 1 steps aside instead of running every stage again."""
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    cmd = [
        sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=slurm",
        "hydra.launcher.gpus_per_node=2", "experiment=smoke", "replicates=1",
        "logger.name=wandb", "logger.mode=offline", "eval.temperature=1.0", "finetune.devices=2",
        "finetune.batch_size=16", "finetune.strategy=ddp", "finetune.accelerator=cpu",
        f"paths.cache_dir={cache}", f"hydra.sweep.dir={sweep}", "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=2", "hydra.launcher.timeout_min=5",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"sweep failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    task_dir = job_folder(sweep)
    job = task_dir.name
    (row,) = sacct_final(job).values()
    assert row["State"] == "COMPLETED" and gpus_in(row["AllocTRES"]) == FAKE_GPUS, row
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


def test_a_job_that_hits_its_time_limit_is_requeued_and_resumes(tmp_path: Path) -> None:
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
        f"paths.cache_dir={cache}", f"hydra.sweep.dir={sweep}",
        "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
        "hydra.launcher.timeout_min=10", "hydra.launcher.signal_delay_s=150",
        "hydra.launcher.max_num_timeout=2",
    ]  # fmt: skip
    log, job = tmp_path / "sweep.log", None
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(
            "fine-tuning's first resume checkpoint",
            lambda: list(cache.glob("finetune/*.partial/resume/last.ckpt")),
            300,
            proc,
        )
        # One cell: submitit submits a plain job (no array); its folder is named by the job id.
        task_dir = job_folder(sweep)
        job = task_dir.name
        limit = -(-(_elapsed_s(job) + 60) // 60)  # whole minutes, 60-120 s from now
        _set_time_limit(job, limit)
        job_logs = lambda: submitit_lines(task_dir)  # noqa: E731
        wait_until(
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

    assert sacct_attempts(job) == ["REQUEUED", "COMPLETED"]
    (row,) = sacct_final(job).values()
    assert gpus_in(row["AllocTRES"]) == GPUS["slurm"], row  # the launcher's GPU shape, requeued

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
