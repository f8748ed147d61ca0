"""Content-addressed stage outputs: identity from config, atomic completion, one writer at a time.

A stage's folder is `<root>/<stage>/<key>`. The key hashes the stage's typed config slices through
`identity` (the one rule: schema fields marked as not changing a number are left out, see
`ssd.config.schema.KeyRole`), the values the pipeline derived for it (seed, T_eval list, decoder)
and its inputs' keys. Work happens in `<key>.partial/` (kept across a kill, so a stage can resume
from its own checkpoints) and becomes visible by one `rename` after manifest.json is written: a
folder without a manifest is never read. A file lock per key makes concurrent jobs wait for, not
duplicate, a stage another job is computing. The manifest lists every file with its size and
sha256; reuse checks them (ssd/cache_integrity.py) and a damaged stage is moved aside and redone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ssd.artifacts import ModelRef, stable_hash
from ssd.cache_commit import compute_stage
from ssd.cache_integrity import (
    MANIFEST,  # noqa: F401 - re-exported: stages and tests import it from ssd.cache
    DamagedStage,
    check,
    load_manifest,
    move_aside,
    stat_signature,
)
from ssd.cache_sharing import lock_for, shared_dir
from ssd.config.schema import OMIT_AT_DEFAULT, ROLE, KeyRole

# Part of every key: bump a stage's number when a code change alters what it writes, so outputs
# of the old code stop matching instead of being reused as if the new code had made them.
# Version 2 everywhere: keys are derived by `identity` from the schema's KeyRole marks since then.
# evaluate 3: the ml_ssd and lcb grader modes give the official tools' verdicts (issue 21), and
# no mode lets graded code inherit the grader's `from __future__ import annotations`.
STAGE_VERSIONS = {
    "base": 2,
    "sample": 2,
    "filter": 2,
    "finetune": 2,
    "analyze": 2,
    "evaluate": 3,
    "run": 2,
}

# What a stage key leaves out, and what the run record's key leaves out (see KeyRole).
STAGE_DROPS = frozenset({KeyRole.PIPELINE, KeyRole.SPLIT, KeyRole.RUNTIME})
RUN_DROPS = frozenset({KeyRole.RUNTIME})


def identity(value: Any, drop: frozenset[KeyRole] = STAGE_DROPS) -> Any:
    """The part of a config value that can change what comes out, as plain JSON-able data.

    Dataclass fields whose KeyRole is in `drop` are left out, at any depth; so is a field declared
    with `ssd.config.schema.added` while it holds its default (a field added later whose default
    reproduces the old behaviour leaves every existing key where it was). Enums become their
    values. This is the only place that decides cache identity from config.
    """
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: identity(getattr(value, f.name), drop)
            for f in fields(value)
            if f.metadata.get(ROLE, KeyRole.RESULT) not in drop
            and not (f.metadata.get(OMIT_AT_DEFAULT) and _at_default(value, f))
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): identity(v, drop) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [identity(v, drop) for v in value]
    return value


def _at_default(value: Any, f: Any) -> bool:
    default = f.default_factory() if f.default_factory is not MISSING else f.default
    return identity(getattr(value, f.name), frozenset()) == identity(default, frozenset())


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


@dataclass(frozen=True)
class Cache:
    """The cache handle every stage gets: a root folder (shared between the jobs of a sweep).

    `config` maps names to the typed config slices a stage reads (hashed through `identity`);
    `args` holds the plain values the pipeline derived for it; `inputs` upstream stage keys.
    A `plan_only` handle computes nothing: `run` returns what the stage's output would be (its
    key and folder, `reused` when it is already there), so the stages themselves can say which
    keys a config will use before anything runs. `verify` ("sizes" or "full") is how much of a
    finished stage is checked before it is reused; `recompute_damaged` whether a damaged one is
    moved aside and redone (else the run stops in one line); `group` the shared group, if any.
    """

    root: Path
    plan_only: bool = False
    verify: str = "sizes"
    recompute_damaged: bool = True
    group: str | None = None

    @classmethod
    def at(cls, root: str | Path, plan_only: bool = False, **settings: Any) -> Cache:
        return cls(Path(root).expanduser().resolve(), plan_only, **settings)

    @classmethod
    def for_paths(cls, paths: Any, plan_only: bool = False) -> Cache:
        """The cache a run's `paths` config describes (folder and integrity/sharing settings)."""
        return cls.at(
            paths.cache_dir,
            plan_only,
            verify=str(getattr(paths, "verify", "sizes")),
            recompute_damaged=bool(getattr(paths, "recompute_damaged", True)),
            group=getattr(paths, "group", None),
        )

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

    def inspect(self, stage: str, key: str) -> tuple[dict[str, Any] | None, str | None]:
        """(manifest, None) for a sound finished stage; (None, what is wrong) for a damaged one;
        (None, None) when there is none. Checks sizes, and hashes when `verify` is "full"."""
        final, _ = self.paths(stage, key)
        if not final.is_dir():
            return None, None
        manifest, problem = load_manifest(final)
        if manifest is None:
            return None, None if problem and problem.endswith("missing") else problem
        memo, seen = (str(final), self.verify), stat_signature(final, manifest)
        if _SOUND.get(memo) != seen:  # hashes are read once per process while nothing changes
            problem = check(final, manifest, full=self.verify == "full")
            if problem:
                return None, problem
            _SOUND[memo] = seen
        return manifest, None

    def finished(self, stage: str, key: str, model: str | None = None) -> StageOutput | None:
        """The finished, undamaged output of this key, or None."""
        manifest, _ = self.inspect(stage, key)
        if manifest is None:
            return None
        final, _ = self.paths(stage, key)
        with contextlib.suppress(OSError):
            os.utime(final)  # last use, for `ssd cache ls` / `gc --older-than`
        ref = ModelRef(final / model, key) if model else None
        return StageOutput(stage, key, final, manifest, True, ref)

    def set_aside(self, stage: str, key: str, problem: str) -> Path:
        """Move a damaged finished stage out of the way, or stop when recomputing is off."""
        final, _ = self.paths(stage, key)
        if not self.recompute_damaged:
            raise DamagedStage(
                f"cached stage {stage} {key} is damaged: {problem} (in {final}); "
                "paths.recompute_damaged=false, so nothing was changed: set it to true to move "
                "it aside and recompute, or run `ssd cache verify --repair`"
            )
        aside = move_aside(self.root, stage, key, final)
        print(
            f"cache: {stage} {key} is damaged ({problem}); moved to {aside}, recomputing",
            file=sys.stderr,
            flush=True,
        )
        return aside

    def run(
        self,
        stage: str,
        compute: Callable[[Path], dict[str, Any]],
        config: Mapping[str, Any] | None = None,
        args: Mapping[str, Any] | None = None,
        inputs: Mapping[str, str] | None = None,
        model: str | None = None,
    ) -> StageOutput:
        """Return the cached output of this stage, computing it first if no sound one exists.

        Args:
            stage: stage name, the first folder level.
            compute: fills the folder it is given (which may hold a killed attempt's files to
                resume from) and returns the metrics recorded in the manifest.
            config, args, inputs: what the key hashes (see the class docstring).
            model: the subfolder holding an HF model the stage writes (its `StageOutput.model`).

        Raises:
            DamagedStage: the finished stage is damaged and `recompute_damaged` is off.
            DiskFull: the filesystem ran out of space (what was half-written is removed).
        """
        key = self.key(stage, config, args, inputs)
        done = self.finished(stage, key, model)
        if done is not None:
            return done
        final, partial = self.paths(stage, key)
        if self.plan_only:
            ref = ModelRef(final / model, key) if model else None
            return StageOutput(stage, key, final, {"metrics": {}}, False, ref)
        shared_dir(self.root, self.group)
        shared_dir(final.parent, self.group)
        with lock_for(final, self.group):
            done = self.finished(stage, key, model)  # another job finished it while we waited
            if done is not None:
                return done
            _, problem = self.inspect(stage, key)
            if problem:
                self.set_aside(stage, key, problem)
            header = {"stage": stage, "key": key, "spec": self.spec(config, args)}
            manifest = compute_stage(partial, compute, {**header, "inputs": dict(inputs or {})})
            if final.exists():  # a folder without manifest: never valid, replace it
                shutil.rmtree(final)
            os.rename(partial, final)
        ref = ModelRef(final / model, key) if model else None
        return StageOutput(stage, key, final, manifest, False, ref)


# Stages found sound in this process: (folder, mode) -> the stat signature they had then.
_SOUND: dict[tuple[str, str], tuple] = {}
