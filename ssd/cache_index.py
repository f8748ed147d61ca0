"""What a cache holds and who needs it: the model behind `ssd cache ls | verify | gc | rm`.

`scan(root)` lists every stage folder (finished, interrupted `.partial`, or set aside as damaged)
with its size and last use (a reused stage's folder mtime is touched); `users(entries)` maps each
stage key to the run records whose results name it; `needed_by(...)` is what kept runs still
need. `remove(entry)` deletes a stage so no reader ever sees half of it: the manifest goes first
(a folder without one is never read), under the stage's lock when it can be had at once.
No torch, no Hydra here.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from filelock import Timeout

from ssd.cache_integrity import DAMAGED_DIR, MANIFEST, load_manifest
from ssd.cache_sharing import lock_for

RUN = "run"


@dataclass(frozen=True)
class Entry:
    """One folder of the cache: a stage output (`state` ok / partial / incomplete / damaged)."""

    stage: str
    key: str
    path: Path
    state: str
    size: int
    last_used: float  # epoch seconds: the folder's mtime (touched on every reuse)

    @property
    def age_days(self) -> float:
        return (time.time() - self.last_used) / 86400


def folder_size(path: Path) -> int:
    """Bytes of every file below `path` (0 when it vanished meanwhile)."""
    total = 0
    for file in path.rglob("*"):
        try:
            if file.is_file() and not file.is_symlink():
                total += file.stat().st_size
        except OSError:
            continue
    return total


def _entry(stage: str, folder: Path) -> Entry:
    name = folder.name
    if stage.startswith(DAMAGED_DIR):
        state, key = "damaged", name.split(".")[0]
    elif name.endswith(".partial"):
        state, key = "partial", name[: -len(".partial")]
    else:
        state, key = ("ok" if (folder / MANIFEST).is_file() else "incomplete"), name
    try:
        mtime = folder.stat().st_mtime
    except OSError:
        mtime = time.time()
    return Entry(stage, key, folder, state, folder_size(folder), mtime)


def scan(root: Path) -> list[Entry]:
    """Every stage folder under `root`, sorted by stage then key (damaged ones as `.damaged/S`)."""
    root = Path(root)
    entries = []
    if not root.is_dir():
        return entries
    for stage_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if stage_dir.name == DAMAGED_DIR:
            for sub in sorted(p for p in stage_dir.iterdir() if p.is_dir()):
                stage = f"{DAMAGED_DIR}/{sub.name}"
                entries += [_entry(stage, f) for f in sorted(sub.iterdir()) if f.is_dir()]
            continue
        entries += [_entry(stage_dir.name, f) for f in sorted(stage_dir.iterdir()) if f.is_dir()]
    return entries


def run_record_keys(record: Path) -> set[str]:
    """Every stage key a finished run record's results.json names (base, each replicate's stages)."""
    try:
        results = json.loads((record / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    keys = {results.get("base_model", {}).get("key")}
    for rep in results.get("replicates", []):
        keys.update(info.get("key") for info in rep.get("stages", {}).values())
    return {k for k in keys if k}


def users(entries: Iterable[Entry]) -> dict[str, set[str]]:
    """stage key -> keys of the finished run records that used it."""
    found: dict[str, set[str]] = {}
    for entry in entries:
        if entry.stage == RUN and entry.state == "ok":
            for key in run_record_keys(entry.path):
                found.setdefault(key, set()).add(entry.key)
    return found


def runs_under(folders: Iterable[Path]) -> set[str]:
    """Run-record keys named by the results.json files of run or sweep output folders."""
    keys = set()
    for folder in folders:
        for results in Path(folder).rglob("results.json"):
            try:
                run = json.loads(results.read_text(encoding="utf-8")).get("run", {})
            except (OSError, ValueError):
                continue
            if run.get("key"):
                keys.add(run["key"])
    return keys


def needed_by(entries: list[Entry], runs: set[str]) -> set[str]:
    """The run records `runs` and every stage key they name."""
    needed = set(runs)
    for entry in entries:
        if entry.stage == RUN and entry.key in runs:
            needed |= run_record_keys(entry.path)
    return needed


def manifest_of(entry: Entry) -> dict | None:
    manifest, _ = load_manifest(entry.path)
    return manifest


def remove(entry: Entry) -> bool:
    """Delete a stage folder; False (kept) when a job holds its lock right now."""
    if entry.state in ("damaged",):
        shutil.rmtree(entry.path, ignore_errors=True)
        return True
    final = entry.path.with_name(entry.key)
    lock = lock_for(final, None)
    try:
        lock.acquire(timeout=0)
    except (Timeout, PermissionError):
        return False
    try:
        (entry.path / MANIFEST).unlink(missing_ok=True)  # invisible from here on
        shutil.rmtree(entry.path, ignore_errors=True)
    finally:
        lock.release()
    return True
