"""A cache shared by a team: a shared group with setgid folders, and another user (in that group)
who waits on our lock, reuses our stages and adds their own, which we then reuse.

The cross-user test needs root (to become `nobody` in a forked child); it is skipped otherwise.
"""

from __future__ import annotations

import grp
import os
import stat
import tempfile
from pathlib import Path

import pytest
from filelock import Timeout

from ssd.artifacts import write_jsonl
from ssd.cache import Cache
from ssd.cache_sharing import lock_for
from ssd.config.schema import ConfigError

NOBODY = 65534


def _shared_gid() -> int:
    try:
        return grp.getgrnam("users").gr_gid
    except KeyError:
        pytest.skip("no 'users' group on this machine")


def _rows(out: Path) -> dict:
    write_jsonl(out / "rows.jsonl", [{"i": i} for i in range(3)])
    return {"n": 3}


def test_a_shared_group_owns_every_folder_and_file_and_folders_are_setgid(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chgrp to a group we may not belong to needs root")
    gid = _shared_gid()
    out = Cache.at(tmp_path / "cache", group=str(gid)).run("sample", _rows, args={"a": 1})
    for folder in (tmp_path / "cache", out.path.parent, out.path):
        info = folder.stat()
        assert info.st_gid == gid and info.st_mode & stat.S_ISGID, folder
    assert (out.path / "rows.jsonl").stat().st_gid == gid


def test_an_unknown_group_is_one_line_naming_the_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"paths.group='no-such-group-x' is invalid"):
        Cache.at(tmp_path, group="no-such-group-x").run("sample", _rows, args={"a": 1})


def _as_nobody(gid: int, umask: int, work) -> int:
    """Run `work()` in a forked child as uid nobody in group `gid`; its return is the exit code."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.setgroups([gid])
            os.setgid(gid)
            os.setuid(NOBODY)
            os.umask(umask)
            code = work()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_another_user_in_the_group_waits_on_our_lock_and_shares_our_stages():
    if os.geteuid() != 0:
        pytest.skip("becoming another user needs root")
    gid = _shared_gid()
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's tmp folders are 0700: nobody cannot enter
    base.chmod(0o755)
    old = os.umask(0o002)
    try:
        ours = Cache.at(base / "cache", group=str(gid))
        first = ours.run("sample", _rows, args={"a": 1})
        theirs_key = ours.key("filter", args={"b": 1})
        final, _ = ours.paths("filter", theirs_key)
        held = lock_for(final, str(gid))
        held.acquire()

        def waits() -> int:
            try:
                lock_for(final, str(gid)).acquire(timeout=0.3)
            except Timeout:
                return 0  # could open our lock file and found it held: it waits, as it should
            except PermissionError:
                return 3
            return 4

        assert _as_nobody(gid, 0o022, waits) == 0  # even with a stricter umask of their own
        held.release()

        def shares() -> int:
            theirs = Cache.at(base / "cache", group=str(gid))
            if not theirs.run("sample", lambda out: {"recomputed": True}, args={"a": 1}).reused:
                return 5
            made = theirs.run("filter", _rows, args={"b": 1})
            return 0 if not made.reused else 6

        assert _as_nobody(gid, 0o002, shares) == 0
        again = ours.run("filter", lambda out: pytest.fail("recomputed"), args={"b": 1})
        assert again.reused and again.key == theirs_key
        made = final / "rows.jsonl"
        assert made.stat().st_uid == NOBODY and made.stat().st_gid == gid
        assert made.stat().st_mode & 0o777 == 0o664
        assert first.path.stat().st_mode & stat.S_ISGID
    finally:
        os.umask(old)
        import shutil

        shutil.rmtree(base, ignore_errors=True)
