"""A cache a team shares: folders in a common group, locks any member can take.

Files and folders get their mode from the umask (with umask 002 a teammate in the group can read
and add stages; `ssd.artifacts` no longer leaves 0600 temp-file modes behind). With a shared group
(`paths.group`) the cache root and stage folders belong to it and carry the setgid bit, so every
file and folder created below inherits the group whoever creates it. Lock files are made group
read-write then, so a teammate whose umask is stricter can still wait on them.
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from filelock import FileLock

from ssd.config.schema import ConfigError


def group_id(group: str | int) -> int:
    """The gid of a group name or number; a ConfigError naming `paths.group` when unknown."""
    try:
        return int(group) if str(group).isdigit() else grp.getgrnam(str(group)).gr_gid
    except KeyError:
        raise ConfigError(
            f"paths.group={group!r} is invalid: no such group on this machine (`getent group`)"
        ) from None


def shared_dir(path: Path, group: str | int | None) -> Path:
    """Create `path` (and parents) with umask modes; with a group, chgrp it and set setgid."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if group is None:
        return path
    gid = group_id(group)
    info = path.stat()
    try:
        if info.st_gid != gid:
            os.chown(path, -1, gid)
        if not info.st_mode & stat.S_ISGID:
            os.chmod(path, stat.S_IMODE(info.st_mode) | stat.S_ISGID)
    except PermissionError as err:
        raise ConfigError(
            f"paths.group={group!r} is invalid: cannot give {path} to that group ({err.strerror}); "
            "you must own the folder and belong to the group"
        ) from None
    return path


def lock_for(final: Path, group: str | int | None) -> FileLock:
    """The lock of one stage key, `<stage>/<key>.lock`, usable by every member of the group."""
    if group is None:
        return FileLock(str(final) + ".lock")  # mode from the umask (0664 under umask 002)
    return FileLock(str(final) + ".lock", mode=0o664)
