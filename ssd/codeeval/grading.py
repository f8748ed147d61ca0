"""Grade programs against a problem's tests: one at a time, or many in a process pool.

`grade(problem, code)` returns a `Verdict`; `grade_many(pairs)` grades (problem, code) pairs in
parallel with a progress bar. Programs run in `ssd.sandbox.harness`'s warm sandbox: under strict a
forked worker per test with its own time budget; under ml_ssd / lcb one forked worker per program
running all its tests as that official tool's child process does (`ssd.sandbox.official`). All stop
at the first failure; expected outputs and the comparison stay here, outside the sandbox.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from multiprocessing.util import Finalize

from tqdm import tqdm

from ssd.codeeval.problem import Problem, check_program
from ssd.codeeval.rules import LCB_PRELUDE, OFFICIAL_MEMORY_MB, RULES, GradingRules
from ssd.config.choices import Grader
from ssd.sandbox.harness import close_runners, runner

__all__ = ["LCB_PRELUDE", "STATUSES", "Verdict", "grade", "grade_many"]

STATUSES = (
    "passed",
    "wrong_answer",
    "runtime_error",
    "timeout",
    "memory",
    "output_limit",
    "no_code",
    "compile_error",
)


@dataclass(frozen=True)
class Verdict:
    """The grade of one program.

    Attributes:
        passed: All tests passed.
        status: One of STATUSES ("passed" iff passed).
        reason: Short human-readable why, e.g. "test 3/20: expected '5', got '4'".
        tests_passed: Tests passed before the first failure.
        tests_total: Tests of the problem (HumanEval: 1, its check()).
        wall_s: Seconds the tests ran.
        grader: Whose rule decided it (`GradingRules.provenance`: for ml_ssd and lcb, the
            official repository and the commit whose verdict this reproduces).
    """

    passed: bool
    status: str
    reason: str
    tests_passed: int
    tests_total: int
    wall_s: float = 0.0
    grader: str = ""


def compare_stdout(got: str, expected: str) -> bool:
    """LiveCodeBench's stdin comparison: strip, split lines, strip each; equal line counts; each
    line equal as text or, failing that, as whitespace-separated Decimals."""
    got_lines = [line.strip() for line in got.strip().split("\n")]
    want_lines = [line.strip() for line in expected.strip().split("\n")]
    if len(got_lines) != len(want_lines):
        return False
    for got_line, want_line in zip(got_lines, want_lines, strict=True):
        if got_line == want_line:
            continue
        try:
            if [Decimal(x) for x in got_line.split()] != [Decimal(x) for x in want_line.split()]:
                return False
        except (InvalidOperation, ValueError):
            return False
    return True


def compare_ml_ssd_value(got: str | None, expected: str) -> bool:
    """ml-ssd's functional comparison (livecodebench_utils.py:614-652 then :545-553): the
    expected output stripped and JSON-parsed (else kept as text), then str() of it against
    str(prediction) (the worker sends that string) by compare_stdout's rule."""
    if got is None:
        return False
    want_text = expected.strip()
    try:
        want = json.loads(want_text)
    except (ValueError, RecursionError):
        want = want_text.strip()
    return compare_stdout(got, want if isinstance(want, str) else str(want))


def compare_lcb_value(got_json: str | None, expected_json: str) -> bool:
    """lcb_runner's functional comparison (testing_util.py:249, :265-274, then
    compute_code_generation_metrics.py:73-80): `prediction == json.loads(expected)`, truthy;
    a numpy array's elementwise answer counts by its first item when it has exactly one
    (an ambiguous truth value is a runtime error there)."""
    if got_json is None:
        return False
    try:
        want, got = _expected_json(expected_json), _lcb_json(got_json)
    except (ValueError, RecursionError):
        return False
    if "__ssd_" not in got_json:  # no tagged value inside: plain Python == (C speed)
        try:
            return bool(got == want)
        except Exception:  # noqa: BLE001
            return False
    if isinstance(got, dict) and "__ssd_unequal__" in got:
        return False
    if isinstance(got, dict) and "__ssd_ndarray__" in got:
        import numpy as np

        try:
            result = np.array(got["__ssd_ndarray__"], dtype=got.get("dtype")) == want
            if isinstance(result, np.ndarray):
                return result.size == 1 and bool(result.item(0))
            return bool(result)
        except (TypeError, ValueError, DeprecationWarning):
            return False
    return _equal(got, want)


@functools.lru_cache(maxsize=64)
def _expected_json(text: str):
    """The parsed expected output, shared by every completion of a problem that this process
    grades (never mutated: == only reads it)."""
    return _lcb_json(text)


