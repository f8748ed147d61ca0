"""Full disks, for real: the cache on a small tmpfs. A run that fills it ends in one line (exit 3)
with nothing half-written left, and after the filesystem grows the same command finishes with the
clean numbers; a run whose estimate does not fit is refused before compute (exit 2). The estimate
itself is checked on the paper recipe's numbers. Mounting needs root: skipped otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.support import GOLDEN, REPO

from ssd.config.schema import Config, ConfigError, FinetuneConfig, ModelConfig
from ssd.disk_estimate import checkpoint_bytes

GB = 10**9


def test_the_paper_recipes_checkpoints_are_counted_from_model_size_and_saves():
    """Qwen3-30B in bf16 (60 GB of weights), 2,500 steps, a save every 250: ten exports, the final
    model, one export being written, and a resume checkpoint of fp32 weights + two Adam moments."""
    config = replace(
        Config(),
        model=replace(ModelConfig(), dtype="bfloat16"),
        finetune=replace(FinetuneConfig(), max_steps=2500, save_every=250),
    )
    assert checkpoint_bytes(config, 60 * GB, 10_000) == 60 * GB * 12 + 30 * GB * 12
    lora = replace(
        config, finetune=replace(config.finetune, lora=replace(config.finetune.lora, enabled=True))
    )
    assert checkpoint_bytes(lora, 60 * GB, 10_000) == 60 * GB * 12


def test_a_run_that_does_not_fit_is_refused_in_one_line(monkeypatch, make_cfg, tmp_path):
    from ssd import disk_estimate
    from ssd.pipeline import run

    monkeypatch.setattr(disk_estimate, "free_bytes", lambda path: 1000)
    cache = tmp_path / "cache"
    with pytest.raises(ConfigError) as err:
        run(make_cfg("experiment=smoke", "replicates=1", cache=cache), tmp_path / "out")
    text = str(err.value)
    assert "\n" not in text and f"paths.cache_dir='{cache}' is invalid" in text
    assert "paths.check_space=false" in text and not (cache / "base").exists()


@pytest.fixture
def small_fs(tmp_path):
    """A tmpfs of 700 KiB (room for the toy base, not for the fine-tuned model), unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "fs"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(where)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield where
    subprocess.run(["umount", str(where)], check=False)


def _train(cache: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "train.py", "experiment=smoke", "replicates=1", "logger=none"]
    cmd += [f"paths.cache_dir={cache}", f"paths.output_dir={out}", *extra]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_the_rerun_after_freeing_space_has_the_clean_numbers(
    small_fs, tmp_path
):
    cache = small_fs / "cache"
    full = _train(cache, tmp_path / "out")
    errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert full.returncode == 3, full.stderr[-2000:]
    assert len(errors) == 1 and "Traceback" not in full.stderr
    assert "no space left on device" in errors[0] and "free on" in errors[0]
    assert str(small_fs) in errors[0] and "rerun the same command" in errors[0]
    assert not list(cache.rglob("*.tmp")) and not list((cache / "finetune").glob("*/manifest.json"))
    assert not [
        p for p in (cache / "finetune").iterdir() if not p.name.endswith((".partial", ".lock"))
    ]

    subprocess.run(["mount", "-o", "remount,size=20m", "tmpfs", str(small_fs)], check=True)
    again = _train(cache, tmp_path / "out")
    assert again.returncode == 0, again.stderr[-2000:]
    golden = json.loads((GOLDEN / "smoke.json").read_text())["curves"]  # seeds 0 and 1
    curves = json.loads((tmp_path / "out" / "results.json").read_text())["summary"]["curves"]
    for label, rows in golden.items():
        got = {str(row["t_eval"]): row["pass@1_per_seed"] for row in curves[label]}
        for t_eval, want in rows.items():
            assert got[t_eval] == pytest.approx(want["pass@1_per_seed"][:1], abs=1e-6)


@pytest.mark.slow
def test_a_run_whose_estimate_exceeds_the_free_space_is_refused_before_compute(small_fs, tmp_path):
    cache = small_fs / "cache"
    refused = _train(cache, tmp_path / "out", "sampling.max_new_tokens=512")
    assert refused.returncode == 2, refused.stderr[-2000:]
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in refused.stderr
    assert "this run will write up to" in errors[0] and "free" in errors[0]
    assert not (cache / "base").exists()  # nothing computed


def test_a_full_disk_outside_the_cache_is_one_line_exit_3(capsys, tmp_path):
    """E.g. the run folder's results.json on a full disk: the task wrapper says so in one line."""
    import errno

    from ssd.cli.run import exits_2_on_config_error

    def task(cfg):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "results.json"))

    with pytest.raises(SystemExit) as done:
        exits_2_on_config_error(task)(None)
    err = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 3 and len(err) == 1
    assert err[0].startswith("error: no space left on device") and "results.json" in err[0]


def test_any_other_failure_keeps_its_traceback():
    from ssd.cli.run import exits_2_on_config_error

    def task(cfg):
        raise OSError(5, "Input/output error")

    with pytest.raises(OSError, match="Input/output error"):
        exits_2_on_config_error(task)(None)
