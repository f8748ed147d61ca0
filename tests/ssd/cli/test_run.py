"""How a pipeline run starts and fails: a bad config exits 2 with one line naming the key.

The subprocess tests run `python train.py` and `ssd run` for real (from a scratch cwd, so Hydra's
run folders land there); the in-process ones feed `ssd.cli.run`'s helpers the exceptions Hydra
and OmegaConf really raise on composition, and hand-made ones for the edge cases.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.support import CONF, REPO
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from ssd.cli.run import (
    conf_dir,
    exit_code_for_config_errors,
    exits_2_on_config_error,
    is_config_error,
    job_output_dir,
    one_line,
)
from ssd.config.schema import ConfigError

SSD = Path(sys.executable).with_name("ssd")
LAUNCHERS = {
    "train.py": [sys.executable, str(REPO / "train.py")],
    "ssd run": [str(SSD), "run"],
}
BAD = [  # (override, the one line on stderr)
    (
        "sampling.top_p=1.5",  # our validation: a ConfigError inside the task
        "error: sampling.top_p=1.5 is invalid: must be in (0, 1]",
    ),
    (
        "sampling.temperature=hot",  # the schema's type, while Hydra composes
        "error: Error merging override sampling.temperature=hot: Value 'hot' of type 'str' "
        "could not be converted to Float",
    ),
    (
        "filter=bogus",  # an unknown group option: the allowed ones are listed
        "error: In 'config': Could not find 'filter/bogus'; "
        "allowed: dedup, empty, none, official, paper",
    ),
]


def launch(launcher: str, *overrides: str, cwd: Path, env: dict | None = None):
    return subprocess.run(
        [*LAUNCHERS[launcher], *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


CASES = [("train.py", *BAD[0]), ("train.py", *BAD[1])] + [("ssd run", *bad) for bad in BAD]


@pytest.mark.parametrize("launcher, override, line", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_a_bad_value_exits_2_with_one_line_naming_the_key(launcher, override, line, tmp_path):
    out = launch(launcher, override, "logger=none", f"paths.cache_dir={tmp_path}/c", cwd=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip().splitlines() == [line]
    assert not (tmp_path / "c").exists()  # stopped before any stage touched the cache


def test_ssd_run_without_a_conf_folder_says_so_in_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SSD_CONF": str(tmp_path)}
    out = launch("ssd run", cwd=tmp_path, env=env)
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith(f"error: SSD_CONF='{tmp_path}' is invalid: no config.yaml there")


def test_conf_dir_is_ssd_conf_or_the_checkouts(tmp_path):
    assert conf_dir({}) == CONF.resolve()
    (tmp_path / "config.yaml").write_text("{}\n")
    assert conf_dir({"SSD_CONF": str(tmp_path)}) == tmp_path.resolve()
    with pytest.raises(ConfigError, match="SSD_CONF=.* is invalid"):
        conf_dir({"SSD_CONF": str(tmp_path / "nowhere")})


def composition_error(*overrides: str) -> Exception:
    with pytest.raises(Exception) as info, initialize_config_dir(str(CONF), version_base="1.3"):
        compose("config", overrides=list(overrides))
    return info.value


@pytest.mark.parametrize(
    "override, line",
    [
        (
            "sampling.nope=1",  # OmegaConf's reason is the cause: it joins the first line
            "Could not override 'sampling.nope'.: Key 'nope' not in 'SamplingConfig'",
        ),
        (
            "experiment=null",  # a ValueError, but raised by Hydra's defaults list
            "Config group override must be a string or a list. Got NoneType (GROUP=null is "
            "not an option: leave the group out, or drop it with ~GROUP)",
        ),
        (
            "filter=bogus",
            "In 'config': Could not find 'filter/bogus'; "
            "allowed: dedup, empty, none, official, paper",
        ),
    ],
)
def test_hydra_and_omegaconf_errors_condense_to_one_line(override, line):
    err = composition_error(override)
    assert is_config_error(err)
    assert one_line(err) == line
    assert "\n" not in one_line(err)


def test_only_config_errors_are_classified_as_such():
    assert is_config_error(ConfigError("eval.k=[] is invalid"))
    assert not is_config_error(RuntimeError("a stage failed"))
    assert not is_config_error(ValueError("raised by a task, not by Hydra"))
    with pytest.raises(Exception) as info:
        OmegaConf.structured({"a": 1}).b  # noqa: B018 - OmegaConf's own error type
    assert is_config_error(info.value)


def test_one_line_of_hand_made_errors():
    assert one_line(ConfigError("first\n\n  second")) == "first"
    try:
        raise RuntimeError("outer") from KeyError("inner\nmore")
    except RuntimeError as err:
        assert one_line(err) == "outer: 'inner\\nmore'"
    try:
        raise RuntimeError("outer") from ValueError("inner\nmore")
    except RuntimeError as err:
        assert one_line(err) == "outer: inner"
    assert one_line(RuntimeError()) == "RuntimeError"


def test_config_errors_exit_2_and_other_failures_keep_their_traceback(capsys):
    def bad():
        raise ConfigError("finetune.lr=0 is invalid: must be > 0\ndetails")

    with pytest.raises(SystemExit) as info:
        exit_code_for_config_errors(bad)
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: finetune.lr=0 is invalid: must be > 0\n"

    def broken():
        raise RuntimeError("sampling failed")

    with pytest.raises(RuntimeError, match="sampling failed"):
        exit_code_for_config_errors(broken)
    assert capsys.readouterr().err == ""

    task = exits_2_on_config_error(lambda cfg: bad())
    with pytest.raises(SystemExit) as info:
        task(None)
    assert info.value.code == 2 and "finetune.lr=0" in capsys.readouterr().err
    assert exits_2_on_config_error(lambda cfg: cfg + 1)(1) == 2  # results pass through


def test_job_output_dir_is_paths_output_dir_else_hydras(tmp_path):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=["paths.output_dir=null"], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(tmp_path / "hydra_job")
    HydraConfig.instance().set_config(cfg)
    try:
        assert job_output_dir(cfg) == tmp_path / "hydra_job"
        cfg.paths.output_dir = str(tmp_path / "mine")
        assert job_output_dir(cfg) == tmp_path / "mine"
    finally:
        HydraConfig.instance().cfg = None
