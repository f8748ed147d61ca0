"""MBPP+ (EvalPlus): benchmark `mbpp_plus`, MBPP's sanitized problems with EvalPlus's extra inputs.

`load_mbpp_plus(path)` reads EvalPlus's released `MbppPlus.jsonl.gz` (or .jsonl): rows with
task_id ("Mbpp/2"), prompt (a docstring: the sanitized description and its first assert),
entry_point, canonical_solution, base_input, plus_input, atol and assertion (the original
asserts, kept in metadata). Without a path it reads the hub copy (`evalplus/mbppplus`: the
sanitized schema plus a ready `test` program). The model writes the whole function in a fenced
block; the program is graded by the diff-test of ssd/codeeval/benchmarks/humaneval_plus.py
(which says what of EvalPlus is matched and where this project differs).

Matched (evalplus/data/mbpp.py, evalplus/eval/_special_oracle.py): the inputs are rebuilt
as `mbpp_deserialize_inputs` rebuilds them (tuples, sets, complex numbers for the listed tasks);
the expected outputs are prompt + canonical_solution's; MBPP+'s special oracles: set equality
for the tasks comparing sets, "not None" for the tasks whose outputs are match objects, and the
alternative answers accepted for are_equivalent, sum_div, surface_Area and digit_distance_nums.
Differs: as HumanEval+ (one time limit for the program; the reference runs in the sandbox).
"""

from __future__ import annotations

from pathlib import Path

from ssd.codeeval.benchmarks.base import CodeBenchmark
from ssd.codeeval.benchmarks.humaneval_plus import (
    EXACT,
    EvalPlusFormatError,
    check_row,
    diff_test,
    load_evalplus,
)
from ssd.codeeval.benchmarks.humaneval_plus import REQUIRED as HUMANEVAL_PLUS_REQUIRED
from ssd.codeeval.problem import Problem
from ssd.config.schema import BenchmarkConfig

HF_DATASET = "evalplus/mbppplus"
REQUIRED = (*HUMANEVAL_PLUS_REQUIRED, "assertion")

# Which tasks take tuples (or sets, complex numbers) where JSON can only hold lists.
_TUPLE_ARGS = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596}
_TUPLE_ARGS |= {616, 630, 726, 740, 744, 809}
_TUPLES_IN_ARGS = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_FIRST_TUPLES = {75, 413, 444, 753}
_FIRST_TUPLE = {250, 405, 446, 617, 720, 763, 808}
_NESTED_TUPLES = {259, 401, 445}
_ALL_TUPLES = {580, 615, 791}


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def deserialize_inputs(task: int, inputs: list) -> list:
    """EvalPlus's `mbpp_deserialize_inputs`: the argument lists of task `task` as the functions
    take them (a pure data transformation; it runs on the host)."""
    if task in _TUPLE_ARGS:
        return [[tuple(a) for a in inp] for inp in inputs]
    if task in _TUPLES_IN_ARGS:
        return [[[tuple(x) for x in a] for a in inp] for inp in inputs]
    if task in _FIRST_TUPLES:
        return [[[tuple(x) for x in inp[0]]] + [inp[1]] for inp in inputs]
    if task in (106, 750):
        return [[inp[0]] + [tuple(inp[1])] for inp in inputs]
    if task == 115:  # `{}` for an empty item, as EvalPlus writes it
        return [[[set(x) if isinstance(x, list) and x else {} for x in inp[0]]] for inp in inputs]
    if task == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if task in _FIRST_TUPLE:
        return [[tuple(inp[0])] + [inp[1]] for inp in inputs]
    if task in _NESTED_TUPLES:
        return [[tuple(tuple(x) for x in a) for a in inp] for inp in inputs]
    if task == 278:
        return [[tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])] for inp in inputs]
    if task == 307:
        return [[tuple(inp[0])] + [inp[1], inp[2]] for inp in inputs]
    if task == 722:
        return [[{k: tuple(v) for k, v in inp[0].items()}] + inp[1:] for inp in inputs]
    if task == 252:
        return [[complex(inp[0])] for inp in inputs]
    if task in _ALL_TUPLES:
        return [_tuples(inp) for inp in inputs]
    return inputs


