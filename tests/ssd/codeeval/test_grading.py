"""Grading: LiveCodeBench's comparisons, verdicts on the LCB fixtures, HumanEval's 164 canonical
solutions, hostile programs in the warm runner, the pool, and the rlimits fallback."""

from __future__ import annotations

import uuid

from helpers.sandbox_programs import daemon_program
from helpers.support import ASSETS, REPO, needs_bwrap, strays_left

from ssd.codeeval.benchmarks.humaneval import load_humaneval
from ssd.codeeval.benchmarks.lcb import load_lcb
from ssd.codeeval.grading import STATUSES, compare_stdout, compare_value, grade, grade_many
from ssd.codeeval.problem import Problem
from ssd.sandbox.execution import isolation_info
from ssd.sandbox.harness import Runner

FIXTURE = ASSETS / "lcb" / "problems.jsonl"
PROBLEMS = {p.id: p for p in load_lcb(FIXTURE, version="all")}
LOOP = "while True:\n    pass\n"
# Per fixture problem: (correct, wrong, crashing) programs.
SOLUTIONS = {
    "abc400_a": (
        "a, b = map(int, input().split())\nprint(a + b)",
        "a, b = map(int, input().split())\nprint(a - b)",
        "a, b = map(int, input().split())\nprint(a // (b - b))",
    ),
    "abc401_c": (  # prints 6 decimals; the expected output has 1: equal as Decimals
        "n = int(input())\nprint(f'{sum(map(int, input().split())) / n:.6f}')",
        "n = int(input())\nprint(sum(map(int, input().split())) // n)",
        "n = int(input())\nprint([0][n])",
    ),
    "abc370_b": ("print(input()[::-1])", "print(input())", "print(undefined_name)"),
    "3500": (
        "class Solution:\n    def addToAll(self, nums: List[int], k: int) -> List[int]:\n"
        "        return tuple(x + k for x in nums)",  # a tuple counts as a list, as in LCB
        "class Solution:\n    def addToAll(self, nums, k):\n        return [x - k for x in nums]",
        "class Solution:\n    def addToAll(self, nums, k):\n        return nums[10]",
    ),
    "3400": (
        "class Solution:\n    def isEven(self, n: int) -> bool:\n        return n % 2 == 0",
        "class Solution:\n    def isEven(self, n):\n        return 'yes'",
        "class Solutions:\n    def isEven(self, n):\n        return True",
    ),
}


def test_compare_stdout_is_lcbs():
    assert compare_stdout("3\n", "3")
    assert compare_stdout("  1 2 \n3\n\n", "1 2\n3")  # strips the text and each line
    assert compare_stdout("2.500000\n", "2.5")  # Decimal fallback, per number
    assert compare_stdout("1e2 0.10", "100 0.1")
    assert not compare_stdout("1 2", "1  3")
    assert not compare_stdout("3\n3\n", "3")  # line counts differ
    assert not compare_stdout("50000000000000001", "50000000000000000")  # exact, not isclose
    assert not compare_stdout("YES", "yes")
    assert not compare_stdout("1 2", "1 2 3")


def test_compare_value_is_lcbs():
    assert compare_value("[1, 2]", "[1,2]")
    assert compare_value("true", "true") and compare_value("1", "true")  # 1 == True in Python
    assert not compare_value("[1, 2]", "[2, 1]")
    assert not compare_value(None, "1")
    assert not compare_value('{"unserializable": "set"}', "[1]")


def test_lcb_fixtures_correct_wrong_crashing_and_looping():
    pairs, expected = [], []
    for pid, (good, bad, crash) in SOLUTIONS.items():
        problem = PROBLEMS[pid]
        pairs += [(problem, good), (problem, bad), (problem, crash), (problem, LOOP)]
        expected += ["passed", "wrong_answer", "runtime_error", "timeout"]
    verdicts = grade_many(pairs, timeout_s=1.0, progress=False)
    assert [v.status for v in verdicts] == expected
    for verdict, (problem, _) in zip(verdicts, pairs, strict=True):
        assert verdict.passed == (verdict.status == "passed")
        assert verdict.tests_total == len(problem.tests)
        assert verdict.passed or verdict.reason.startswith(f"test {verdict.tests_passed + 1}/")
    crash = dict(zip(SOLUTIONS, verdicts[2::4], strict=True))
    assert "ZeroDivisionError" in crash["abc400_a"].reason
    assert "IndexError" in crash["abc401_c"].reason
    assert "NameError" in crash["abc370_b"].reason
    assert "IndexError" in crash["3500"].reason
    assert "'Solution'" in crash["3400"].reason
    assert "expected '12" in verdicts[1].reason  # says what was expected and got


