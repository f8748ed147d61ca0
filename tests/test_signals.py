"""Ctrl-C and SIGTERM stop a real `train.py` run within seconds, exit 130 / 143, keep finished stages.

Each test starts one smoke run in its own session and signals the whole group, as a terminal's
Ctrl-C or a scheduler's SIGTERM would; the stage being trained is made long so the signal lands in
it. Bounds are generous: this is an end-to-end behaviour check on a noisy machine, not a benchmark.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.support import REPO, strays

pytestmark = pytest.mark.slow

EXIT_WITHIN_S = 20.0


def start(cache: Path, *overrides: str) -> subprocess.Popen:
    cmd = [sys.executable, "train.py", "experiment=smoke", f"paths.cache_dir={cache}"]
    cmd += [f"paths.output_dir={cache / 'run'}", "logger=none", *overrides]
    log = (cache.parent / "train.log").open("w")
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_for(proc: subprocess.Popen, cache: Path, pattern: str, timeout_s: float = 240.0) -> Path:
    """The first path matching `pattern` under the cache, once the run has made it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sorted(cache.glob(pattern))
        if found:
            return found[0]
        assert proc.poll() is None, f"the run ended ({proc.returncode}) before {pattern} appeared"
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"no {pattern} after {timeout_s} s")


def signal_and_wait(proc: subprocess.Popen, signum: int) -> tuple[int, float]:
    """(exit code, seconds from the signal to the exit)."""
    sent = time.monotonic()
    os.killpg(proc.pid, signum)
    try:
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return code, time.monotonic() - sent


def test_ctrl_c_during_the_base_fit_exits_130_at_once_and_records_nothing(tmp_path):
    cache = tmp_path / "cache"
    proc = start(cache, "model.base_fit.max_steps=100000")  # minutes of fitting
    wait_for(proc, cache, "base/*.partial")
    time.sleep(3.0)  # past building the model, into the fit
    code, seconds = signal_and_wait(proc, signal.SIGINT)
    assert code == 130, (tmp_path / "train.log").read_text()[-2000:]
    assert seconds < EXIT_WITHIN_S
    assert "interrupted by SIGINT" in (tmp_path / "train.log").read_text()
    assert not list(cache.glob("base/*/manifest.json"))  # an interrupted fit is not a base


def test_sigterm_during_fine_tuning_exits_143_and_a_rerun_reuses_the_finished_stages(tmp_path):
    cache = tmp_path / "cache"
    proc = start(cache, "finetune.max_steps=100000")
    wait_for(proc, cache, "finetune/*.partial/resume/last.ckpt")  # trained past save_every
    code, seconds = signal_and_wait(proc, signal.SIGTERM)
    assert code == 143, (tmp_path / "train.log").read_text()[-2000:]
    assert seconds < EXIT_WITHIN_S
    assert not list(cache.glob("finetune/*/manifest.json"))
    finished = {p: p.stat().st_mtime_ns for p in cache.glob("*/*/manifest.json")}
    assert {p.parts[-3] for p in finished} >= {"base", "sample"}

    rerun = start(cache)  # the default smoke fine-tune: same base and samples
    assert rerun.wait(timeout=600) == 0, (tmp_path / "train.log").read_text()[-2000:]
    assert {p: p.stat().st_mtime_ns for p in finished} == finished  # reused, not recomputed
    assert list(cache.glob("finetune/*/manifest.json"))


GRADE_FOREVER = """
from ssd.signals import exits_on_signals
from ssd.codeeval.problem import Problem
from ssd.codeeval.grading import grade_many

def main():
    problem = Problem("p", "loop", tests=(("1\\n", "1\\n"),), testtype="stdin")
    print("grading", flush=True)
    # exec puts the marker on the program's command line, where the stray check looks; it is
    # spelled backwards here so that this process's own command line does not hold it
    loop = ("import os, sys; os.execv(sys.executable, [sys.executable, '-c', 'while True: pass', "
            "'{token}'[::-1]])")
    grade_many([(problem, loop)] * 40, timeout_s=6.0, workers=2,
               isolation="rlimits", progress=False)

exits_on_signals(main)()
"""


def test_sigterm_while_grading_exits_143_at_once_and_leaves_no_program(tmp_path):
    """40 looping programs on 2 workers queue ~2 minutes of timeouts: leaving the pool must
    cancel them, not grade them first (it took 113 s before)."""
    token = f"marker-{tmp_path.name}"
    proc = subprocess.Popen(
        [sys.executable, "-c", GRADE_FOREVER.replace("{token}", token[::-1])],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "grading"
    deadline = time.monotonic() + 60.0
    while not strays(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert strays(token), "no program started"
    code, seconds = signal_and_wait(proc, signal.SIGTERM)
    assert code == 143, proc.stdout.read()[-2000:]
    assert seconds < EXIT_WITHIN_S
    deadline = time.monotonic() + 10.0  # a killed worker's program ends with its sandbox
    while strays(token) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert strays(token) == []
