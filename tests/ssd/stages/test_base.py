"""Stage `base`: the toy base is fitted once per (model, toy) config; an `hf` model never is.

The toy fit is shrunk by overrides (a few steps on a few sequences): what is checked is the
caching and keying, not the fit's quality (tests/test_pipeline.py runs the real one).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ssd.cache import Cache
from ssd.config.choices import Dtype, ModelKind
from ssd.models import load_model
from ssd.pipeline import typed
from ssd.stages.base import resolve_base

CHEAP = (
    "experiment=smoke",
    "model.base_fit.max_steps=3",
    "model.base_fit.n_sequences=32",
    "model.base_fit.batch_size=8",
    "model.num_layers=1",
    "model.hidden_size=32",
    "model.intermediate_size=64",
)

pytestmark = pytest.mark.usefixtures("one_thread")


def slices(make_cfg, *overrides: str):
    config = typed(make_cfg(*CHEAP, *overrides))
    return config.model, config.toy


def test_toy_base_is_fitted_once_then_reused(make_cfg, tmp_path):
    cache = Cache.at(tmp_path / "cache")
    model_cfg, toy = slices(make_cfg)
    first = resolve_base(model_cfg, toy, cache)
    assert (first.stage, first.reused) == ("base", False)
    assert first.path == tmp_path / "cache" / "base" / first.key
    assert first.model.path == first.path / "model" and first.model.key == first.key
    manifest = json.loads((first.path / "manifest.json").read_text())
    assert manifest["key"] == first.key and manifest["metrics"] == first.metrics
    assert (first.metrics["steps"], first.metrics["n_examples"]) == (3, 32)  # the overrides
    model, tokenizer = load_model(first.model.path)  # a loadable HF model with the toy's words
    arch = model.config
    assert (arch.num_hidden_layers, arch.hidden_size, arch.intermediate_size) == (1, 32, 64)
    assert tokenizer.convert_tokens_to_ids("P0") != tokenizer.unk_token_id
    stamp = (first.model.path / "config.json").stat().st_mtime_ns

    again = resolve_base(*slices(make_cfg), cache)
    assert (again.key, again.path, again.reused) == (first.key, first.path, True)
    assert (first.model.path / "config.json").stat().st_mtime_ns == stamp  # not refitted
    assert [p.name for p in (tmp_path / "cache" / "base").iterdir() if p.is_dir()] == [first.key]


def test_what_moves_the_key(make_cfg, tmp_path):
    plan = Cache.at(tmp_path / "cache", plan_only=True)  # keys only: nothing is fitted
    key = resolve_base(*slices(make_cfg), plan).key
    assert resolve_base(*slices(make_cfg, "toy.n_instances=3"), plan).key != key
    assert resolve_base(*slices(make_cfg, "model.base_fit.seed=1"), plan).key != key
    assert resolve_base(*slices(make_cfg, "model.base_fit.max_steps=4"), plan).key != key
    # a label is no part of the fit: runs that differ only in it share the base
    assert resolve_base(*slices(make_cfg, "model.name=another_label"), plan).key == key
    assert not (tmp_path / "cache").exists()


def test_an_hf_model_is_not_fitted_and_keyed_by_where_it_is(make_cfg, tmp_path, tiny_model_dir):
    cache = Cache.at(tmp_path / "cache")
    model_cfg, toy = slices(make_cfg)
    hf = replace(model_cfg, kind=ModelKind.hf, path=str(tiny_model_dir))
    out = resolve_base(hf, toy, cache)
    assert out.reused and out.path == tiny_model_dir and out.model.path == tiny_model_dir
    assert out.manifest == {"spec": {"hf": str(tiny_model_dir.resolve())}}
    assert out.key == cache.key(
        "base", args={"hf": str(tiny_model_dir.resolve()), "dtype": hf.dtype}
    )
    assert not (tmp_path / "cache").exists()  # nothing written
    # the toy settings do not matter to an hf model; its dtype and location do
    other_toy = slices(make_cfg, "toy.n_instances=3")[1]
    assert resolve_base(hf, other_toy, cache).key == out.key
    assert resolve_base(replace(hf, dtype=Dtype.bfloat16), toy, cache).key != out.key
    hub = resolve_base(replace(hf, path="org/not-downloaded"), toy, cache)
    assert hub.path.as_posix() == "org/not-downloaded" and hub.key != out.key
    assert hub.manifest == {"spec": {"hf": "org/not-downloaded"}}
