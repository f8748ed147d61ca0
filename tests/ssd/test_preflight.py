"""Hub items (model, LCB, rStar) must be reachable or cached before compute (ssd/preflight.py):
a real, temporary HF cache, offline and not; the unreachable hub is refused within seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huggingface_hub import try_to_load_from_cache

from ssd.codeeval.benchmarks.lcb import HF_DATASET as LCB_DATASET
from ssd.config.schema import ConfigError
from ssd.preflight import hub_cache_dir, hub_items, preflight

MODEL = "org/tiny-model"
REPO = Path(__file__).resolve().parents[2]


def populate(hf_home: Path, repo_id: str, repo_type: str = "model") -> Path:
    """Write one snapshot into the hub cache layout: <type>s--org--name/{refs/main,snapshots/REV}."""
    folder = hf_home / "hub" / f"{repo_type}s--{repo_id.replace('/', '--')}"
    rev = "0123456789abcdef0123456789abcdef01234567"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(rev)
    snapshot = folder / "snapshots" / rev
    snapshot.mkdir(parents=True)
    name = "config.json" if repo_type == "model" else "test.jsonl"
    (snapshot / name).write_text("{}\n")
    return snapshot


@pytest.fixture
def hub_model_cfg(make_cfg):
    return make_cfg("model.kind=hf", f"model.path={MODEL}")


def test_offline_with_an_empty_cache_refuses_the_hub_model_in_one_line(hub_model_cfg, tmp_path):
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    with pytest.raises(ConfigError) as err:
        preflight(hub_model_cfg, env)
    message = str(err.value)
    assert message.startswith(f"model.path='{MODEL}' is invalid: HF_HUB_OFFLINE=1 and not in")
    assert "model.path=/local/dir" in message and "\n" not in message


def test_a_model_in_the_local_hf_cache_passes_offline(hub_model_cfg, tmp_path):
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    snapshot = populate(tmp_path / "hf", MODEL)
    # the layout is huggingface_hub's own: its cache lookup finds the file too
    cached = try_to_load_from_cache(MODEL, "config.json", cache_dir=hub_cache_dir(env))
    assert cached == str(snapshot / "config.json")
    preflight(hub_model_cfg, env)


def test_lcb_and_rstar_hub_datasets_name_their_keys_and_the_local_option(make_cfg, tmp_path):
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    lcb = make_cfg("eval.benchmark.name=lcb")
    with pytest.raises(
        ConfigError,
        match=r"^eval.benchmark.name='lcb' is invalid: .*livecodebench/.*benchmark.path=",
    ):
        preflight(lcb, env)
    populate(tmp_path / "hf", LCB_DATASET, "dataset")
    preflight(lcb, env)
    rstar = make_cfg("data=rstar_seed")
    with pytest.raises(ConfigError, match=r"^data.hf_dataset='microsoft/rStar-Coder'.*data.path="):
        preflight(rstar, env)


def test_local_paths_and_the_toy_need_no_hub(make_cfg, tmp_path):
    assert hub_items(make_cfg()) == []
    local = make_cfg("model.kind=hf", f"model.path={tmp_path}", "data=rstar_seed",
                     f"data.path={tmp_path}", "eval.benchmark.name=lcb",
                     f"eval.benchmark.path={tmp_path}")  # fmt: skip
    assert hub_items(local) == []


def test_an_unreachable_hub_is_refused_within_seconds(hub_model_cfg, tmp_path):
    """Online mode, nothing cached: this machine cannot reach the hub (a machine that can gets
    'no model on the hub' for the made-up id): a ConfigError either way, bounded in time."""
    env = {"HF_HOME": str(tmp_path / "hf")}
    start = time.monotonic()
    with pytest.raises(ConfigError, match=rf"^model.path='{MODEL}' is invalid: .*HF_HUB_OFFLINE=1"):
        preflight(hub_model_cfg, env, timeout=2.0)
    assert time.monotonic() - start < 8


def test_train_py_refuses_an_uncached_hub_model_offline_in_seconds(tmp_path):
    """Through the real CLI: exit 2, one line, before any stage output (was: a ConnectionError
    traceback after ~1 minute)."""
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"question": "Add two numbers."}\n')
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "~experiment", "model=local", f"model.path={MODEL}",
         "data=jsonl", f"data.path={pool}", "eval.benchmark.name=jsonl",
         f"eval.benchmark.path={pool}", "logger=none", f"paths.cache_dir={tmp_path}/cache",
         f"hydra.run.dir={tmp_path}/run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: model.path='{MODEL}' is invalid: HF_HUB_OFFLINE=1")
    assert time.monotonic() - start < 30 and not (tmp_path / "cache").exists()
