"""Integrity of cached stages: every file a stage wrote, with its size and sha256, checked on reuse.

A cache on shared storage lives for weeks: a truncated `kept.jsonl` or zeroed weights must never be
read back as if a stage had made them. At commit `record_files(folder)` lists every file (the hash
taken while writing, from `ssd.artifacts`' write record, when the file is unchanged since; else it
is read once); on reuse `check(folder, manifest, full)` compares sizes and hashes (every file's
when `full`, else those of files up to 16 MiB) and names the first file that differs. A damaged
stage is moved aside by `move_aside` (to `<cache>/.damaged/`), never deleted, for inspection.
No torch, no Hydra here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from ssd.artifacts import WRITE_RECORD_SUFFIX, write_record_path
from ssd.config.schema import ConfigError

MANIFEST = "manifest.json"
FILES = "files"  # the manifest entry: {relative path: {"size": bytes, "sha256": hex}}
DAMAGED_DIR = ".damaged"
VERIFY_MODES = ("sizes", "full")
_CHUNK = 8 << 20
# Files up to this size are hashed on every reuse even in "sizes" mode: a zeroed run of bytes in
# kept.jsonl keeps its size, and hashing a few MiB is cheap next to loading a model.
SMALL_FILE = 16 << 20


class CacheError(ConfigError):
    """A cache problem the run reports in one line (`exit_code` says how it ends; see ssd/cli/run.py).

    A ConfigError, so every entry point that prints bad input in one line does so here too.
    """

    exit_code = 2


class DamagedStage(CacheError):
    """A finished stage whose files no longer match its manifest, and recomputing is switched off."""


def hash_file(path: Path) -> str:
    """sha256 of a file's content, read in 8 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_write_record(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(WRITE_RECORD_SUFFIX)


def _recorded(path: Path) -> dict[str, Any] | None:
    """The write record of `path` if it still describes the file (same size and mtime)."""
    try:
        record = json.loads(write_record_path(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if (
        not isinstance(record, dict)
        or record.get("size") != stat.st_size
        or record.get("mtime_ns") != stat.st_mtime_ns
    ):
        return None
    return record


def payload_files(folder: Path) -> list[Path]:
    """Every regular file of a stage folder except its manifest and write records, sorted."""
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if path == folder / MANIFEST or _is_write_record(path):
                continue
            found.append(path)
    return sorted(found)


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete what an interrupted write left (`*.tmp` files and folders): never part of a stage."""
    gone = []
    for root, dirs, names in os.walk(folder, topdown=True):
        for name in [*dirs, *names]:
            if name.endswith(".tmp"):
                path = Path(root) / name
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
                gone.append(path)
        dirs[:] = [d for d in dirs if not d.endswith(".tmp")]
    return gone


def record_files(folder: Path) -> dict[str, dict[str, Any]]:
    """{relative path: {size, sha256}} of every file in `folder`; consumes the write records."""
    files: dict[str, dict[str, Any]] = {}
    for path in payload_files(folder):
        record = _recorded(path)
        digest = record["sha256"] if record else hash_file(path)
        files[path.relative_to(folder).as_posix()] = {"size": path.stat().st_size, "sha256": digest}
    for root, _, names in os.walk(folder):
        for name in names:
            if _is_write_record(Path(root) / name):
                (Path(root) / name).unlink()
    return files


def scrub_partial(folder: Path) -> list[str]:
    """Before a stage resumes from `folder`: remove every file its write record says is damaged.

    What was written atomically and then altered (a shard cut short, bytes zeroed) is deleted so
    the stage writes it again; files without a record are the stage's own business (it resumes
    from Lightning checkpoints it wrote itself). Returns the relative paths removed.
    """
    removed = []
    for path in sorted(p for p in folder.rglob(f".*{WRITE_RECORD_SUFFIX}") if p.is_file()):
        target = path.with_name(path.name[1 : -len(WRITE_RECORD_SUFFIX)])
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            ok = target.stat().st_size == record["size"] and hash_file(target) == record["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            if target.exists():
                target.unlink()
                removed.append(target.relative_to(folder).as_posix())
            path.unlink(missing_ok=True)
    return removed


def load_manifest(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, None), or (None, what is wrong) when it is missing, not JSON or not an object."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{MANIFEST} is missing"
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return None, f"{MANIFEST} is not valid JSON ({type(err).__name__})"
    if not isinstance(manifest, dict) or not isinstance(manifest.get(FILES, {}), dict):
        return None, f"{MANIFEST} is not a stage manifest"
    return manifest, None


def check(folder: Path, manifest: dict[str, Any], full: bool) -> str | None:
    """None when every listed file is there with its size and hash, else the first difference,
    naming the file. Files up to SMALL_FILE are always hashed (samples, kept rows, configs,
    tokenizers: reading them costs next to nothing); larger ones (weights) only when `full`.
    A manifest from before file lists were kept has nothing to check."""
    for rel, want in sorted(manifest.get(FILES, {}).items()):
        path = folder / rel
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return f"{rel} is missing"
        except OSError as err:
            return f"{rel} cannot be read ({err.strerror})"
        if size != want.get("size"):
            return f"{rel} has {size} bytes, the manifest says {want.get('size')}"
        if (full or size <= SMALL_FILE) and hash_file(path) != want.get("sha256"):
            return f"{rel} has a different content hash than the manifest records"
    return None


def stat_signature(folder: Path, manifest: dict[str, Any]) -> tuple:
    """(name, size, mtime_ns, inode) of every file of the manifest and of the manifest itself:
    any rewrite, truncation or replacement changes it, so a stage once hashed sound in a process
    is hashed again only when something changed."""
    seen = []
    for rel in sorted([MANIFEST, *manifest.get(FILES, {})]):
        try:
            info = (folder / rel).stat()
            seen.append((rel, info.st_size, info.st_mtime_ns, info.st_ino))
        except OSError:
            seen.append((rel, None, None, None))
    return tuple(seen)


def move_aside(root: Path, stage: str, key: str, folder: Path) -> Path:
    """Move a damaged stage folder to `<root>/.damaged/<stage>/<key>.<UTC time>` (one rename)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = root / DAMAGED_DIR / stage / f"{key}.{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while target.exists():
        target, n = target.with_name(f"{key}.{stamp}.{n}"), n + 1
    os.rename(folder, target)
    return target
