"""The GPU tier without a GPU: it imports and collects, every test skips saying CUDA is missing, and
`make gpu-check` runs exactly that tier under a time bound."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from helpers.support import REPO


def test_without_cuda_every_gpu_test_skips_and_says_why():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")  # no GPU, even on a machine that has one
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "tests/gpu", "-q", "-rs", "-p"]
    done = subprocess.run(
        [*cmd, "no:cacheprovider"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    summary = out.strip().splitlines()[-1]
    assert re.fullmatch(r"=*\s*5 skipped in [\d.]+s\s*=*", summary), summary  # none "passed"
    reason = r"SKIPPED \[(\d+)\] \S+: needs a CUDA GPU: torch.cuda.is_available\(\) is False"
    assert sum(int(n) for n in re.findall(reason, out)) == 5, out  # -rs groups equal reasons


def test_make_gpu_check_runs_the_gpu_tier_with_a_time_bound():
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "gpu-check", "GPU_PY=py", "PYTEST_ARGS="],
        cwd=REPO,
        capture_output=True,
        text=True,
    )  # under `make test` this make is nested: without the flag it prints "Entering directory"
    assert done.returncode == 0, done.stderr
    expected = ["timeout", "480", "py", "-m", "pytest", "-m", "gpu", "tests/gpu", "-s", "-rs"]
    assert done.stdout.split() == expected
