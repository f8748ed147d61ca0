"""Content-addressed stage outputs: identity from config, atomic completion, one writer at a time.

A stage's folder is `<root>/<stage>/<key>`. The key hashes the stage's typed config slices through
`identity` (the one rule: schema fields marked as not changing a number are left out, see
`ssd.config.schema.KeyRole`), the values the pipeline derived for it (seed, T_eval list, decoder)
and its inputs' keys. Work happens in `<key>.partial/` (kept across a kill, so a stage can resume
from its own checkpoints) and becomes visible by one `rename` after manifest.json is written: a
folder without a manifest is never read. A file lock per key makes concurrent jobs wait for, not
duplicate, a stage another job is computing.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from filelock import FileLock

from ssd.artifacts import ModelRef, atomic_write_json, read_json, stable_hash
from ssd.config.schema import ROLE, KeyRole

MANIFEST = "manifest.json"

# Part of every key: bump a stage's number when a code change alters what it writes, so outputs
# of the old code stop matching instead of being reused as if the new code had made them.
# Version 2 everywhere: keys are derived by `identity` from the schema's KeyRole marks since then.
STAGE_VERSIONS = {
    "base": 2,
    "sample": 2,
    "filter": 2,
    "finetune": 2,
    "analyze": 2,
    "evaluate": 2,
    "run": 2,
}

# What a stage key leaves out, and what the run record's key leaves out (see KeyRole).
STAGE_DROPS = frozenset({KeyRole.PIPELINE, KeyRole.SPLIT, KeyRole.RUNTIME})
RUN_DROPS = frozenset({KeyRole.RUNTIME})


def identity(value: Any, drop: frozenset[KeyRole] = STAGE_DROPS) -> Any:
    """The part of a config value that can change what comes out, as plain JSON-able data.

    Dataclass fields whose KeyRole is in `drop` are left out, at any depth; enums become their
    values. This is the only place that decides cache identity from config.
    """
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: identity(getattr(value, f.name), drop)
            for f in fields(value)
            if f.metadata.get(ROLE, KeyRole.RESULT) not in drop
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): identity(v, drop) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [identity(v, drop) for v in value]
    return value


class ShardsPending(RuntimeError):  # noqa: N818 - a state, not a failure: the task did its part
    """An array task wrote its shards of a stage but others are missing: the last task finishes it.

    Lives here, not in ssd/stages/sample.py, so the pipeline can catch it without importing torch.
    """


@dataclass(frozen=True)
class StageOutput:
    """A finished stage: where it lives, what its manifest says, and the model it made, if any."""

    stage: str
    key: str
    path: Path
    manifest: dict[str, Any]
    reused: bool
    model: ModelRef | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest.get("metrics", {})

    def summary(self) -> dict[str, Any]:
        """Key, reuse and metrics: what a run report records for this stage."""
        return {"key": self.key, "reused": self.reused, **self.metrics}


def _versions() -> dict[str, str]:
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


@dataclass(frozen=True)
class Cache:
    """The cache handle every stage gets: a root folder (shared between the jobs of a sweep).

    `config` maps names to the typed config slices a stage reads (hashed through `identity`);
    `args` holds the plain values the pipeline derived for it; `inputs` upstream stage keys.
    A `plan_only` handle computes nothing: `run` returns what the stage's output would be (its
    key and folder, `reused` when it is already there), so the stages themselves can say which
    keys a config will use before anything runs.
    """

    root: Path
    plan_only: bool = False

    @classmethod
    def at(cls, root: str | Path, plan_only: bool = False) -> Cache:
        return cls(Path(root).expanduser().resolve(), plan_only)

    def key(
        self,
        stage: str,
        config: Mapping[str, Any] | None = None,
        args: Mapping[str, Any] | None = None,
        inputs: Mapping[str, str] | None = None,
    ) -> str:
        return stable_hash(
            {
                "stage": stage,
                "version": STAGE_VERSIONS[stage],
                "spec": self.spec(config, args),
                "inputs": dict(inputs or {}),
            }
        )

    @staticmethod
    def spec(
        config: Mapping[str, Any] | None = None, args: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """What a key hashes besides the inputs; recorded in the manifest."""
        return {
            "config": {name: identity(value) for name, value in (config or {}).items()},
            "args": identity(dict(args or {})),
        }

    def paths(self, stage: str, key: str) -> tuple[Path, Path]:
        """(final folder, partial folder) of a stage key, computed without locking anything.

        For jobs that each write their own files into the partial folder while no one holds the
        stage's lock (SLURM array tasks writing sampling shards); `run` then finishes the stage.
        """
        final = self.root / stage / key
        return final, final.with_name(key + ".partial")

    def finished(self, stage: str, key: str, model: str | None = None) -> StageOutput | None:
        """The finished output of this key, or None."""
        final, _ = self.paths(stage, key)
        if not (final / MANIFEST).is_file():
            return None
        ref = ModelRef(final / model, key) if model else None
        return StageOutput(stage, key, final, read_json(final / MANIFEST), True, ref)

    def run(
        self,
        stage: str,
        compute: Callable[[Path], dict[str, Any]],
        config: Mapping[str, Any] | None = None,
        args: Mapping[str, Any] | None = None,
        inputs: Mapping[str, str] | None = None,
        model: str | None = None,
    ) -> StageOutput:
        """Return the cached output of this stage, computing it first if no finished one exists.

        Args:
            stage: stage name, the first folder level.
            compute: fills the folder it is given (which may hold a killed attempt's files to
                resume from) and returns the metrics recorded in the manifest.
            config, args, inputs: what the key hashes (see the class docstring).
            model: the subfolder holding an HF model the stage writes (its `StageOutput.model`).
        """
        key = self.key(stage, config, args, inputs)
        done = self.finished(stage, key, model)
        if done is not None:
            return done
        final, partial = self.paths(stage, key)
        if self.plan_only:
            ref = ModelRef(final / model, key) if model else None
            return StageOutput(stage, key, final, {"metrics": {}}, False, ref)
        final.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(final) + ".lock"):
            done = self.finished(stage, key, model)  # another job finished it while we waited
            if done is not None:
                return done
            partial.mkdir(exist_ok=True)
            started = time.time()
            metrics = compute(partial)
            manifest = {
                "stage": stage,
                "key": key,
                "spec": self.spec(config, args),
                "inputs": dict(inputs or {}),
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
        ref = ModelRef(final / model, key) if model else None
        return StageOutput(stage, key, final, manifest, False, ref)
