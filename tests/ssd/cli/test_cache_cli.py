"""`ssd cache gc` leaves alone what a running job holds, and the estimate warns when a run would take
most of the free space (synthetic caches: fast; the real-cache tests are tests/test_cache_damage.py)."""

from __future__ import annotations

import os

from ssd.artifacts import write_jsonl
from ssd.cache import Cache
from ssd.cache_sharing import lock_for
from ssd.cli.main import main


def _rows(out):
    write_jsonl(out / "rows.jsonl", [{"i": i} for i in range(100)])
    return {}


def test_gc_never_removes_a_stage_whose_lock_a_job_holds(tmp_path, capsys):
    cache = Cache.at(tmp_path)
    busy = cache.run("sample", _rows, args={"a": 1})
    idle = cache.run("sample", _rows, args={"a": 2})
    old = 1_000_000_000
    for out in (busy, idle):
        os.utime(out.path, (old, old))
    lock = lock_for(busy.path, None)
    lock.acquire()
    try:
        assert main(["cache", "gc", "--cache-dir", str(tmp_path), "--yes"]) == 0
    finally:
        lock.release()
    out = capsys.readouterr().out
    assert busy.path.is_dir() and not idle.path.exists()
    assert f"kept (a job holds its lock): sample {busy.key}" in out
    assert f"removed: sample {idle.key}" in out


def test_the_estimate_warns_when_a_run_takes_most_of_the_free_space(monkeypatch, capsys, tmp_path):
    from types import SimpleNamespace

    from ssd import disk_estimate

    parts = {"samples": 900, "checkpoints": 0, "already written": 0, "model size unknown": 1}
    monkeypatch.setattr(disk_estimate, "estimate", lambda config, cache, prompts: parts)
    monkeypatch.setattr(disk_estimate, "free_bytes", lambda path: 1000)
    config = SimpleNamespace(paths=SimpleNamespace(check_space=True))
    assert disk_estimate.check_space(config, Cache.at(tmp_path), []) == 900
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: this run may write up to 900 B")
    assert "model size unknown" in err[0]
    off = SimpleNamespace(paths=SimpleNamespace(check_space=False))
    assert disk_estimate.check_space(off, Cache.at(tmp_path), []) == 0
