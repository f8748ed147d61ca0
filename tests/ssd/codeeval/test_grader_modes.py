"""Grader modes (ssd/codeeval/rules.py): each mode's verdict on a table of edge cases, run for
real in the sandbox, and per-mode pass@1 on the shipped LCB fixtures.

Each case says what the official code does: ml_ssd = apple/ml-ssd evaluation/benchmark.py with its
livecodebench_utils.py, lcb = LiveCodeBench lcb_runner/evaluation/testing_util.py.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from helpers.support import ASSETS

from ssd.codeeval.benchmarks.lcb import load_lcb
from ssd.codeeval.compare import ModeComparison, compare_modes
from ssd.codeeval.grading import grade, grade_many, select_tests
from ssd.codeeval.problem import Problem
from ssd.codeeval.rules import RULES, lcb_extract, ml_ssd_extract
from ssd.config.choices import Grader
from ssd.sandbox.official import LCB_IMPORT_STRING, clean_if_name, make_function

SUM = ("1 2\n", "3\n")  # the public test of the sum problems
SUM_PRIVATE = (("5 7\n", "12\n"), ("-3 3\n", "0\n"))
SUM_OK = "a, b = map(int, input().split())\nprint(a + b)"


def stdin_problem(private=SUM_PRIVATE, public=(SUM,)) -> Problem:
    tests = (*public, *private)
    return Problem("p", "q", tests=tests, metadata={"n_public": len(public)})


def functional(expected: str, func: str = "f") -> Problem:
    tests = (("[9]", "[3]"), ("[1, 2]", expected))  # public, then one private test
    return Problem("f", "q", tests=tests, testtype="functional", func_name=func,
                   metadata={"n_public": 1})  # fmt: skip


def fenced(code: str, tag: str = "python") -> str:
    return f"Here it is:\n```{tag}\n{code}\n```\n"


def method(body: str) -> str:
    return fenced(f"class Solution:\n    def f(self, xs):\n        {body}")


@dataclass(frozen=True)
class Case:
    name: str
    problem: Problem
    completion: str
    passes: dict[str, bool]  # grader -> verdict
    why: str


def P(strict: bool, ml_ssd: bool, lcb: bool) -> dict[str, bool]:  # noqa: N802 (a table column)
    return {"strict": strict, "ml_ssd": ml_ssd, "lcb": lcb}


CASES = [
    Case("main_guard_last", stdin_problem(),
         fenced(f"def main():\n    {SUM_OK.replace(chr(10), chr(10) + '    ')}\n"
                "if __name__ == '__main__':\n    main()"), P(True, True, True),
         "clean_if_name unwraps a final `if __name__ == '__main__':` (both official graders)"),
    Case("main_guard_not_last", stdin_problem(),
         fenced(f"if __name__ == '__main__':\n    {SUM_OK.replace(chr(10), chr(10) + '    ')}\n"
                "DONE = True"), P(True, False, False),
         "only the LAST statement is unwrapped; the module is tmp_sol, so the guard is False"),
    Case("open_0", stdin_problem(), fenced("print(sum(map(int, open(0).read().split())))"),
         P(True, True, False), "open is patched with mock_open(read_data=input), but lcb's "
         "import_string did `from builtins import *`: the module's own `open` is the real one, "
         "reading its worker's empty stdin"),
    Case("exit_after_output", stdin_problem(), fenced(SUM_OK + "\nexit()"), P(True, False, True),
         "ml-ssd's reliability_guard sets builtins.exit = None (TypeError); lcb_runner comments "
         "that line out and call_method swallows SystemExit"),
    Case("sys_exit_after_output", stdin_problem(), fenced("import sys\n" + SUM_OK + "\nsys.exit(0)"),
         P(True, True, True), "SystemExit is caught by call_method in both"),
    Case("float_decimal", stdin_problem(((("1 2\n", "1.5\n"),)), ()),
         fenced("a, b = map(int, input().split())\nprint(f'{(a + b) / 2:.6f}')"), P(True, True, True),
         "per-line Decimal fallback: 1.500000 == 1.5"),
    Case("trailing_space", stdin_problem(), fenced("a, b = map(int, input().split())\nprint(a + b, '')"),
         P(True, True, True), "each line is stripped before comparing"),
    Case("several_fences", stdin_problem(), fenced("print(0)") + fenced(SUM_OK), P(True, True, True),
         "the last fenced block is graded (ml-ssd: code_filter_result[-1])"),
    Case("fence_tag_python3", stdin_problem(), fenced(SUM_OK, "python3"), P(True, False, True),
         "ml-ssd's has_code regex allows letters only in the tag: no code found"),
    Case("public_test_wrong", stdin_problem(),
         fenced("a, b = map(int, input().split())\nprint(4 if (a, b) == (1, 2) else a + b)"),
         P(True, True, False), "ml-ssd grades private tests only; lcb_runner public + private"),
    Case("global_in_function", stdin_problem(),
         fenced("total = 0\ndef add(x):\n    global total\n    total += x\n"
                "for x in map(int, input().split()):\n    add(x)\nprint(total)"),
         P(True, False, False), "make_function puts `total` inside wrapped_function: NameError"),
    Case("stdin_buffer", stdin_problem(),
         fenced("import sys\nprint(sum(map(int, sys.stdin.buffer.read().split())))"),
         P(True, True, True), "both MockStdinWithBuffer classes have .buffer (livecodebench_utils.py:"
         "108, testing_util.py:78)"),
    Case("readline_drops_newline", stdin_problem(((("abc\n", "abc\n"),)), ()),
         fenced("import sys\nprint(sys.stdin.readline()[:-1])"), P(True, True, True),
         "the readline patch lands on the real stdin (entered before sys.stdin is replaced); the "
         "mock's own readline is StringIO's, newline kept"),
    Case("bare_stdin_name", stdin_problem(), fenced("print(sum(map(int, stdin.readline().split())))"),
         P(True, False, True), "lcb: `from sys import *` bound the real stdin, whose readline "
         "the misordered patch replaced with the input's lines; ml-ssd imports no `stdin`"),
    Case("deep_recursion", stdin_problem(((("3000\n", "3000\n"),)), ()),
         fenced("def d(n):\n    return 0 if n == 0 else 1 + d(n - 1)\nprint(d(int(input())))"),
         P(True, False, True), "lcb's import_string raises the recursion limit to 50000; "
         "ml-ssd's BASE_IMPORTS does not (1000)"),
    Case("tuple_return", functional("[2, 1]"), method("return (2, 1) if xs != [9] else (3,)"),
         P(True, True, True), "a returned tuple becomes a list before comparing (both)"),
    Case("nested_tuple", functional("[[1, 2]]"), method("return [(1, 2)] if xs != [9] else [3]"),
         P(True, False, False), "lcb: [(1, 2)] != [[1, 2]] in Python; ml-ssd: '[(1, 2)]' as text"),
    Case("float_in_list", functional("[2]"), method("return [2.0] if xs != [9] else [3]"),
         P(True, False, True), "lcb: [2.0] == [2]; ml-ssd compares str '[2.0]' with '[2]'"),
    Case("bool_return", functional("true"), method("return True"), P(True, True, False),
         "the public test wants [3]: lcb fails it; ml-ssd compares 'True' with str(True)"),
    Case("no_solution_class", functional("[3]"), fenced("def f(xs):\n    return [3]"),
         P(False, True, True), "no 'class Solution' in the code: both official tools call the "
         "module's function (livecodebench_utils.py:533, testing_util.py:205); strict wants the "
         "class"),
]  # fmt: skip


@pytest.fixture(scope="module")
def verdicts() -> dict[tuple[str, str], object]:
    pairs, keys = [], []
    for mode in Grader:
        for case in CASES:
            problem = replace(case.problem, id=case.name)  # the pool keys problems by id
            pairs.append((problem, RULES[mode].extract_code(case.completion)))
            keys.append((mode.value, case.name))
    out = {}
    for mode in Grader:  # one pool per mode: its rules
        idx = [i for i, k in enumerate(keys) if k[0] == mode.value]
        got = grade_many([pairs[i] for i in idx], timeout_s=2.0, rules=RULES[mode], progress=False)
        out.update({keys[i]: v for i, v in zip(idx, got, strict=True)})
    return out


@pytest.mark.parametrize("mode", [m.value for m in Grader])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verdict_per_mode(case: Case, mode: str, verdicts) -> None:
    verdict = verdicts[(mode, case.name)]
    assert verdict.passed is case.passes[mode], f"{case.why}: {verdict}"


def test_ml_ssd_global_budget_lets_a_slow_test_pass() -> None:
    # ml-ssd joins its worker after (timeout + 1) * n + 5 s and sets no per-test alarm.
    slow = "import time\ntime.sleep(1.5)\n" + SUM_OK
    problem = stdin_problem(((("1 2\n", "3\n"),)), ())
    assert grade(problem, slow, timeout_s=1.0, rules=RULES[Grader.ml_ssd]).passed
    assert grade(problem, slow, timeout_s=1.0, rules=RULES[Grader.lcb]).status == "timeout"
    assert grade(problem, slow, timeout_s=1.0, rules=RULES[Grader.strict]).status == "timeout"


def test_test_selection_and_its_guard() -> None:
    problem = stdin_problem()
    assert select_tests(problem, "private") == SUM_PRIVATE
    assert select_tests(problem, "public+private") == (SUM, *SUM_PRIVATE)
    private_only = Problem("p", "q", tests=SUM_PRIVATE)
    with pytest.raises(ValueError, match="public tests"):
        select_tests(private_only, "public+private")


def test_rewrites_are_the_official_ones() -> None:
    assert clean_if_name('x = 1\nif __name__ == "__main__":\n    print(x)') == "x = 1\nprint(x)"
    kept = "if __name__ == '__main__':\n    print(1)\ny = 2"
    assert clean_if_name(kept) == kept
    wrapped = make_function("import sys\nprint(1)", LCB_IMPORT_STRING)
    assert wrapped.startswith(LCB_IMPORT_STRING + "\nimport sys\ndef wrapped_function():\n")
    assert make_function("def (:", "") == "def (:"  # unparsable: as is, so it fails to compile


def test_extraction_is_the_official_ones() -> None:
    text = "a\n``` python\nprint(1)\n```\nsee ``` above\n"
    # has_code: letters only, then a newline: the space-tagged block is no block, but the
    # closing fence and the inline one after it are
    assert ml_ssd_extract(text) == "see "
    assert ml_ssd_extract("``` python\nprint(1)\n```\n") is None
    assert lcb_extract(text) == ""  # the last two ``` lines are the closing one and the prose
    assert RULES[Grader.lcb].extract_code(text) is None  # graded there as "", which fails
    assert lcb_extract("```python\nx = 1\n```\nthe ``` fence\n") == ""  # window moved
    assert lcb_extract("```\ny\n```") == "y" and lcb_extract("no fence") is None
    assert ml_ssd_extract("```python\nx = 1\n```python\ny\n```") == "x = 1\n"
    assert ml_ssd_extract("```py\n<code>z</code>\n```") == "z"


EDGE = ASSETS / "lcb"
SAMPLES = [json.loads(line) for line in (EDGE / "edge_samples.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def comparison() -> ModeComparison:
    problems = {p.id: p for p in load_lcb(EDGE / "edge_problems.jsonl", "v6", "public+private")}
    samples = [(row["question_id"], row["completion"]) for row in SAMPLES]
    return compare_modes(problems, samples, timeout_s=2.0, progress=False)


def test_edge_fixture_verdicts_per_mode(comparison: ModeComparison) -> None:
    for mode, verdicts in comparison.verdicts.items():
        for row, verdict in zip(SAMPLES, verdicts, strict=True):
            assert verdict.passed is row["expect"][mode], f"{mode}: {row['why']}: {verdict}"


def test_pass_rate_and_disagreements_follow_the_verdicts(comparison: ModeComparison) -> None:
    n = len(SAMPLES)
    want = {m: sum(r["expect"][m] for r in SAMPLES) / n for m in comparison.verdicts}
    assert comparison.pass_rate() == pytest.approx(want)
    assert len(set(want.values())) == 3  # the fixture separates all three modes
    counts = comparison.disagreements()
    assert counts["strict vs ml_ssd"] == sum(
        r["expect"]["strict"] != r["expect"]["ml_ssd"] for r in SAMPLES
    )
    assert counts["ml_ssd vs lcb"] == sum(
        r["expect"]["ml_ssd"] != r["expect"]["lcb"] for r in SAMPLES
    )
    rows = comparison.disagreeing_rows()
    assert [r["sample"] for r in rows] == [
        i for i, r in enumerate(SAMPLES) if len(set(r["expect"].values())) > 1
    ]
    assert rows[0]["ml_ssd"] == "runtime_error"  # exit() is None there: a TypeError


def test_pass_at_1_per_mode_on_shipped_fixture() -> None:
    """The original five fixture problems with their canonical programs pass in every mode."""
    spec = importlib.util.spec_from_file_location(
        "_grading", Path(__file__).with_name("test_grading.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its SOLUTIONS table: (correct, wrong, crashing) per problem
    SOLUTIONS = module.SOLUTIONS  # noqa: N806
    problems = load_lcb(ASSETS / "lcb" / "problems.jsonl", "all", "public+private")
    samples = [(p.id, f"```python\n{SOLUTIONS[p.id][0]}\n```") for p in problems]
    wrong = [(p.id, f"```python\n{SOLUTIONS[p.id][1]}\n```") for p in problems]
    table = compare_modes(
        {p.id: p for p in problems}, samples + wrong, timeout_s=2.0, progress=False
    )
    assert table.pass_rate() == {m.value: 0.5 for m in Grader}
    assert set(table.disagreements().values()) == {0}
