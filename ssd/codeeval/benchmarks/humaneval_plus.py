"""HumanEval+ (EvalPlus, Liu et al. 2023): benchmark `humaneval_plus`, and EvalPlus's diff-testing.

`load_humaneval_plus(path)` reads EvalPlus's released `HumanEvalPlus.jsonl.gz` (or .jsonl): rows
with task_id, prompt, entry_point, canonical_solution, base_input, plus_input and atol (contract
unused, as EvalPlus's evaluator leaves it out). Without a path it reads the hub copy
(`evalplus/humanevalplus`, whose rows carry a ready `test` instead: graded as HumanEval's).
`diff_test(...)` builds the graded program's frame; ssd/codeeval/benchmarks/mbpp_plus.py reuses it.

Matched (evalplus/evaluate.py, evalplus/eval/__init__.py): the expected outputs are the canonical
solution's (prompt + canonical_solution, inputs deep-copied) on base_input then plus_input; a
sample passes only when every base and plus input matches (EvalPlus's "plus" verdict, stopping
at the first failure); outputs match when equal or, with atol (1e-6 when atol is 0 and the
expected value is floats, per test set), when of the same type and length and close as
`np.allclose(rtol=1e-7)`; find_zero is judged by |poly(xs, x)| <= atol; what the calls print
is swallowed; the sample's globals are its own (the reference and the checker each run in a
namespace of their own, as EvalPlus execs the sample in a fresh one).
Differs: the reference runs inside the sandbox, in the same program as the sample and before it
(EvalPlus runs it on the host once and caches the outputs); one time limit covers
the whole program, reference included (EvalPlus: per input max(4 s, 4x the reference's time),
at most 60 s a task), so give `eval.benchmark.timeout_s` room (`ssd grade`: 20 s); allclose is
pure Python over numbers and nested lists/tuples (no broadcasting, no numpy in the sandbox);
the base-only score is not reported.
"""

from __future__ import annotations

import base64
import pickle
from pathlib import Path

from ssd.codeeval.benchmarks.base import CodeBenchmark, hub_rows, jsonl_rows
from ssd.codeeval.problem import Problem
from ssd.config.schema import BenchmarkConfig

HF_DATASET = "evalplus/humanevalplus"
REQUIRED = (
    "task_id",
    "prompt",
    "entry_point",
    "canonical_solution",
    "base_input",
    "plus_input",
    "atol",
)

# The checker, a module of its own: exec'd before the sample in a namespace of its own, so that
# neither the reference's helpers nor the sample's globals (a `list = [...]`, a `def check`) meet
# its names. It runs the reference on every input first, then `check(candidate)` compares.
CHECKER = """\
import base64, cmath, contextlib, math, pickle


def copy(value):  # deep, and 3x faster than copy.deepcopy on large inputs
    return pickle.loads(pickle.dumps(value))


reference = {"__name__": "_ssd_reference"}
exec(compile(REFERENCE, "<reference>", "exec"), reference)
cases = [
    (kind, i, len(args), inp, reference[ENTRY_POINT](*copy(inp)))
    for kind, args in pickle.loads(base64.b64decode(PAYLOAD))
    for i, inp in enumerate(args)
]


def is_floats(x):
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


def close(out, exp, atol):
    # np.allclose(out, exp, rtol=1e-07, atol=atol) over numbers and nested lists/tuples
    if isinstance(out, (list, tuple)) or isinstance(exp, (list, tuple)):
        return (
            isinstance(out, (list, tuple)) and isinstance(exp, (list, tuple))
            and len(out) == len(exp) and all(close(o, e, atol) for o, e in zip(out, exp))
        )
    if not all(isinstance(v, (int, float, complex)) for v in (out, exp)):
        return False
    if out == exp:
        return True
    try:
        if not (cmath.isfinite(out) and cmath.isfinite(exp)):
            return False
    except OverflowError:
        return False
    return abs(out - exp) <= atol + 1e-07 * abs(exp)


def short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:30] + " ... " + text[-25:]


class Sink:
    def write(self, text):
        return len(text)

    def flush(self):
        pass


def check(candidate):
    tolerance = {}
    for kind, i, n, inp, exp in cases:
        with contextlib.redirect_stdout(Sink()), contextlib.redirect_stderr(Sink()):
            out = candidate(*copy(inp))
        atol = tolerance.setdefault(kind, ATOL)
        try:
            ok = bool(exact(out, exp, inp, atol))
        except Exception:  # an output the comparison cannot take (set() of an int): no match
            ok = False
        if not FINAL:
            if atol == 0 and is_floats(exp):  # EvalPlus keeps it for the rest of the set
                atol = tolerance[kind] = 1e-6
            if not ok and atol != 0:
                ok = (
                    type(out) == type(exp)
                    and (not isinstance(exp, (list, tuple)) or len(out) == len(exp))
                    and close(out, exp, atol)
                )
        if not ok:
            raise AssertionError(
                f"{kind} input {i + 1}/{n}: expected {short(exp)}, got {short(out)}"
            )
"""

# The program's first lines: the checker's inputs, then the checker itself.
_PREFIX = """\
_ssd_check = {{"REFERENCE": {reference!r}, "ENTRY_POINT": {entry!r}, "PAYLOAD": {payload!r},
              "ATOL": {atol!r}, "FINAL": {final!r}}}
exec(compile({checker!r}, "<check>", "exec"), _ssd_check)
_ssd_check = _ssd_check["check"]
"""

EXACT = "def exact(out, exp, inp, atol):\n    return out == exp\n"
# HumanEval/32: any root will do (evalplus/eval/_special_oracle.py::_poly)
FIND_ZERO = """\
def exact(out, exp, inp, atol):
    return abs(sum(c * math.pow(out, i) for i, c in enumerate(inp[0]))) <= atol
"""


