"""The `ssd` console script: every subcommand listed, and `ssd run` finds conf/ from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers.support import REPO

from ssd.cli.main import SUBCOMMANDS
from ssd.cli.run import conf_dir
from ssd.config.schema import ConfigError


def ssd(*args: str, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ssd.cli.main", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_every_subcommand_and_each_has_its_own_help(tmp_path):
    out = ssd("--help", cwd=tmp_path)
    assert out.returncode == 0 and all(name in out.stdout for name in SUBCOMMANDS)
    for name in ("report", "toy", "grade", "analyze"):
        sub = ssd(name, "--help", cwd=tmp_path)
        assert sub.returncode == 0 and f"usage: ssd {name}" in sub.stdout, sub.stderr


def test_ssd_run_composes_the_checkout_config_from_any_directory(tmp_path):
    out = ssd("run", "--cfg", "job", "experiment=smoke", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "n_instances: 4" in out.stdout and "copies_per_instance: 16" in out.stdout


def test_without_conf_ssd_run_says_so_in_one_line_and_exits_2(tmp_path):
    out = ssd("run", cwd=tmp_path, env={"SSD_CONF": str(tmp_path / "nowhere")})
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "SSD_CONF" in lines[0] and "conf/" in lines[0]


def test_conf_dir_prefers_ssd_conf_and_checks_it(tmp_path):
    assert conf_dir({}) == (REPO / "conf").resolve()
    (tmp_path / "config.yaml").write_text("defaults: []\n")
    assert conf_dir({"SSD_CONF": str(tmp_path)}) == tmp_path.resolve()
    with pytest.raises(ConfigError, match="SSD_CONF"):
        conf_dir({"SSD_CONF": str(tmp_path / "missing")})


def test_a_bad_choice_inside_a_yaml_file_names_file_value_allowed_and_key(tmp_path):
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf, symlinks=True)
    (conf / "experiment" / "broken.yaml").write_text(
        "# @package _global_\n# a preset with a typo\nsampling:\n  backend: vlm  # typo\n"
    )
    out = ssd("run", "experiment=broken", cwd=tmp_path, env={"SSD_CONF": str(conf)})
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    for part in ("experiment/broken", "'vlm'", "[hf, vllm]", "sampling.backend"):
        assert part in lines[0], lines[0]
