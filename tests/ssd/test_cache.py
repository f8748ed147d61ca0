"""The stage cache: reuse, atomic completion, a killed stage that is redone, never read, and the
one identity rule that reads the schema's KeyRole marks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from ssd.artifacts import atomic_write_json
from ssd.cache import MANIFEST, RUN_DROPS, Cache, identity
from ssd.config.schema import Config, FilterConfig, KeyRole, keyed


def test_second_run_reuses_and_does_not_recompute(tmp_path):
    calls = []

    def compute(out):
        calls.append(out)
        (out / "payload.txt").write_text("x")
        return {"n": 1}

    cache = Cache.at(tmp_path)
    first = cache.run("sample", compute, args={"a": 1})
    second = cache.run("sample", compute, args={"a": 1})
    assert len(calls) == 1 and not first.reused and second.reused
    assert second.path == first.path and (second.path / "payload.txt").read_text() == "x"
    assert second.manifest["metrics"] == {"n": 1}
    assert second.manifest["spec"] == {"config": {}, "args": {"a": 1}}
    assert "torch" in second.manifest["versions"]


def test_key_depends_on_config_args_and_inputs_only(tmp_path):
    a, b = Cache.at(tmp_path / "a"), Cache.at(tmp_path / "b")
    assert a.key("sample", args={"a": 1, "b": 2}) == b.key("sample", args={"b": 2, "a": 1})
    assert a.key("sample", args={"a": 1}) != a.key("sample", args={"a": 2})
    up1, up2 = {"up": "k1"}, {"up": "k2"}
    assert a.key("sample", args={"a": 1}, inputs=up1) != a.key("sample", args={"a": 1}, inputs=up2)
    assert a.key("sample", args={"a": 1}) != a.key("filter", args={"a": 1})


def test_a_stage_killed_mid_write_is_redone_and_its_partial_output_never_read(tmp_path):
    cache = Cache.at(tmp_path)

    def killed(out):
        (out / "payload.txt").write_text("half")
        raise KeyboardInterrupt  # what a SIGINT does mid-stage

    with pytest.raises(KeyboardInterrupt):
        cache.run("sample", killed, args={"a": 1})
    final, _ = cache.paths("sample", cache.key("sample", args={"a": 1}))
    assert not final.exists()  # nothing visible without a manifest

    seen = []

    def resumed(out):
        seen.append((out / "payload.txt").read_text())  # the attempt's files are there to resume
        (out / "payload.txt").write_text("full")
        return {}

    done = cache.run("sample", resumed, args={"a": 1})
    assert seen == ["half"] and (done.path / "payload.txt").read_text() == "full"
    assert (done.path / MANIFEST).is_file() and not done.reused


def test_a_folder_without_manifest_is_never_taken_as_done(tmp_path):
    cache = Cache.at(tmp_path)
    final, _ = cache.paths("sample", cache.key("sample", args={"a": 1}))
    final.mkdir(parents=True)
    (final / "payload.txt").write_text("stale")
    out = cache.run("sample", lambda out: {"fresh": True}, args={"a": 1})
    assert out.manifest["metrics"] == {"fresh": True} and not (out.path / "payload.txt").exists()


def test_a_plan_only_cache_computes_nothing_and_knows_what_is_done(tmp_path):
    real, plan = Cache.at(tmp_path), Cache.at(tmp_path, plan_only=True)
    planned = plan.run(
        "finetune", lambda out: pytest.fail("computed"), args={"a": 1}, model="model"
    )
    assert not planned.reused and not planned.path.exists()
    assert planned.model.path == planned.path / "model" and planned.model.key == planned.key
    real.run("finetune", lambda out: {"n": 2}, args={"a": 1}, model="model")
    again = plan.run("finetune", lambda out: pytest.fail("computed"), args={"a": 1})
    assert again.reused and again.key == planned.key and again.metrics == {"n": 2}


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"a": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_a_stage_version_bump_retires_that_stage_and_every_run_record(monkeypatch, tmp_path):
    from ssd import cache as cache_module
    from ssd.pipeline import run_record_args

    cache, config = Cache.at(tmp_path), Config()
    sample = cache.key("sample", args={"a": 1})
    finetune = cache.key("finetune", args={"a": 1})
    record = cache.key("run", args=run_record_args(config))
    versions = cache_module.STAGE_VERSIONS
    monkeypatch.setitem(versions, "sample", versions["sample"] + 1)
    assert cache.key("sample", args={"a": 1}) != sample
    assert cache.key("finetune", args={"a": 1}) == finetune
    assert cache.key("run", args=run_record_args(config)) != record


@dataclass
class _Inner:
    kept: int = 1
    device: str = keyed(KeyRole.RUNTIME, "cpu")


@dataclass
class _Slice:
    value: float = 0.5
    choice: KeyRole = KeyRole.RESULT  # any str-valued enum
    seed: int = keyed(KeyRole.PIPELINE, 0)
    shard_id: int | None = keyed(KeyRole.SPLIT, None)
    inner: _Inner = field(default_factory=_Inner)


def test_identity_drops_every_marked_field_at_any_depth_and_stores_enums_by_value():
    assert identity(_Slice()) == {"value": 0.5, "choice": "result", "inner": {"kept": 1}}
    assert identity(_Slice(), RUN_DROPS) == {
        "value": 0.5,
        "choice": "result",
        "seed": 0,
        "shard_id": None,
        "inner": {"kept": 1},
    }
    assert identity({"a": [_Inner(), (1, 2)]}) == {"a": [{"kept": 1}, [1, 2]]}


def test_filter_guard_is_not_part_of_the_filter_key(tmp_path):
    """filter.min_kept_fraction stops a run or lets it be: it never changes the kept samples."""
    cache = Cache.at(tmp_path)
    loose, strict = FilterConfig(), FilterConfig(min_kept_fraction=0.9)
    assert cache.key("filter", {"filter": loose}) == cache.key("filter", {"filter": strict})
    assert cache.key("filter", {"filter": loose}) != cache.key(
        "filter", {"filter": FilterConfig(stub_max_lines=1)}
    )


def test_run_record_key_ignores_where_files_go_and_how_progress_is_logged(tmp_path):
    from dataclasses import replace

    from ssd.pipeline import run_record_args

    cache, config = Cache.at(tmp_path), Config()
    moved = replace(
        config,
        paths=replace(config.paths, cache_dir="/b"),
        logger=replace(config.logger, name="csv"),
        name="y",
    )
    hotter = replace(config, sampling=replace(config.sampling, temperature=1.5))
    key = cache.key("run", args=run_record_args(config))
    assert cache.key("run", args=run_record_args(moved)) == key
    assert cache.key("run", args=run_record_args(hotter)) != key
