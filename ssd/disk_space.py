"""Full disks: recognise "no space left" however a library reports it, and say so in one line.

A checkpoint writer (safetensors, torch, Lightning) raises its own error type around ENOSPC, so
`is_disk_full` walks the exception chain and the messages. `DiskFull` is what the cache raises
instead: the path being written, the space left and what to do; `ssd/cli/run.py` prints it as one
line (exit 3). No torch, no Hydra here.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from ssd.cache_integrity import CacheError

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "StorageFull", "os error 28")
DISK_FULL_EXIT = 3


class DiskFull(CacheError):
    """The cache's (or the run folder's) filesystem ran out of space while a stage was writing."""

    exit_code = DISK_FULL_EXIT


def is_disk_full(err: BaseException | None) -> bool:
    """Whether `err`, or anything in its cause/context chain, is a full disk or quota."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in _FULL_ERRNOS:
            return True
        if any(text in str(err) for text in _FULL_TEXT):
            return True
        err = err.__cause__ or err.__context__
    return False


def failed_path(err: BaseException | None) -> str | None:
    """The file an OSError in the chain names, if any."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.filename:
            return str(err.filename)
        err = err.__cause__ or err.__context__
    return None


def existing_ancestor(path: Path) -> Path:
    """`path` or its nearest existing parent (where free space can be asked for)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding `path` (or its nearest existing parent)."""
    path = existing_ancestor(path).resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    """Bytes free to this user on the filesystem holding `path` (or its nearest existing parent)."""
    return shutil.disk_usage(existing_ancestor(path)).free


def human(n: float) -> str:
    """Bytes in the largest unit that keeps the number >= 1 (1024-based), e.g. '12.3 MiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def disk_full_error(err: BaseException, where: Path, what: str) -> DiskFull:
    """The one-line report of a full disk hit while writing `what` under `where`."""
    path = failed_path(err) or str(where)
    return DiskFull(
        f"no space left on device writing {what} ({path}): {human(free_bytes(where))} free on "
        f"{mount_point(where)}; free space (`ssd cache gc`, `ssd cache rm "
        "KEY`) or point paths.cache_dir at a larger disk, then rerun the same command: finished "
        "stages are kept and nothing half-written is read back"
    )
