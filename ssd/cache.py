"""Content-addressed stage outputs: identity from config, atomic completion, one writer at a time.

A stage's folder is `<cache_dir>/<stage>/<key>` where key hashes exactly the config slice that
determines it plus its inputs' keys. Work happens in `<key>.partial/` (kept across a kill, so a stage
can resume from its own checkpoints) and becomes visible by one `rename` after manifest.json is
written: a folder without a manifest is never read. A file lock per key makes concurrent jobs wait
for, not duplicate, a stage another job is computing.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

MANIFEST = "manifest.json"

# Part of every key: bump a stage's number when a code change alters what it writes, so outputs
# of the old code stop matching instead of being reused as if the new code had made them.
# The pipeline's run record (ssd/pipeline.py) hashes all of them.
STAGE_VERSIONS = {
    "base": 1,
    "sample": 1,
    "filter": 1,
    "finetune": 1,
    "analyze": 1,
    "evaluate": 1,
}


def stable_hash(obj: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of `obj` (sorted keys), as hex."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


class ShardsPending(RuntimeError):  # noqa: N818 - a state, not a failure: the task did its part
    """An array task wrote its shards of a stage but others are missing: the last task finishes it.

    Lives here, not in ssd/sample.py, so the pipeline can catch it without importing torch.
    """


@dataclass(frozen=True)
class StageOutput:
    """A finished stage: where it lives and what its manifest says."""

    stage: str
    key: str
    path: Path
    manifest: dict[str, Any]
    reused: bool

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest.get("metrics", {})


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("ssd-sweeps", "torch", "transformers", "lightning", "hydra-core", "vllm"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def git_sha() -> str | None:
    """The commit of the code that ran, if it runs from a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def stage_key(stage: str, spec: dict[str, Any], inputs: dict[str, str]) -> str:
    version = STAGE_VERSIONS.get(stage, 1)
    return stable_hash({"stage": stage, "version": version, "spec": spec, "inputs": inputs})


def stage_paths(
    cache_dir: str | Path, stage: str, spec: dict[str, Any], inputs: dict[str, str]
) -> tuple[str, Path, Path]:
    """(key, final folder, partial folder) of a stage, computed without locking anything.

    For jobs that each write their own files into the partial folder while no one holds the
    stage's lock (SLURM array tasks writing sampling shards); `run_stage` then finishes the stage.
    """
    key = stage_key(stage, spec, inputs)
    final = Path(cache_dir).expanduser().resolve() / stage / key
    return key, final, final.with_name(key + ".partial")


def run_stage(
    cache_dir: str | Path,
    stage: str,
    spec: dict[str, Any],
    inputs: dict[str, str],
    compute: Callable[[Path], dict[str, Any]],
) -> StageOutput:
    """Return the cached output of this stage, computing it first if no finished one exists.

    Args:
        cache_dir: the cache root (shared between jobs of a sweep).
        stage: stage name, the first folder level.
        spec: the resolved config slice that determines the output (no paths, no worker counts).
        inputs: upstream stage keys by name.
        compute: fills the folder it is given (which may hold a killed attempt's files to resume
            from) and returns the metrics recorded in the manifest.
    """
    key, final, partial = stage_paths(cache_dir, stage, spec, inputs)
    if (final / MANIFEST).is_file():
        return StageOutput(stage, key, final, read_json(final / MANIFEST), reused=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if (final / MANIFEST).is_file():  # another job finished it while we waited
            return StageOutput(stage, key, final, read_json(final / MANIFEST), reused=True)
        partial.mkdir(exist_ok=True)
        started = time.time()
        metrics = compute(partial)
        manifest = {
            "stage": stage,
            "key": key,
            "spec": spec,
            "inputs": inputs,
            "metrics": metrics,
            "wall_s": round(time.time() - started, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": _versions(),
            "git_sha": git_sha(),
            "argv": sys.argv,
        }
        atomic_write_json(partial / MANIFEST, manifest)
        if final.exists():  # a folder without manifest: never valid, replace it
            shutil.rmtree(final)
        os.rename(partial, final)
    return StageOutput(stage, key, final, manifest, reused=False)
