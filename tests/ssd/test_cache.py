"""The stage cache: reuse, atomic completion, and a killed stage that is redone, never read."""

from __future__ import annotations

import json

import pytest

from ssd.cache import MANIFEST, atomic_write_json, run_stage, stage_key


def test_second_run_reuses_and_does_not_recompute(tmp_path):
    calls = []

    def compute(out):
        calls.append(out)
        (out / "payload.txt").write_text("x")
        return {"n": 1}

    first = run_stage(tmp_path, "s", {"a": 1}, {}, compute)
    second = run_stage(tmp_path, "s", {"a": 1}, {}, compute)
    assert len(calls) == 1 and not first.reused and second.reused
    assert second.path == first.path and (second.path / "payload.txt").read_text() == "x"
    assert second.manifest["metrics"] == {"n": 1} and second.manifest["spec"] == {"a": 1}
    assert "torch" in second.manifest["versions"]


def test_key_depends_on_spec_and_inputs_only():
    assert stage_key("s", {"a": 1, "b": 2}, {}) == stage_key("s", {"b": 2, "a": 1}, {})
    assert stage_key("s", {"a": 1}, {}) != stage_key("s", {"a": 2}, {})
    assert stage_key("s", {"a": 1}, {"up": "k1"}) != stage_key("s", {"a": 1}, {"up": "k2"})


def test_a_stage_killed_mid_write_is_redone_and_its_partial_output_never_read(tmp_path):
    def killed(out):
        (out / "payload.txt").write_text("half")
        raise KeyboardInterrupt  # what a SIGINT does mid-stage

    with pytest.raises(KeyboardInterrupt):
        run_stage(tmp_path, "s", {"a": 1}, {}, killed)
    final = tmp_path / "s" / stage_key("s", {"a": 1}, {})
    assert not final.exists()  # nothing visible without a manifest

    seen = []

    def resumed(out):
        seen.append((out / "payload.txt").read_text())  # the attempt's files are there to resume
        (out / "payload.txt").write_text("full")
        return {}

    done = run_stage(tmp_path, "s", {"a": 1}, {}, resumed)
    assert seen == ["half"] and (done.path / "payload.txt").read_text() == "full"
    assert (done.path / MANIFEST).is_file() and not done.reused


def test_a_folder_without_manifest_is_never_taken_as_done(tmp_path):
    final = tmp_path / "s" / stage_key("s", {"a": 1}, {})
    final.mkdir(parents=True)
    (final / "payload.txt").write_text("stale")
    out = run_stage(tmp_path, "s", {"a": 1}, {}, lambda out: {"fresh": True})
    assert out.manifest["metrics"] == {"fresh": True} and not (out.path / "payload.txt").exists()


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"a": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_a_stage_version_bump_retires_that_stage_and_every_run_record(monkeypatch):
    from ssd import cache
    from ssd.pipeline import run_spec

    config = {"sampling": {"temperature": 1.0}, "paths": {"cache_dir": "/a"}, "logger": {}}
    sample, finetune = stage_key("sample", {"a": 1}, {}), stage_key("finetune", {"a": 1}, {})
    record = cache.stable_hash(run_spec(config))
    monkeypatch.setitem(cache.STAGE_VERSIONS, "sample", cache.STAGE_VERSIONS["sample"] + 1)
    assert stage_key("sample", {"a": 1}, {}) != sample
    assert stage_key("finetune", {"a": 1}, {}) == finetune
    assert cache.stable_hash(run_spec(config)) != record


def test_run_record_key_ignores_where_files_go_and_how_progress_is_logged():
    from ssd.cache import stable_hash
    from ssd.pipeline import run_spec

    config = {"sampling": {"temperature": 1.0}, "paths": {"cache_dir": "/a"}, "name": "x"}
    moved = {**config, "paths": {"cache_dir": "/b"}, "logger": {"name": "csv"}, "name": "y"}
    hotter = {**config, "sampling": {"temperature": 1.5}}
    assert stable_hash(run_spec(moved)) == stable_hash(run_spec(config))
    assert stable_hash(run_spec(hotter)) != stable_hash(run_spec(config))
