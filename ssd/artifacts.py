"""What travels between stages: model references and files written so readers see all or nothing.

Neutral ground: every stage, report and CLI imports these instead of reaching into another
stage's module for JSONL helpers. Nothing here imports torch, Hydra or any stage.
Atomic writes honour the umask (a teammate in the group can read a shared cache) and, inside a
stage's `<key>.partial/` folder, leave a write record (size, sha256 hashed while writing) beside
the file: the cache checks a resumed stage's files against it and lists them in the manifest
without reading them again (ssd/cache_integrity.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelRef:
    """An HF model directory (or hub id) and the cache key of the stage that made it."""

    path: Path
    key: str


def stable_hash(obj: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of `obj` (sorted keys), as hex."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


WRITE_RECORD_SUFFIX = ".written.json"  # `.<name>.written.json`: size + sha256 of `<name>`


def current_umask() -> int:
    """The process umask, read without changing it where Linux says it (/proc), else set-and-reset."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def write_record_path(path: Path) -> Path:
    """Where the write record of `path` lives: a hidden file beside it."""
    return path.with_name(f".{path.name}{WRITE_RECORD_SUFFIX}")


def in_partial_stage(path: Path) -> bool:
    """Whether `path` lies inside a stage's `<key>.partial/` folder (the cache's work folder)."""
    return any(parent.name.endswith(".partial") for parent in Path(path).parents)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600: give the umask its say
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename: readers see all or nothing.

    The file gets mode 0666 minus the umask, as `open` would give it. Inside a stage's partial
    folder the content hash is taken from the bytes being written and kept in a write record.
    """
    path = Path(path)
    data = text.encode("utf-8")
    _atomic_write_bytes(path, data)
    if in_partial_stage(path):
        stat = path.stat()
        record = {
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "mtime_ns": stat.st_mtime_ns,
        }
        _atomic_write_bytes(write_record_path(path), json.dumps(record).encode())


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


def local_path(spec: str) -> Path:
    """`pkg:MODULE/REL` is REL inside the installed package MODULE (weights shipped in the repo,
    e.g. model=tinycode), so it works from any working directory; anything else as written."""
    if spec.startswith("pkg:"):
        module, _, rel = spec[len("pkg:") :].partition("/")
        return Path(str(resources.files(module))) / rel
    return Path(spec).expanduser()


def is_local_path(spec: str) -> bool:
    """Whether a model/dataset spec names a local copy rather than a hub id: an explicit path
    (absolute, relative, home, pkg:) or one that exists."""
    return spec.startswith(("/", "./", "../", "~", "pkg:")) or Path(spec).expanduser().exists()