_SET_EQUAL = "def exact(out, exp, inp, atol):\n    return set(out) == set(exp)\n"
_NOT_NONE = """\
def exact(out, exp, inp, atol):
    exp = exp is not None  # EvalPlus keeps only whether the reference returned something
    return out == exp if isinstance(out, bool) else exp == (out is not None)
"""
_SURFACE_AREA = """\
def exact(out, exp, inp, atol):
    base_edge, height = inp
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return out == exp or abs(out - round(base_edge**2 + 4 * (base_edge * slant) / 2)) <= atol
"""
_DIGIT_DISTANCE = """\
def exact(out, exp, inp, atol):
    a, b = (str(n) for n in inp)
    a, b = a.zfill(max(len(a), len(b))), b.zfill(max(len(a), len(b)))
    return out == exp or out == sum(abs(int(x) - int(y)) for x, y in zip(a, b))
"""
SET_TASKS = ("similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly")
SET_TASKS += ("larg_nnum", "intersection_array", "find_dissimilar", "Diff")
# evalplus/eval/__init__.py::unsafe_execute, by entry point (Mbpp/164, 295, 581, 558, ...)
ORACLES = {
    "are_equivalent": "def exact(out, exp, inp, atol):\n    return True\n",
    "sum_div": "def exact(out, exp, inp, atol):\n    return out == exp or out == 0\n",
    "surface_Area": _SURFACE_AREA,
    "digit_distance_nums": _DIGIT_DISTANCE,
    **dict.fromkeys(SET_TASKS, _SET_EQUAL),
    **dict.fromkeys(("check_str", "text_match_three", "text_starta_endb"), _NOT_NONE),
}


def task_number(task_id: str, where: str) -> int:
    """2 for "Mbpp/2"."""
    try:
        return int(task_id.split("/")[-1])
    except ValueError:
        raise EvalPlusFormatError(f"{where}: task_id {task_id!r} is not Mbpp/<number>") from None


def parse_row(row: object, where: str) -> Problem:
    """One MbppPlus row -> Problem: the answer is the whole program, diff-tested on every input."""
    row = check_row(row, where, REQUIRED)
    task, entry = task_number(row["task_id"], where), row["entry_point"]
    try:
        base = deserialize_inputs(task, row["base_input"])
        plus = deserialize_inputs(task, row["plus_input"])
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise EvalPlusFormatError(f"{where}: inputs of {row['task_id']}: {exc}") from exc
    reference = row["prompt"] + row["canonical_solution"]
    frame = diff_test(reference, entry, base, plus, row["atol"], ORACLES.get(entry, EXACT))
    return Problem(
        id=row["task_id"],
        question=row["prompt"],
        testtype="check",
        metadata={
            **frame,
            "entry_point": entry,
            "canonical_solution": row["canonical_solution"],
            "assertion": row["assertion"],
            "n_inputs": [len(base), len(plus)],
            "source": where,
        },
    )


def parse_hub_row(row: dict, where: str) -> Problem:
    """A row of the hub copy (task_id as a number, code, prompt, test_imports, test_list, test):
    its `test` holds inputs, expected outputs and the asserts, and runs after the answer."""
    keys = ("task_id", "prompt", "code", "test_imports", "test_list", "test")
    if missing := [k for k in keys if k not in row]:
        raise EvalPlusFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    imports = "".join(line + "\n" for line in row["test_imports"])
    return Problem(
        id=f"Mbpp/{row['task_id']}",
        question=f'"""\n{row["prompt"]}\n{row["test_list"][0]}\n"""\n',  # as the release's prompt
        testtype="check",
        metadata={
            "program_prefix": "",
            "test": imports + row["test"],
            "test_call": "",
            "canonical_solution": row["code"],
        },
    )


def load_mbpp_plus(path: str | Path | None = None) -> list[Problem]:
    """Load MBPP+ (378 problems in EvalPlus's v0.2.0 release).

    Args:
        path: `MbppPlus.jsonl.gz` or `.jsonl` as EvalPlus releases it; None reads the hub.

    Raises:
        EvalPlusFormatError: A malformed row or a duplicate task_id (names file and line).
        FileNotFoundError: `path` does not exist.
    """
    return load_evalplus(path, HF_DATASET, parse_row, parse_hub_row)


def _load(bench: BenchmarkConfig) -> list[Problem]:
    return load_mbpp_plus(bench.path)


# Whole programs in fenced blocks; one program runs the reference and the answer on every input.
MBPP_PLUS = CodeBenchmark("mbpp_plus", _load, "task_id", False, HF_DATASET, default_timeout_s=20.0)
