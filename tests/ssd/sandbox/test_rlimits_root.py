"""The rlimits fallback as root: the program runs as a fresh unprivileged uid, so the limits bind.

Root ignores RLIMIT_NPROC; before the uid drop a fork bomb made 400 children of 400 here.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from ssd.sandbox.execution import isolation_info, run_program
from ssd.sandbox.launch import _UID_BASE, Limits

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop happens only as root")

# Forks until refused (at most 400 times); every child sleeps, so they all count at once.
FORK_COUNT = """import os, time
n = 0
for _ in range(400):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(3)
        os._exit(0)
    n += 1
print(n)
"""


def rlimits_run(code: str, stdin: str = "", **kwargs):
    return run_program(code, stdin, isolation="rlimits", **kwargs)


def test_isolation_info_says_the_uid_was_dropped():
    info = isolation_info("rlimits")
    assert (info["level"], info["uid_drop"]) == ("rlimits", True)
    assert "dropped from root" in info["description"]


def test_program_runs_as_a_fresh_unprivileged_uid():
    result = rlimits_run("import os; print(os.getuid(), os.getgid(), os.getgroups())")
    uid, gid, groups = result.stdout.split(maxsplit=2)
    assert result.status == "ok"
    assert int(uid) >= _UID_BASE and gid == uid and groups.strip() == "[]"


def test_fork_bomb_stops_at_the_process_limit():
    result = rlimits_run(FORK_COUNT, timeout_s=10.0)
    assert result.status == "ok", result.stderr
    assert 0 < int(result.stdout) < Limits().nproc  # was 400 before the drop


def test_stdin_programs_still_pass_and_the_work_dir_is_writable():
    code = "open('scratch.txt', 'w').write(input())\nprint(open('scratch.txt').read()[::-1])"
    result = rlimits_run(code, "abc\n")
    assert (result.status, result.stdout, result.returncode) == ("ok", "cba\n", 0)


@pytest.mark.parametrize("where", ["/root", "/etc", str(Path(__file__).parent)])
def test_cannot_write_where_the_fresh_uid_may_not(where):
    target = Path(where, f"pwned-{uuid.uuid4().hex}")
    try:
        result = rlimits_run(f"open({str(target)!r}, 'w').write('pwned')")
        assert result.status == "runtime_error"
        assert "PermissionError" in result.stderr
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)
