"""The real one-node SLURM of tests/slurm/setup.sh, for the `slurm` tests: the session fixture that
starts it (root only; anyone else skips) and what the tests ask of it (sacct states and TRES, the
submitit task folder of a job, polling with a bound that names what it waited for).

Import the fixture into a test module: `from helpers.slurm import slurm_cluster  # noqa: F401`.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.support import REPO

SETUP = REPO / "tests" / "slurm" / "setup.sh"
FAKE_GPUS = 2  # setup.sh's default: the node's fake GPUs (GRES)
RUNNING = ("PENDING", "RUNNING", "COMPLETING", "REQUEUED", "")


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """A running one-node SLURM with accounting and fake GPUs, started (or found up) by setup.sh."""
    if os.geteuid() != 0:
        pytest.skip("tests/slurm/setup.sh must run as root (installs slurm-wlm, starts daemons)")
    proc = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(
            f"setup.sh exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )


def sacct(job: str, fields: str, *extra: str) -> list[list[str]]:
    """sacct's allocation rows (-X) of `job` (a job, array or array task id), split on '|'."""
    out = subprocess.run(
        ["sacct", "-j", job, "-X", "-n", "-P", "-o", fields, *extra],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("|") for line in out.splitlines() if line]


def sacct_since(start: str) -> list[list[str]]:
    """JobID and WorkDir of every job submitted since `start` (YYYY-MM-DDTHH:MM:SS), any state."""
    out = subprocess.run(
        ["sacct", "-a", "-X", "-n", "-P", "-S", start, "-o", "JobID,WorkDir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("|") for line in out.splitlines() if line]


def sacct_final(job: str, n_jobs: int = 1, wait_s: float = 60) -> dict[str, dict[str, str]]:
    """JobID -> {State, AllocTRES, ExitCode, End} once n_jobs rows are final (the DB lags)."""
    deadline = time.monotonic() + wait_s
    while True:
        rows = {
            r[0]: {"State": r[1].split()[0], "AllocTRES": r[2], "ExitCode": r[3], "End": r[4]}
            for r in sacct(job, "JobID,State,AllocTRES,ExitCode,End")
        }
        final = [r for r in rows.values() if r["State"] not in RUNNING]
        if len(final) >= n_jobs or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def sacct_states(job: str, n_jobs: int = 1, wait_s: float = 60) -> dict[str, str]:
    """JobID -> State of `job`'s rows (array tasks), once n_jobs of them are final."""
    return {k: v["State"] for k, v in sacct_final(job, n_jobs, wait_s).items()}


def gpus_in(tres: str) -> int | None:
    """The gres/gpu count in a TRES string such as 'billing=2,cpu=2,gres/gpu=2,mem=1G,node=1'."""
    found = [kv.split("=", 1)[1] for kv in tres.split(",") if kv.startswith("gres/gpu=")]
    return int(found[0]) if found else None


def sacct_attempts(job: str, wait_s: float = 60) -> list[str]:
    """The State of every run of `job`, requeued ones included, once the last one is final."""
    deadline = time.monotonic() + wait_s
    while True:
        states = [r[0] for r in sacct(job, "State", "--duplicates")]
        if states and states[-1] not in RUNNING or time.monotonic() > deadline:
            return states
        time.sleep(1)


def job_folder(sweep: Path) -> Path:
    """The one submitit job folder of a one-cell sweep (named by its job id: no array)."""
    (folder,) = [d for d in (sweep / ".submitit").iterdir() if d.is_dir()]
    return folder


def wait_until(what: str, found: Callable[[], Any], limit_s: float, proc: subprocess.Popen) -> Any:
    """Poll `found()` until it returns something truthy; fail naming `what` (and the sweep's exit)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"gave up waiting for {what} (sweep exit code {proc.poll()})", pytrace=False)


def submitit_lines(folder: Path) -> str:
    """submitit's own log lines of every task of a job (stdout also gets Hydra's copy of each)."""
    return "".join(
        line
        for p in sorted(folder.glob("*_log.out"))
        for line in p.read_text().splitlines(keepends=True)
        if line.startswith("submitit ")
    )
