"""The harness server's guarantees, from the host: started through `ssd.sandbox.harness.runner`.

Its docstring promises: each test runs in a forked worker with its own time budget, one JSON
record per test, and between programs it kills their leftovers and empties the work dir. Each is
checked here with a program built to break it, under bwrap (where it works) and rlimits. The
pure helpers (`_Inbox`, `_zombie`) are checked directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers.sandbox_programs import daemon_program
from helpers.support import isolations, strays, strays_left

from ssd.sandbox import harness_server
from ssd.sandbox.harness import runner

ISOLATIONS = isolations()


@pytest.fixture(scope="module", params=ISOLATIONS)
def harness(request):
    each = runner(isolation=request.param)
    yield each
    each.close()


def run(harness, code, inputs, mode="stdin", **kwargs):
    return list(harness.run(code, inputs, mode, **kwargs))


def sigkill_pending(pid: int) -> bool:
    """`pid` is dying: SIGKILL pending, already exiting (PF_EXITING), a zombie, or gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        flags = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[6])
    except (OSError, IndexError, ValueError):
        return True
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    if fields.get("State", "").startswith(("Z", "X")) or flags & 0x4:  # PF_EXITING
        return True
    kill = 1 << (9 - 1)  # bit of signal 9 in the pending masks
    return any(int(fields.get(name, "0"), 16) & kill for name in ("SigPnd", "ShdPnd"))


def test_a_detached_daemon_is_killed_before_the_run_returns(harness):
    token = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"  # `sleep` takes it
    (case,) = run(harness, daemon_program(token), [""])
    assert (case.status, case.stdout) == ("ok", "daemon up\n")  # it was running...
    # ...and the sweep after the program has killed it. A SIGKILLed process can linger in
    # /proc for a moment (the sweep does not wait for it to be reaped), so: gone, or dying
    # with SIGKILL pending, and gone soon after.
    for pid in strays(token):
        assert sigkill_pending(pid), f"pid {pid} left running, not killed"
    assert strays_left(token) == []
    (case,) = run(harness, "print(input())", ["next"])
    assert case.stdout == "next\n"  # the harness itself survived the sweep


def test_the_work_dir_is_emptied_between_programs(harness):
    litter = "import os\nopen('note.txt', 'w').write('x')\nos.mkdir('sub')\nopen('sub/f', 'w')"
    look = "import os\nprint(sorted(os.listdir('.')))"
    only_its_own = "['case.err', 'case.out']\n"  # the test's own stdout/stderr capture files
    assert run(harness, litter, [""], "script")[0].status == "ok"
    assert run(harness, look, [""])[0].stdout == only_its_own
    # a program that deletes the work dir itself: the next one gets a fresh, empty one
    gone = "import os, shutil\nshutil.rmtree(os.getcwd())"
    run(harness, gone, [""], "script")  # (its own capture files went with it: no verdict)
    assert run(harness, look, [""])[0].stdout == only_its_own


def test_each_test_has_its_own_time_budget(harness):
    code = "x = input()\nwhile x == 'slow':\n    pass\nprint(x)"
    started = time.monotonic()
    cases = run(harness, code, ["a", "slow", "b"], timeout_s=0.5)
    assert [c.status for c in cases] == ["ok", "timeout", "ok"]
    assert cases[1].error == "time limit 0.5 s exceeded" and cases[2].stdout == "b\n"
    assert 0.5 <= cases[1].wall_s < 3.0 and time.monotonic() - started < 10.0


def test_functional_mode_records(harness):
    code = (
        "class Solution:\n"
        "    def f(self, a, b):\n"
        "        if a == 0:\n            return {1, 2}\n"
        "        if a < 0:\n            raise SystemExit(3)\n"
        "        return (a, b)\n"
    )
    pair, unserializable, exits = run(
        harness, code, ['1\n[2, "x"]', "0\nnull", "-1\nnull"], "functional", func_name="f"
    )
    assert pair.status == "ok" and json.loads(pair.value) == [1, [2, "x"]]  # tuple -> list
    assert json.loads(unserializable.value) == {"unserializable": "set"}
    assert (exits.status, exits.error) == ("runtime_error", "SystemExit: 3")


def test_stdin_mode_ignores_exit_and_joins_threads(harness):
    (case,) = run(harness, "import sys\nprint('done')\nsys.exit(1)", [""])
    assert (case.status, case.stdout) == ("ok", "done\n")  # as LiveCodeBench compares output
    threaded = "import threading, time\ndef main():\n    time.sleep(0.1)\n    print(input())\n"
    threaded += "threading.Thread(target=main).start()"
    (case,) = run(harness, threaded, ["from a thread"])
    assert (case.status, case.stdout) == ("ok", "from a thread\n")


def test_script_mode_must_run_to_its_end(harness):
    (early,) = run(harness, "import os\nos._exit(0)", [""], "script")
    assert (early.status, early.error) == (
        "runtime_error",
        "the program exited before running to its end",
    )
    (whole,) = run(harness, "x = 1", [""], "script")
    assert whole.status == "ok"


def test_compile_memory_and_crash_records(harness):
    (bad,) = run(harness, "def (:", ["a", "b"])  # one record, not one per test
    assert bad.status == "compile_error" and bad.error.startswith("SyntaxError: ")
    assert run(harness, "raise MemoryError", [""])[0].status == "memory"
    crash = run(harness, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", [""])[0]
    assert (crash.status, crash.error) == ("runtime_error", "killed by SIGSEGV")
    fail = run(harness, "raise KeyError('k')", [""])[0]
    assert (fail.status, fail.error) == ("runtime_error", "KeyError: 'k'")


INBOX = """
import os, sys
from ssd.sandbox.harness_server import _Inbox
inbox = _Inbox()
print(inbox.get(None), inbox.get(None), inbox.get(0.05), flush=True)
try:
    inbox.get(None)
except SystemExit as exc:
    print("exit", exc.code)
"""


def test_inbox_splits_lines_and_stops_on_eof():
    proc = subprocess.Popen(
        [sys.executable, "-c", INBOX],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(harness_server.__file__).parents[2],
    )
    proc.stdin.write('{"id": 1}\n{"id"')  # two messages, the second split across writes
    proc.stdin.flush()
    time.sleep(0.2)
    proc.stdin.write(": 2}\n")
    proc.stdin.flush()
    time.sleep(0.2)
    proc.stdin.close()  # then EOF: the host went away
    out = proc.stdout.read()
    assert proc.wait(timeout=30) == 0
    assert out.splitlines() == ["{'id': 1} {'id': 2} None", "exit 0"]


def test_zombie_tells_exited_from_running():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        for _ in range(200):  # exited, not yet reaped: a zombie
            if harness_server._zombie(pid):
                break
            time.sleep(0.01)
        assert harness_server._zombie(pid)
    finally:
        os.waitpid(pid, 0)
    assert harness_server._zombie(pid)  # reaped: gone counts as dead too
    assert not harness_server._zombie(os.getpid())