class EvalPlusFormatError(ValueError):
    """A row that does not follow EvalPlus's released schema; says where it is."""


def check_row(row: object, where: str, required: tuple[str, ...]) -> dict:
    """The row, once its fields are there and typed as EvalPlus ships them."""
    if not isinstance(row, dict):
        raise EvalPlusFormatError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [k for k in required if k not in row]
    if missing:
        raise EvalPlusFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    for key in ("task_id", "prompt", "entry_point", "canonical_solution"):
        if not isinstance(row[key], str) or (key != "prompt" and not row[key]):
            raise EvalPlusFormatError(f"{where}: {key} must be a non-empty string")
    for key in ("base_input", "plus_input"):
        if not isinstance(row[key], list) or not all(isinstance(a, list) for a in row[key]):
            raise EvalPlusFormatError(f"{where}: {key} must be a list of argument lists")
    if not row["base_input"] + row["plus_input"]:
        raise EvalPlusFormatError(f"{where}: no inputs")
    if not isinstance(row["atol"], (int, float)) or isinstance(row["atol"], bool):
        raise EvalPlusFormatError(f"{where}: atol must be a number")
    return row


def diff_test(
    reference: str,
    entry_point: str,
    base: list,
    plus: list,
    atol: float,
    exact: str = EXACT,
    final: bool = False,
) -> dict[str, str]:
    """The check-program frame that grades a sample against `reference` on every input.

    Args:
        reference: Source defining `entry_point` (EvalPlus: prompt + canonical_solution).
        entry_point: The function both define.
        base, plus: Argument lists (already of the types the functions take; pickled in).
        atol: EvalPlus's absolute tolerance.
        exact: Source of the checker's `exact(out, exp, inp, atol)`, EvalPlus's "exact match"
            (its special oracles replace it; `math` and `cmath` are imported).
        final: `exact` alone decides (no tolerance stage), as for find_zero.

    Returns:
        The metadata keys `check_program` reads: `program_prefix` (to which a benchmark whose
        completion continues the prompt appends the prompt), `test` and `test_call`.
    """
    payload = base64.b64encode(pickle.dumps([("base", base), ("plus", plus)])).decode("ascii")
    prefix = _PREFIX.format(
        reference=reference,
        entry=entry_point,
        payload=payload,
        atol=float(atol),
        final=final,
        checker=CHECKER + "\n\n" + exact,
    )
    return {"program_prefix": prefix, "test": "", "test_call": f"_ssd_check({entry_point})"}


def parse_row(row: object, where: str) -> Problem:
    """One HumanEvalPlus row -> Problem: the completion continues the prompt, as HumanEval's."""
    row = check_row(row, where, REQUIRED)
    entry = row["entry_point"]
    frame = diff_test(
        row["prompt"] + row["canonical_solution"],
        entry,
        row["base_input"],
        row["plus_input"],
        row["atol"],
        FIND_ZERO if entry == "find_zero" else EXACT,
        final=entry == "find_zero",
    )
    frame["program_prefix"] += row["prompt"]
    return Problem(
        id=row["task_id"],
        question=row["prompt"],
        starter_code=row["prompt"],
        testtype="check",
        metadata={
            **frame,
            "entry_point": entry,
            "canonical_solution": row["canonical_solution"],
            "n_inputs": [len(row["base_input"]), len(row["plus_input"])],
            "source": where,
        },
    )


def parse_hub_row(row: dict, where: str) -> Problem:
    """A row of the hub copy (task_id, prompt, canonical_solution, entry_point, test): its `test`
    holds the inputs and the expected outputs in a `check(candidate)`, graded as HumanEval's."""
    keys = ("task_id", "prompt", "canonical_solution", "entry_point", "test")
    if missing := [k for k in keys if not isinstance(row.get(k), str)]:
        raise EvalPlusFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    return Problem(
        id=row["task_id"],
        question=row["prompt"],
        starter_code=row["prompt"],
        testtype="check",
        metadata={k: row[k] for k in ("test", "entry_point", "canonical_solution")},
    )


def load_humaneval_plus(path: str | Path | None = None) -> list[Problem]:
    """Load HumanEval+ (164 problems in EvalPlus's releases).

    Args:
        path: `HumanEvalPlus.jsonl.gz` or `.jsonl` as EvalPlus releases it; None reads the hub.

    Raises:
        EvalPlusFormatError: A malformed row or a duplicate task_id (names file and line).
        FileNotFoundError: `path` does not exist.
    """
    return load_evalplus(path, HF_DATASET, parse_row, parse_hub_row)


def load_evalplus(path: str | Path | None, dataset: str, parse, parse_hub) -> list[Problem]:
    """Problems parsed row by row from an EvalPlus .jsonl[.gz] (`parse`), refusing duplicate
    task_ids, or with no path from the hub copy `dataset` (`parse_hub`: another schema)."""
    if path is None:  # pragma: no cover - needs the hub
        return [parse_hub(row, where) for where, row in hub_rows(dataset)]
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"EvalPlus data not found: {path}")
    problems: dict[str, Problem] = {}
    for where, row in jsonl_rows(path, EvalPlusFormatError):
        problem = parse(row, where)
        if problem.id in problems:
            raise EvalPlusFormatError(f"{where}: duplicate task_id {problem.id!r}")
        problems[problem.id] = problem
    return list(problems.values())


def _load(bench: BenchmarkConfig) -> list[Problem]:
    return load_humaneval_plus(bench.path)


# One program runs the reference and the sample on every input: more room than HumanEval's 3 s.
HUMANEVAL_PLUS = CodeBenchmark(
    "humaneval_plus", _load, "task_id", True, HF_DATASET, default_timeout_s=20.0
)