def test_first_failure_decides_and_each_test_has_its_own_budget():
    problem = PROBLEMS["abc400_a"]  # inputs "5 7", "-3 3", "100 200"
    pass_fail_crash = (
        "a, b = map(int, input().split())\nprint(a + b if a == 5 else a * b)\nif a == 100: 1 / 0"
    )
    verdict = grade(problem, pass_fail_crash, timeout_s=1.0)
    assert (verdict.status, verdict.tests_passed) == ("wrong_answer", 1)
    slow = "import time\ntime.sleep(0.6)\na, b = map(int, input().split())\nprint(a + b)"
    assert grade(problem, slow, timeout_s=1.0).passed  # 1.8 s in all, under 1 s per test
    slow_second = (
        "import time\na, b = map(int, input().split())\nif a == -3: time.sleep(5)\nprint(a + b)"
    )
    verdict = grade(problem, slow_second, timeout_s=1.0)
    assert (verdict.status, verdict.tests_passed) == ("timeout", 1)


def test_stdin_programs_run_as_scripts():
    problem = PROBLEMS["abc400_a"]
    threaded = (
        "import threading, sys\nthreading.stack_size(1 << 26)\nsys.setrecursionlimit(10**6)\n"
        "def main():\n    a, b = map(int, sys.stdin.readline().split())\n    print(a + b)\n"
        "threading.Thread(target=main).start()"
    )
    exits = "a, b = map(int, input().split())\nprint(a + b)\nexit(1)"  # LCB ignores SystemExit
    main_guard = "if __name__ == '__main__':\n    print(sum(map(int, input().split())))"
    prelude_names = "print(reduce(add, map(int, stdin.readline().split())))"  # LCB's import header
    for code in (threaded, exits, main_guard, prelude_names):
        assert grade(problem, code).passed, code


def test_no_code_and_compile_errors():
    problem = PROBLEMS["3500"]
    assert grade(problem, None).status == "no_code"
    verdict = grade(problem, "class Solution:\n    def addToAll(self, nums, k)\n        pass")
    assert (verdict.status, verdict.tests_passed) == ("compile_error", 0)
    assert "SyntaxError" in verdict.reason


def test_humaneval_canonical_solutions_pass_and_wrong_ones_fail():
    problems = load_humaneval()
    pairs = [(p, p.metadata["canonical_solution"]) for p in problems]
    pairs += [(p, "    return None\n") for p in problems]
    verdicts = grade_many(pairs, timeout_s=3.0, progress=False)
    assert [v.passed for v in verdicts] == [True] * 164 + [False] * 164
    assert all(v.reason for v in verdicts[164:])
    first = problems[0]
    cases = {
        "    return True\n": "wrong_answer",  # check() asserts
        "    import sys; sys.exit(0)\n": "runtime_error",  # ends before check() ran
        "    import os; os._exit(0)\n": "runtime_error",
        "  broken(\n": "compile_error",
        "    while True: pass\n": "timeout",
    }
    for completion, status in cases.items():
        assert grade(first, completion, timeout_s=1.0).status == status, completion


def test_programs_in_one_runner_do_not_see_each_other():
    runner = Runner()
    token = uuid.uuid4().hex
    litter = (
        "import os, time\nopen('/tmp/left-behind', 'w').write('x')\n"
        "if os.fork() == 0:\n    os.setsid()\n    while True:\n"
        f"        open('/tmp/daemon-{token}', 'w').write('x'); time.sleep(0.01)\n"
    )
    try:
        assert next(runner.run(litter, [""], "script")).status == "ok"
        look = "import os, time\ntime.sleep(0.1)\nprint(sorted(os.listdir('/tmp')))"
        seen = next(runner.run(look, [""], "stdin")).stdout
        assert "left-behind" not in seen and f"daemon-{token}" not in seen
    finally:
        runner.close()


def test_runner_recovers_when_a_program_kills_or_stops_its_harness():
    problem = PROBLEMS["abc370_b"]
    verdict = grade(problem, "import os\nos.kill(os.getppid(), 9)")
    assert (verdict.status, verdict.reason) == ("runtime_error", "test 1/2: sandbox exited")
    assert grade(problem, SOLUTIONS["abc370_b"][0]).passed  # a fresh sandbox took over
    runner = Runner(slack_s=0.5)
    try:
        stop = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)"
        assert next(runner.run(stop, ["x"], "stdin", timeout_s=0.5)).status == "timeout"
        assert next(runner.run("print(input())", ["x"], "stdin")).stdout == "x\n"
    finally:
        runner.close()


