"""Hydra's own set-up failures end in one line and exit 2, like any other bad input: a file where
hydra.run.dir or hydra.sweep.dir points (or below one), a log file that cannot be created."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers.support import REPO


def _train(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "train.py", *args, "experiment=smoke", "logger=none"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("args", "key", "where"),
    [
        (["hydra.run.dir={f}"], "hydra.run.dir", "{f}"),
        (["hydra.run.dir={f}/sub"], "hydra.run.dir", "{f}/sub"),
        (["-m", "hydra.sweep.dir={f}"], "hydra.sweep.dir", "{f}"),
    ],
)
def test_a_file_where_hydras_output_folder_goes_is_one_line_exit_2(tmp_path, args, key, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = _train(*(a.format(f=blocker) for a in args), f"paths.cache_dir={tmp_path / 'c'}")
    assert done.returncode == 2, done.stderr[-1500:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert (
        lines[0].startswith("error: ") and key in lines[0] and where.format(f=blocker) in lines[0]
    )
    assert not (tmp_path / "c").exists()  # nothing ran


def test_a_log_file_hydra_cannot_create_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = _train(
        f"hydra.run.dir={tmp_path / 'run'}",
        f"hydra.job_logging.handlers.file.filename={blocker}/x.log",
    )
    assert done.returncode == 2, done.stderr[-1500:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr and str(blocker) in lines[0]
