"""Cache integrity on synthetic stages: every file is listed, every kind of damage is caught, a
damaged stage is moved aside and redone (or the run stops in one line), a resumed stage never reads
a damaged file of its interrupted attempt, and a full disk is one line with nothing half-written."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from helpers.damage import damage

from ssd.artifacts import write_jsonl, write_record_path
from ssd.cache import MANIFEST, Cache
from ssd.cache_integrity import DAMAGED_DIR, DamagedStage, hash_file
from ssd.disk_space import DiskFull, is_disk_full

ROWS = [{"i": i, "text": f"row {i}"} for i in range(6)]


def _compute(calls: list):
    def compute(out: Path) -> dict:
        calls.append(out)
        write_jsonl(out / "rows.jsonl", ROWS)
        (out / "model").mkdir(exist_ok=True)
        (out / "model" / "weights.bin").write_bytes(bytes(range(256)) * 64)  # not via artifacts
        return {"n": len(ROWS)}

    return compute


def test_the_manifest_lists_every_file_with_size_and_hash(tmp_path, monkeypatch):
    from ssd import cache_integrity

    hashed = []
    real = cache_integrity.hash_file
    monkeypatch.setattr(cache_integrity, "hash_file", lambda p: hashed.append(p.name) or real(p))
    out = Cache.at(tmp_path).run("sample", _compute([]), args={"a": 1})
    files = out.manifest["files"]
    assert set(files) == {"rows.jsonl", "model/weights.bin"}
    for rel, entry in files.items():
        assert entry == {"size": (out.path / rel).stat().st_size, "sha256": real(out.path / rel)}
    # rows.jsonl was hashed while it was written; only the file written another way is read again
    assert hashed == ["weights.bin"]
    assert sorted(p.name for p in out.path.rglob("*")) == [
        "manifest.json",
        "model",
        "rows.jsonl",
        "weights.bin",
    ]


@pytest.mark.parametrize("how", ["truncate_line", "tear", "zero", "delete"])
@pytest.mark.parametrize("target", ["rows.jsonl", "model/weights.bin"])
def test_a_damaged_stage_is_moved_aside_and_recomputed(tmp_path, capsys, target, how):
    calls = []
    cache = Cache.at(tmp_path, verify="full")
    first = cache.run("sample", _compute(calls), args={"a": 1})
    damage(first.path / target, how)
    again = cache.run("sample", _compute(calls), args={"a": 1})
    assert len(calls) == 2 and not again.reused
    assert again.manifest["files"] == first.manifest["files"]  # the same content, made again
    aside = list((tmp_path / DAMAGED_DIR / "sample").iterdir())
    assert len(aside) == 1 and aside[0].name.startswith(first.key)
    log = [line for line in capsys.readouterr().err.splitlines() if line.startswith("cache:")]
    assert len(log) == 1 and first.key in log[0] and target in log[0] and str(aside[0]) in log[0]


def test_sizes_mode_hashes_small_files_but_not_large_ones(tmp_path, monkeypatch):
    """The default check reads no weights: a same-size change to a large file needs verify=full."""
    from ssd import cache_integrity

    monkeypatch.setattr(cache_integrity, "SMALL_FILE", 1000)  # rows.jsonl small, weights large
    calls = []
    cheap = Cache.at(tmp_path)
    first = cheap.run("sample", _compute(calls), args={"a": 1})
    damage(first.path / "model" / "weights.bin", "zero")
    assert cheap.run("sample", _compute(calls), args={"a": 1}).reused  # sizes agree
    assert (
        not Cache.at(tmp_path, verify="full").run("sample", _compute(calls), args={"a": 1}).reused
    )
    damage(first.path.parent / first.key / "rows.jsonl", "zero")
    assert not cheap.run("sample", _compute(calls), args={"a": 1}).reused
    assert len(calls) == 3


@pytest.mark.parametrize("how", ["truncate_line", "tear", "zero"])
def test_a_manifest_that_is_not_json_counts_as_damage_not_a_crash(tmp_path, how):
    calls = []
    cache = Cache.at(tmp_path)
    first = cache.run("sample", _compute(calls), args={"a": 1})
    damage(first.path / MANIFEST, how)
    assert cache.finished("sample", first.key) is None
    _, problem = cache.inspect("sample", first.key)
    assert problem and "manifest.json" in problem
    assert not cache.run("sample", _compute(calls), args={"a": 1}).reused and len(calls) == 2


def test_with_recompute_off_the_run_stops_naming_file_stage_and_key(tmp_path):
    calls = []
    first = Cache.at(tmp_path).run("sample", _compute(calls), args={"a": 1})
    damage(first.path / "rows.jsonl", "truncate_line")
    strict = Cache.at(tmp_path, recompute_damaged=False)
    with pytest.raises(DamagedStage) as err:
        strict.run("sample", _compute(calls), args={"a": 1})
    text = str(err.value)
    assert "\n" not in text and "rows.jsonl" in text and "sample" in text and first.key in text
    assert "paths.recompute_damaged" in text and err.value.exit_code == 2
    assert len(calls) == 1 and (first.path / MANIFEST).is_file()  # nothing moved or redone


def test_a_resumed_stage_never_reads_a_damaged_file_of_its_interrupted_attempt(tmp_path, capsys):
    """A shard written whole, then damaged in the partial folder, is removed and written again."""
    cache = Cache.at(tmp_path)
    key = cache.key("sample", args={"a": 1})
    _, partial = cache.paths("sample", key)
    write_jsonl(partial / "shards" / "shard-0.jsonl", ROWS)
    write_jsonl(partial / "shards" / "shard-1.jsonl", ROWS)
    assert write_record_path(partial / "shards" / "shard-0.jsonl").is_file()
    damage(partial / "shards" / "shard-0.jsonl", "truncate_line")
    seen = {}

    def resume(out: Path) -> dict:
        seen.update({p.name: p.read_text() for p in (out / "shards").glob("*.jsonl")})
        write_jsonl(out / "shards" / "shard-0.jsonl", ROWS)
        return {}

    done = cache.run("sample", resume, args={"a": 1})
    assert set(seen) == {"shard-1.jsonl"}  # the damaged shard was gone before the stage resumed
    assert "shards/shard-0.jsonl" in capsys.readouterr().err
    assert (
        hash_file(done.path / "shards" / "shard-0.jsonl")
        == done.manifest["files"]["shards/shard-0.jsonl"]["sha256"]
    )


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(tmp_path):
    cache = Cache.at(tmp_path)

    def fills_the_disk(out: Path) -> dict:
        write_jsonl(out / "done.jsonl", ROWS)  # written whole before the disk filled up
        (out / "model.tmp").mkdir()
        (out / "model.tmp" / "half.safetensors").write_bytes(b"x" * 100)
        raise RuntimeError(
            'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No '
            'space left on device" })'
        )  # what safetensors raises

    with pytest.raises(DiskFull) as err:
        cache.run("finetune", fills_the_disk, args={"a": 1})
    text = str(err.value)
    assert "\n" not in text and "no space left" in text and "free" in text
    assert "paths.cache_dir" in text and err.value.exit_code == 3
    _, partial = cache.paths("finetune", cache.key("finetune", args={"a": 1}))
    assert not (partial / "model.tmp").exists() and (partial / "done.jsonl").is_file()
    assert not cache.paths("finetune", cache.key("finetune", args={"a": 1}))[0].exists()


def test_disk_full_is_recognised_through_the_cause_chain():
    inner = OSError(errno.ENOSPC, "No space left on device", "/x/model.safetensors")
    try:
        try:
            raise inner
        except OSError as err:
            raise RuntimeError("saving failed") from err
    except RuntimeError as outer:
        assert is_disk_full(outer)
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("no"))


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"), [(0o002, 0o664, 0o775), (0o077, 0o600, 0o700)]
)
def test_cached_files_and_folders_honour_the_umask(tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        out = Cache.at(tmp_path / "cache").run("sample", _compute([]), args={"a": 1})
    finally:
        os.umask(old)
    for path in (out.path / "rows.jsonl", out.path / MANIFEST, out.path / "model" / "weights.bin"):
        assert path.stat().st_mode & 0o777 == file_mode, path
    for path in (out.path, out.path.parent, out.path / "model"):
        assert path.stat().st_mode & 0o777 == dir_mode, path
    lock = Path(str(out.path) + ".lock")
    if lock.exists():
        assert lock.stat().st_mode & 0o777 == file_mode


def test_a_summary_of_what_a_stage_wrote_is_json(tmp_path):
    out = Cache.at(tmp_path).run("sample", _compute([]), args={"a": 1})
    assert json.loads((out.path / MANIFEST).read_text())["files"] == out.manifest["files"]
