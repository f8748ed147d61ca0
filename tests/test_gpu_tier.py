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
    assert re.fullmatch(r"=*\s*10 skipped in [\d.]+s\s*=*", summary), summary  # none "passed"
    reason = r"SKIPPED \[(\d+)\] \S+: needs a CUDA GPU: torch.cuda.is_available\(\) is False"
    assert sum(int(n) for n in re.findall(reason, out)) == 10, out  # -rs groups equal reasons


def test_make_gpu_check_runs_the_gpu_tier_with_a_time_bound():
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "gpu-check", "GPU_PY=py", "PYTEST_ARGS="],
        cwd=REPO,
        capture_output=True,
        text=True,
    )  # under `make test` this make is nested: without the flag it prints "Entering directory"
    assert done.returncode == 0, done.stderr
    expected = ["timeout", "540", "py", "-m", "pytest", "-m", "gpu", "tests/gpu", "-s", "-rs"]
    assert done.stdout.split() == expected


def test_the_real_sizes_are_about_0_6b_and_1_7b_parameters():
    from gpu.measure import flops_per_token, peak_flops, qwen3

    sizes = {size: qwen3(size, 4096, device="meta") for size in ("0.6B", "1.7B")}
    counts = {size: sum(p.numel() for p in m.parameters()) / 1e9 for size, m in sizes.items()}
    assert 0.55 < counts["0.6B"] < 0.65 and 1.6 < counts["1.7B"] < 1.8, counts
    # 1.7B at 4096: 6 x (1.72e9 + the tied head's 0.31e9) + 12 x 28 x 16 x 128 x 4096 = 1.50e10.
    assert 1.49e10 < flops_per_token(sizes["1.7B"], 4096) < 1.51e10
    assert peak_flops("NVIDIA H200") == peak_flops("NVIDIA H100 80GB HBM3") == 989.4e12
    assert peak_flops("Some Other GPU") is None


def test_the_tier_measurements_run_at_toy_size_on_cpu():
    """The GPU tier's measuring code (tests/gpu/measure.py), at toy size on CPU: a GPU session
    meets only what needs a GPU. TRL's side runs where TRL is installed (the bench extra)."""
    import importlib.util
    import math

    from gpu.measure import SFTSettings, qwen3, rows, sample_rates, train_ours, train_trl

    s = SFTSettings(seq_len=64, batch_size=2, global_batch_size=4, steps=2, device="cpu")
    data = rows(s.n_rows, s.seq_len, 512)
    assert all(s.seq_len * 3 // 4 <= len(p) + len(c) <= s.seq_len for p, c in data)
    trainers = [train_ours] + ([train_trl] if importlib.util.find_spec("trl") else [])
    for train in trainers:
        done = train(qwen3("toy", s.seq_len), data, s)
        assert done["steps"] == s.steps and math.isfinite(done["final_loss"]), (train, done)
        assert done["tokens_per_s"] > 0 and done["peak_gb"] is None
    rates = sample_rates(qwen3("toy", 64).eval(), batch=4, new_tokens=8, prompt_len=4, repeats=1)
    assert rates["hf backend"] > 0 and rates["plain generate"] > 0, rates