def test_pool_gives_every_hostile_program_a_verdict_with_a_reason():
    problem = PROBLEMS["abc370_b"]
    hostile = [
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        "x = bytearray(10**10)",
        "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)",
        "import os\nos.kill(os.getppid(), 9)",
        "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)",
        "open('/etc/passwd', 'a').write('pwned')",
        "import os\nos.kill(-1, 9)",
        "\x00",
    ]
    verdicts = grade_many([(problem, code) for code in hostile], timeout_s=1.0, progress=False)
    for code, verdict in zip(hostile, verdicts, strict=True):
        assert not verdict.passed and verdict.reason and verdict.status in STATUSES, code
    assert verdicts[1].status == "memory" and verdicts[2].status == "output_limit"
    assert verdicts[7].status == "compile_error"


def test_rlimits_fallback_grades_alike_and_survives_a_killed_worker():
    problem = PROBLEMS["3500"]
    good, bad, crash = SOLUTIONS["3500"]
    # Without namespaces a program can reach its pool worker (the harness's parent) and kill it.
    kill_worker = (
        "import os\nharness = os.getppid()\n"
        "stat = open(f'/proc/{harness}/stat').read()\n"
        "os.kill(int(stat.rsplit(')', 1)[1].split()[1]), 9)"
    )
    pairs = [(problem, code) for code in (good, bad, crash, LOOP, kill_worker)]
    verdicts = grade_many(pairs, timeout_s=1.0, isolation="rlimits", progress=False)
    statuses = [v.status for v in verdicts]
    assert statuses == ["passed", "wrong_answer", "runtime_error", "timeout", "runtime_error"]
    if isolation_info("rlimits")["uid_drop"]:  # as root the program runs as a fresh uid
        assert verdicts[4].reason == "test 1/3: PermissionError: [Errno 1] Operation not permitted"
    else:
        assert verdicts[4].reason == "the program killed its grader"
    token = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"
    detached = daemon_program(token, then="print(input())")  # passes test 1 ("x")
    verdict = grade(PROBLEMS["abc370_b"], detached, isolation="rlimits")
    assert (verdict.status, verdict.tests_passed) == ("wrong_answer", 0)  # "daemon up" first
    assert strays_left(token) == []  # the harness swept the daemon before answering


@needs_bwrap()
def test_expected_outputs_never_enter_the_sandbox():
    problem = Problem("x", "q", tests=(("1\n", str(uuid.uuid4().int)),))  # 30+ digits
    # Print every long number in any file the program can read under /tmp: had the expected
    # output been staged there, the program would print exactly it and pass. The interpreter's own
    # installation is skipped: a venv that lives under /tmp is re-exposed there, read-only.
    snoop = (
        "import os, re\nhits = set()\n"
        "for root, dirs, files in os.walk('/tmp'):\n"
        "    if 'pyvenv.cfg' in files or root.endswith('site-packages'):\n"
        "        dirs[:] = []\n        continue\n"
        "    for name in files:\n        try:\n"
        "            hits.update(re.findall(r'\\d{30,}', open(os.path.join(root, name)).read()))\n"
        "        except (OSError, UnicodeDecodeError):\n            pass\n"
        "print('\\n'.join(sorted(hits)) or 'none')"
    )
    verdict = grade(problem, snoop)
    assert (verdict.status, verdict.reason) == (
        "wrong_answer",
        f"test 1/1: expected {problem.tests[0][1]!r}, got 'none\\n'",
    )


def test_grading_works_from_a_checkout_the_sandbox_user_cannot_read(tmp_path):
    """The package may live in a 0700 directory (a CI clone in mktemp -d, a home dir): the harness
    modules are staged into the sandbox, not imported from the checkout."""
    import shutil
    import subprocess
    import sys

    private = tmp_path / "private"
    shutil.copytree(REPO / "ssd", private / "ssd")
    private.chmod(0o700)
    code = (
        "from ssd.codeeval.grading import grade; from ssd.codeeval.problem import Problem\n"
        "p = Problem('x', 'q', tests=(('1 2\\n', '3\\n'),))\n"
        "v = grade(p, 'a, b = map(int, input().split())\\nprint(a + b)')\n"
        "import ssd; print(v.status, ssd.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=private, capture_output=True, text=True, timeout=120
    )
    status, origin = out.stdout.split()
    assert status == "passed", out.stderr[-2000:]
    assert origin.startswith(str(private))  # the private copy was the one graded with