def _lcb_json(text: str):
    """json.loads under lcb_runner's raised int-to-str limit (50000 digits,
    compute_code_generation_metrics.py:7), whatever this process's own."""
    try:
        return json.loads(text)
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        return json.loads(text, parse_int=_lcb_int)


def _lcb_int(text: str) -> int:
    """int(text) under lcb_runner's limit (compute_code_generation_metrics.py:7), whatever this
    process's own."""
    if len(text.lstrip("-")) > 50000:
        raise ValueError("Exceeds the limit (50000 digits) for integer string conversion")
    return int(Decimal(text))


def _equal(got, want) -> bool:
    """Python ==, except that a tagged value (a tuple inside a list, a set...) is never equal."""
    if isinstance(got, dict) and ("__ssd_unequal__" in got or "__ssd_ndarray__" in got):
        return False
    if isinstance(got, list):
        return (
            isinstance(want, list)
            and len(got) == len(want)
            and all(_equal(a, b) for a, b in zip(got, want, strict=True))
        )
    if isinstance(got, dict):
        return (
            isinstance(want, dict)
            and got.keys() == want.keys()
            and all(_equal(got[k], want[k]) for k in got)
        )
    try:
        return bool(got == want)
    except Exception:  # noqa: BLE001  (an exotic == fails there too: a runtime error)
        return False


def compare_value(got_json: str | None, expected_json: str) -> bool:
    """strict's functional comparison: the JSON round trip of the return value == the
    JSON-parsed expected output (tuples anywhere count as lists)."""
    if got_json is None:
        return False
    try:
        return json.loads(got_json) == json.loads(expected_json)
    except (ValueError, RecursionError):
        return False


