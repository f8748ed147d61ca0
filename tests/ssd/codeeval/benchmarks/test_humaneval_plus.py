"""HumanEval+: EvalPlus's released schema loads, malformed rows name their file and line, and the
diff-test in the real sandbox passes the canonical solutions, fails a sample that only the plus
inputs catch, honours atol and find_zero's oracle; `ssd grade` and a run config work with it."""

from __future__ import annotations

import gzip
import json
import runpy

import pytest
from helpers.local_run import local_run_overrides
from helpers.support import ASSETS

from ssd.cli.main import main
from ssd.codeeval.benchmarks import benchmark_of
from ssd.codeeval.benchmarks.base import jsonl_rows
from ssd.codeeval.benchmarks.humaneval_plus import (
    EvalPlusFormatError,
    load_humaneval_plus,
    parse_hub_row,
)
from ssd.codeeval.grading import grade_many
from ssd.codeeval.problem import check_program

FIXTURE = ASSETS / "evalplus" / "HumanEvalPlus.jsonl.gz"


def rows() -> list[dict]:
    return [row for _, row in jsonl_rows(FIXTURE, ValueError)]


def by_id() -> dict:
    return {p.id: p for p in load_humaneval_plus(FIXTURE)}


def test_fixture_file_holds_what_its_generator_writes():
    generator = runpy.run_path(str(ASSETS / "evalplus" / "make_fixtures.py"))
    assert rows() == generator["humaneval_plus"]()


def test_rows_load_as_problems_that_complete_the_prompt():
    problems = load_humaneval_plus(FIXTURE)
    assert [p.id for p in problems] == [
        "HumanEval/0",
        "HumanEval/2",
        "HumanEval/32",
        "HumanEval/53",
    ]
    add = problems[3]
    assert add.question == add.starter_code == rows()[3]["prompt"]
    assert (add.testtype, add.metadata["entry_point"], add.metadata["n_inputs"]) == (
        "check",
        "add",
        [3, 3],
    )
    program = check_program(add, "    return x + y\n")
    # the reference runs first, then the prompt the completion continues, then the diff-test
    assert program.index("<reference>") < program.index(add.question + "    return x + y\n")
    assert program.endswith("_ssd_check(add)\n")
    assert benchmark_of("humaneval_plus").completes_prompt  # graded as is: extraction none


def test_canonical_solutions_pass_in_the_sandbox():
    problems = load_humaneval_plus(FIXTURE)
    verdicts = grade_many([(p, p.metadata["canonical_solution"]) for p in problems], progress=False)
    assert [v.status for v in verdicts] == ["passed"] * 4


def test_the_plus_inputs_catch_what_the_base_inputs_miss():
    problems = by_id()
    cases = [
        # right on every base input, wrong on the plus input (10**12, 7)
        (problems["HumanEval/53"], "    return x + y if x < 1000 else x\n", "plus input 2/3"),
        # wrong on the first base input
        (problems["HumanEval/2"], "    return number % 1.0 + 1e-3\n", "base input 1/3"),
        # not a root of [1, 2]
        (problems["HumanEval/32"], "    return 0.5\n", "base input 1/2"),
        # the wrong type: close in value, but EvalPlus asks for the same type
        (problems["HumanEval/53"], "    return float(x + y) + 1e-9\n", "base input 1/3"),
    ]
    verdicts = grade_many([(p, code) for p, code, _ in cases], progress=False)
    for (_, _, where), verdict in zip(cases, verdicts, strict=True):
        assert verdict.status == "wrong_answer" and where in verdict.reason, verdict


