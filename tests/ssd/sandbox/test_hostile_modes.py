"""The sandbox's guarantees hold in every grader mode, through the path grading uses.

`ssd.codeeval.grading.grade` runs strict programs one worker per test and ml_ssd / lcb programs
one worker per completion (`ssd.sandbox.official`, which also nulls os.fork & co. as the official
guards do; a hostile program restores them from `posix`). Each guarantee of the sandbox's
docstring is checked here with a program built to break it, under every mode, under bwrap (where
it works) and rlimits: time, memory, output, leftover processes, the host's environment and
files, and a program that kills its harness.
"""

from __future__ import annotations

import uuid

import pytest
from helpers.support import isolations, strays_left

from ssd.codeeval.grading import grade
from ssd.codeeval.problem import Problem
from ssd.codeeval.rules import RULES
from ssd.config.choices import Grader

ISOLATIONS = isolations()
MODES = [m.value for m in Grader]


def problem(expected: str = "ok\n") -> Problem:
    return Problem("h", "q", tests=(("", expected),), metadata={"n_public": 0})


def graded(code: str, mode: str, isolation: str, expected: str = "ok\n", timeout_s: float = 1.0):
    rules = RULES[Grader(mode)]
    return grade(problem(expected), code, timeout_s, 512, isolation, rules)


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("mode", MODES)
def test_time_memory_and_output_are_bounded(mode: str, isolation: str) -> None:
    loop = graded("while True:\n    pass", mode, isolation)
    assert (loop.passed, loop.status) == (False, "timeout")
    bomb = graded("x = bytearray(1 << 36)\nprint('ok')", mode, isolation)  # 64 GiB
    assert not bomb.passed and bomb.status in ("memory", "runtime_error")
    flood = graded("while True:\n    print('x' * 100000)", mode, isolation)
    assert not flood.passed


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("mode", MODES)
def test_a_detached_daemon_does_not_outlive_the_grade(mode: str, isolation: str) -> None:
    token = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"  # `sleep` takes it
    daemon = (
        "import posix, io, time\nr, w = posix.pipe()\n"
        "if posix.fork() == 0:\n    posix.setsid()\n    pid = posix.fork()\n    if pid == 0:\n"
        f"        posix.execv('/bin/sleep', ['sleep', '{token}'])\n"
        "    posix.write(w, str(pid).encode())\n    posix._exit(0)\n"
        "pid = int(posix.read(r, 64))\nfor _ in range(1000):\n    try:\n"
        f"        if b'{token}' in io.open(f'/proc/{{pid}}/cmdline', 'rb').read():\n"
        "            print('ok')\n            break\n"
        "    except OSError:\n        pass\n    time.sleep(0.005)\n"
    )
    verdict = graded(daemon, mode, isolation, timeout_s=5.0)
    assert verdict.passed, verdict  # the daemon was running...
    assert strays_left(token) == []  # ...and is gone


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("mode", MODES)
def test_the_hosts_environment_and_files_are_out_of_reach(
    mode: str, isolation: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("SSD_TEST_SECRET", "hunter2")
    spy = "import posix\nprint(posix.environ.get(b'SSD_TEST_SECRET', b'none').decode())"
    assert graded(spy, mode, isolation, expected="none\n").passed
    target = tmp_path / "written.txt"
    write = (
        "import io\ntry:\n"
        f"    io.open({str(target)!r}, 'w').write('x')\nexcept OSError:\n    pass\nprint('ok')"
    )
    graded(write, mode, isolation)
    assert not target.exists()


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("mode", MODES)
def test_a_program_that_kills_its_harness_costs_only_its_own_verdict(
    mode: str, isolation: str
) -> None:
    killer = "import posix, signal\nposix.kill(posix.getppid(), signal.SIGKILL)\nprint('ok')"
    verdict = graded(killer, mode, isolation)
    assert not verdict.passed
    assert graded("print('ok')", mode, isolation).passed  # a fresh sandbox grades the next


@pytest.mark.parametrize("mode", ["ml_ssd", "lcb"])
def test_a_child_holding_the_result_pipe_does_not_stall_the_grade(mode: str) -> None:
    # The worker dies at once; a grandchild it left keeps every inherited fd open for 30 s.
    code = (
        "import posix, time\nif posix.fork() == 0:\n    time.sleep(30)\n    posix._exit(0)\n"
        "posix.kill(posix.getpid(), 9)"
    )
    verdict = graded(code, mode, "rlimits", timeout_s=6.0)
    # the worker's own end (SIGKILL), not the budget running out while the child sleeps
    assert (verdict.passed, verdict.status) == (False, "runtime_error"), verdict
    assert verdict.reason.endswith("killed by SIGKILL")