def _short(text: str, n: int = 80) -> str:
    return repr(text if len(text) <= n else text[: n // 2] + " ... " + text[-n // 2 :])


def select_tests(problem: Problem, which: str) -> tuple[tuple[str, str], ...]:
    """The tests `which` ("private" / "public+private") names; load_lcb records how many of a
    problem's tests are public (metadata n_public) when it loads both."""
    if which == "private":
        return problem.tests[problem.metadata.get("n_public", 0) :]
    if "n_public" not in problem.metadata:
        raise ValueError(f"problem {problem.id}: loaded without its public tests")
    return problem.tests


def grade(
    problem: Problem,
    code: str | None,
    timeout_s: float = 6.0,
    memory_mb: int = 1024,
    isolation: str | None = None,
    rules: GradingRules = RULES[Grader.strict],
) -> Verdict:
    """Grade one program under one grader mode's rules (ssd.codeeval.rules).

    Args:
        problem: The problem; its testtype picks the protocol.
        code: The program (LCB) or completion (HumanEval); None when no code was found.
        timeout_s: Per test (strict; lcb: its signal.alarm) and the base of the program's
            budget (5 + (timeout_s + 1) per test: the official tools' global timeout), or for
            the whole program (HumanEval).
        memory_mb: Address-space limit (official modes: at least OFFICIAL_MEMORY_MB).
        isolation: Sandbox isolation, as in `ssd.sandbox.execution.run_program`.
        rules: Test selection, extraction, how the tests run, comparison and timeout policy.
    """
    verdict = _grade(problem, code, timeout_s, memory_mb, isolation, rules)
    return replace(verdict, grader=rules.provenance)


def _grade(
    problem: Problem,
    code: str | None,
    timeout_s: float,
    memory_mb: int,
    isolation: str | None,
    rules: GradingRules,
) -> Verdict:
    check = problem.testtype == "check"
    tests = (("", ""),) if check else select_tests(problem, rules.tests)
    total = len(tests)
    if total == 0:  # all([]) would pass anything
        raise ValueError(f"problem {problem.id} has no tests")
    if code is None:
        return Verdict(False, "no_code", "no code block in the answer", 0, total)
    cases = _run(problem, code, [t[0] for t in tests], timeout_s, memory_mb, isolation, rules)
    wall, passed = 0.0, 0
    with contextlib.closing(cases):
        for case, (_, expected) in zip(cases, tests, strict=False):
            wall += case.wall_s
            where = "" if check else f"test {passed + 1}/{total}: "
            if case.status != "ok":
                status, kind = case.status, case.error.split(":")[0]
                if check and status == "runtime_error" and kind == "AssertionError":
                    status = "wrong_answer"  # HumanEval's check() asserts
                reason = case.error if status == "compile_error" else where + case.error
                return Verdict(False, status, reason or status, passed, total, wall)
            ok, got = _compare(problem, case, expected, rules)
            if not ok:
                reason = f"{where}expected {_short(expected)}, got {_short(got)}"
                return Verdict(False, "wrong_answer", reason, passed, total, wall)
            passed += 1
    if passed < total:  # the runner always reports a reason first; never count this a pass
        return Verdict(False, "runtime_error", "sandbox returned too few results", passed, total)
    return Verdict(True, "passed", "", passed, total, wall)


def _run(
    problem: Problem,
    code: str,
    inputs: list[str],
    timeout_s: float,
    memory_mb: int,
    isolation: str | None,
    rules: GradingRules,
):
    """The sandbox's results, one per input, for the program under `rules`."""
    if problem.testtype == "check":
        program = check_program(problem, code)
        return runner(memory_mb, isolation).run(program, [""], "script", None, timeout_s)
    if rules.official:
        spec = {"grader": rules.official, "testtype": problem.testtype}
        spec["func_name"] = problem.func_name if problem.testtype == "functional" else None
        box = runner(max(memory_mb, OFFICIAL_MEMORY_MB), isolation)
        return box.run(code, inputs, "stdin", None, timeout_s, official=spec)
    return runner(memory_mb, isolation).run(
        code, inputs, problem.testtype, problem.func_name, timeout_s, rules.prelude
    )


def _compare(problem: Problem, case, expected: str, rules: GradingRules) -> tuple[bool, str]:
    """(passed, what the program gave) for one test that ran to its end."""
    if problem.testtype == "check":
        return True, ""  # a check program passes by running to the end
    if problem.testtype == "stdin":
        return compare_stdout(case.stdout, expected), case.stdout
    compare = {"ml_ssd": compare_ml_ssd_value, "lcb": compare_lcb_value}.get(
        rules.official or "", compare_value
    )
    return compare(case.value, expected), str(case.value)


def grade_many(
    pairs: Sequence[tuple[Problem, str | None]],
    timeout_s: float = 6.0,
    memory_mb: int = 1024,
    isolation: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    rules: GradingRules = RULES[Grader.strict],
) -> list[Verdict]:
    """Grade (problem, code) pairs in a process pool; verdicts come back in input order.

    Every pair gets a verdict whatever its program does. Should a program kill its grading
    worker (possible only under the rlimits fallback), the pairs in flight are regraded one per
    pool, and one that kills its worker again is marked runtime_error.

    Args:
        pairs: (problem, code or None) pairs; several may share a problem.
        timeout_s, memory_mb, isolation, rules: As in `grade`.
        workers: Pool size; default os.cpu_count().
        progress: Show a tqdm progress bar (stderr).
    """
    if not pairs:
        return []
    options = (timeout_s, memory_mb, isolation, rules)
    verdicts: list[Verdict | None] = [None] * len(pairs)
    todo = list(range(len(pairs)))
    with tqdm(total=len(pairs), disable=not progress, desc="grading", unit="prog") as bar:
        for attempt in range(2):
            batches, todo = ([todo] if attempt == 0 else [[i] for i in todo]), []
            for batch in batches:
                problems = {pairs[i][0].id: pairs[i][0] for i in batch}  # sent once per worker
                size = min(workers or os.cpu_count() or 1, len(batch))
                with ProcessPoolExecutor(
                    size, initializer=_init_worker, initargs=(problems,)
                ) as pool:
                    futures = {
                        pool.submit(_grade_task, pairs[i][0].id, pairs[i][1], options): i
                        for i in batch
                    }
                    try:
                        for future in as_completed(futures):
                            try:
                                verdicts[futures[future]] = future.result()
                                bar.update()
                            except BrokenProcessPool:
                                todo.append(futures[future])
                    except BaseException:  # Ctrl-C, SIGTERM: stop now, not after the queue
                        _abandon(pool)
                        raise
        for i in todo:
            problem = pairs[i][0]
            total = 1 if problem.testtype == "check" else len(select_tests(problem, rules.tests))
            verdicts[i] = Verdict(
                False,
                "runtime_error",
                "the program killed its grader",
                0,
                total,
                0.0,
                rules.provenance,
            )
            bar.update()
    return verdicts  # type: ignore[return-value]


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued programs and kill the workers, so leaving the pool does not wait.

    A worker survives SIGTERM here (its task catches the SystemExit and the worker takes the next
    program), and `shutdown(wait=True)` would grade every queued program first: minutes. Killed
    workers leave their sandboxed programs to the timeouts and rlimits that bound them anyway.
    """
    workers = list((getattr(pool, "_processes", None) or {}).values())  # no public API
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)


_WORKER_PROBLEMS: dict[str, Problem] = {}


def _init_worker(problems: dict[str, Problem]) -> None:
    _WORKER_PROBLEMS.update(problems)
    # Pool workers end without atexit hooks; this closes their sandbox (and its staging dir),
    # also when a broken pool terminates them with SIGTERM.
    Finalize(None, close_runners, exitpriority=10)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def _grade_task(problem_id: str, code: str | None, options: tuple) -> Verdict:
    return grade(_WORKER_PROBLEMS[problem_id], code, *options)