def test_tolerance_oracle_quiet_output_and_inputs_copied():
    problems = by_id()
    right = [
        # floats within 1e-6 (atol 0 and float outputs: EvalPlus enforces 1e-6), and the
        # sample's globals do not reach the checker's names
        (
            problems["HumanEval/2"],
            "    return number - int(number) + 1e-9\n\n\nlist = []\ntype = isinstance = close = None\n",
        ),
        # any root passes find_zero: Newton's method instead of bisection
        (
            problems["HumanEval/32"],
            "    x = 0.3\n    for _ in range(200):\n        d = sum(i * c * x ** (i - 1) for i, c"
            " in enumerate(xs) if i)\n        x = x - poly(xs, x) / d if d else x + 0.1\n"
            "    return x\n",
        ),
        # printing is swallowed, and sorting the argument in place cannot change the reference's
        (
            problems["HumanEval/0"],
            "    print('x' * 100000)\n    numbers.sort()\n"
            "    return any(b - a < threshold for a, b in zip(numbers, numbers[1:]))\n",
        ),
    ]
    verdicts = grade_many(right, progress=False)
    assert [v.status for v in verdicts] == ["passed"] * 3, verdicts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("plus_input"), "missing field.*plus_input"),
        (lambda r: r.update(base_input=[1, 2]), "base_input must be a list of argument lists"),
        (lambda r: r.update(atol="0"), "atol must be a number"),
        (lambda r: r.update(entry_point=""), "entry_point must be a non-empty string"),
        (lambda r: r.update(task_id="HumanEval/0"), "duplicate task_id 'HumanEval/0'"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, change, message):
    records = rows()
    change(records[1])  # line 2
    path = tmp_path / "HumanEvalPlus.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    with pytest.raises(EvalPlusFormatError, match=f"HumanEvalPlus.jsonl.gz:2: {message}"):
        load_humaneval_plus(path)


def test_plain_jsonl_bad_json_and_missing_files(tmp_path):
    path = tmp_path / "HumanEvalPlus.jsonl"
    path.write_text(gzip.decompress(FIXTURE.read_bytes()).decode() + "{oops\n")
    with pytest.raises(EvalPlusFormatError, match="HumanEvalPlus.jsonl:5: not JSON"):
        load_humaneval_plus(path)
    with pytest.raises(FileNotFoundError):
        load_humaneval_plus(tmp_path / "nope.jsonl.gz")


def test_hub_rows_grade_as_humaneval():
    row = rows()[3]
    test = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
    problem = parse_hub_row({**row, "test": test}, "hf:evalplus/humanevalplus[53]")
    assert check_program(problem, "    return x + y\n") == (
        row["prompt"] + "    return x + y\n\n" + test + "\ncheck(add)\n"
    )
    with pytest.raises(EvalPlusFormatError, match=r"\[53\]: missing field\(s\) test"):
        parse_hub_row(row, "hf:evalplus/humanevalplus[53]")


def test_ssd_grade_grades_completions(tmp_path, capsys):
    samples = tmp_path / "samples.jsonl"
    lines = [{"task_id": r["task_id"], "completion": r["canonical_solution"]} for r in rows()] + [
        {"task_id": "HumanEval/53", "completion": "    return x - y\n"}
    ]
    samples.write_text("".join(json.dumps(r) + "\n" for r in lines))
    args = ["grade", "--no-progress", "--benchmark", "humaneval_plus", "--data", str(FIXTURE)]
    assert main([*args, "--samples", str(samples)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n_samples"], summary["extract"], summary["timeout_s"]) == (5, "none", 20.0)
    assert summary["fractions"] == pytest.approx(
        {**dict.fromkeys(summary["fractions"], 0.0), "passed": 0.8, "wrong_answer": 0.2}
    )


def test_a_run_config_validates(make_cfg, tmp_path):
    from ssd.pipeline import stage_keys
    from ssd.validation import validate

    base = local_run_overrides(tmp_path)
    cfg = make_cfg(*base, "eval.benchmark.name=humaneval_plus", f"eval.benchmark.path={FIXTURE}")
    validate(cfg)
    keys = stage_keys(cfg)
    other = stage_keys(make_cfg(*base, "eval.benchmark.name=humaneval"))
    assert keys["sample"] == other["sample"] and keys["evaluate/base"] != other["evaluate/base"]
    hub = make_cfg(*base, "eval.benchmark.name=humaneval_plus")
    assert (
        benchmark_of("humaneval_plus").hub_dataset(hub.eval.benchmark) == "evalplus/humanevalplus"
    )
