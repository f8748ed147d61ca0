"""MBPP+: EvalPlus's released schema loads with its inputs rebuilt as EvalPlus rebuilds them,
malformed rows name their file and line, whole-program answers are diff-tested in the real
sandbox (special oracles included), and `ssd grade` and a run config work with it."""

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
from ssd.codeeval.benchmarks.humaneval_plus import EvalPlusFormatError
from ssd.codeeval.benchmarks.mbpp import load_mbpp
from ssd.codeeval.benchmarks.mbpp_plus import (
    deserialize_inputs,
    load_mbpp_plus,
    parse_hub_row,
    parse_row,
)
from ssd.codeeval.grading import grade_many
from ssd.codeeval.problem import check_program

FIXTURE = ASSETS / "evalplus" / "MbppPlus.jsonl.gz"
FENCE = "```"


def rows() -> list[dict]:
    return [row for _, row in jsonl_rows(FIXTURE, ValueError)]


def by_id() -> dict:
    return {p.id: p for p in load_mbpp_plus(FIXTURE)}


def test_fixture_file_holds_what_its_generator_writes():
    assert rows() == runpy.run_path(str(ASSETS / "evalplus" / "make_fixtures.py"))["MBPP_PLUS"]


def test_inputs_are_rebuilt_as_evalplus_rebuilds_them():
    assert deserialize_inputs(2, [[[1, 2], [3]]]) == [[(1, 2), (3,)]]
    assert deserialize_inputs(63, [[[[1, 2], [3, 4]]]]) == [[[(1, 2), (3, 4)]]]
    assert deserialize_inputs(124, [["0", "1j"]]) == [(0.0, 1j)]
    assert deserialize_inputs(115, [[[[1], []]]]) == [[[{1}, {}]]]
    assert deserialize_inputs(580, [[[1, [2, 3]], 4]]) == [((1, (2, 3)), 4)]
    assert deserialize_inputs(722, [[{"a": [1, 2]}, 5, 6]]) == [[{"a": (1, 2)}, 5, 6]]
    assert deserialize_inputs(3, [[7]]) == [[7]]  # most tasks take JSON as it is


def test_rows_load_as_whole_program_problems():
    problems = load_mbpp_plus(FIXTURE)
    assert [p.id for p in problems] == ["Mbpp/2", "Mbpp/3", "Mbpp/56", "Mbpp/82", "Mbpp/124"]
    first = problems[0]
    assert first.question == rows()[0]["prompt"] and first.starter_code == ""
    assert first.metadata["n_inputs"] == [2, 3]
    assert first.metadata["assertion"].startswith("\nassert set(similar_elements(")
    program = check_program(first, "CODE")
    assert first.question not in program  # the answer is the whole program: no prompt before it
    assert program.index("<reference>") < program.index("\nCODE\n") < program.index("_ssd_check(")
    assert not benchmark_of("mbpp_plus").completes_prompt  # fenced answers, extraction applies


def test_canonical_solutions_pass_and_wrong_ones_fail_in_the_sandbox():
    problems = load_mbpp_plus(FIXTURE)
    verdicts = grade_many([(p, p.metadata["canonical_solution"]) for p in problems], progress=False)
    assert [v.status for v in verdicts] == ["passed"] * 5
    p = by_id()
    wrong = [
        (p["Mbpp/2"], "def similar_elements(a, b):\n    return tuple(set(a) | set(b))\n"),
        (p["Mbpp/2"], "def similar_elements(a, b):\n    return 4\n"),  # set(4) raises: no match
        (p["Mbpp/3"], "def is_not_prime(n):\n    return n % 2 == 0 and n != 2\n"),  # 35
        (p["Mbpp/82"], "def volume_sphere(r):\n    return 4 / 3 * 3.14159 * r ** 3\n"),
        (p["Mbpp/124"], "def angle_complex(a, b):\n    return 1.5707963267948966\n"),
    ]
    verdicts = grade_many(wrong, progress=False)
    assert [v.status for v in verdicts] == ["wrong_answer"] * 5, verdicts


def test_the_plus_inputs_catch_what_mbpps_asserts_miss():
    """`n == 73` passes the sanitized release's three asserts; the plus input 1 catches it."""
    answer = "def check(n):\n    return n == 73\n"
    (mbpp,) = [p for p in load_mbpp(ASSETS / "mbpp" / "sanitized-mbpp.json", True) if p.id == "56"]
    plain, plus = grade_many([(mbpp, answer), (by_id()["Mbpp/56"], answer)], progress=False)
    assert plain.passed and plus.status == "wrong_answer" and "plus input 2/5" in plus.reason


def test_oracles_sets_tolerance_and_not_none():
    p = by_id()
    right = [
        # a set oracle: any order, even a list
        (p["Mbpp/2"], "def similar_elements(a, b):\n    return sorted(set(a) & set(b))[::-1]\n"),
        # the same sphere by another float route: within atol 1e-4 (+ rtol 1e-7)
        (p["Mbpp/82"], "import math\ndef volume_sphere(r):\n    return 4 * math.pi * r**3 / 3\n"),
    ]
    match_row = {
        "task_id": "Mbpp/787",
        "prompt": '"""\nWrite a function that matches a string that has an a followed by three '
        '\'b\'.\nassert not text_match_three("ac")\n"""\n',
        "entry_point": "text_match_three",
        "canonical_solution": "\nimport re\ndef text_match_three(text):\n"
        "    return re.search('ab{3}?', text)\n",
        "base_input": [["ac"], ["abbbba"]],
        "plus_input": [["caacabbbba"], [""]],
        "atol": 0,
        "contract": "",
        "assertion": '\nassert not text_match_three("ac")\n',
    }
    match = parse_row(match_row, "inline:1")
    right += [
        (match, "def text_match_three(text):\n    return 'abbb' in text\n"),  # True for a match
        (match, "import re\ndef text_match_three(text):\n    return re.search('abbb', text)\n"),
    ]
    wrong = [(match, "def text_match_three(text):\n    return None\n")]
    verdicts = grade_many(right + wrong, progress=False)
    assert [v.passed for v in verdicts] == [True] * 4 + [False], verdicts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("assertion"), "missing field.*assertion"),
        (lambda r: r.update(task_id="Mbpp/three"), "task_id 'Mbpp/three' is not Mbpp/<number>"),
        (lambda r: r.update(plus_input=[[1]]), "inputs of Mbpp/124: .*"),
        (lambda r: r.update(task_id="Mbpp/2"), "duplicate task_id 'Mbpp/2'"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, change, message):
    records = rows()
    change(records[4])  # line 5: Mbpp/124, whose inputs are rebuilt as complex numbers
    path = tmp_path / "MbppPlus.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    with pytest.raises(EvalPlusFormatError, match=f"MbppPlus.jsonl.gz:5: {message}"):
        load_mbpp_plus(path)


def test_hub_rows_run_their_test_after_the_answer():
    row = {
        "task_id": 3,
        "code": "def is_not_prime(n):\n    return n > 1 and any(n % i == 0 for i in range(2, n))",
        "prompt": "Write a python function to identify non-prime numbers.",
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "test_imports": ["import math"],
        "test_list": ["assert is_not_prime(2) == False"],
        "test": "inputs = [[2], [10]]\nresults = [False, True]\nfor inp, exp in zip(inputs, "
        "results):\n    assert is_not_prime(*inp) == exp\n",
    }
    problem = parse_hub_row(row, "hf:evalplus/mbppplus[1]")
    assert problem.id == "Mbpp/3" and problem.question == rows()[1]["prompt"]
    assert check_program(problem, "CODE") == "CODE\nimport math\n" + row["test"] + "\n"
    (verdict,) = grade_many([(problem, row["code"])], progress=False)
    assert verdict.passed


def test_ssd_grade_grades_fenced_answers(tmp_path, capsys):
    lines = [
        {"task_id": r["task_id"], "completion": f"{FENCE}python\n{r['canonical_solution']}{FENCE}"}
        for r in rows()
    ] + [{"task_id": "Mbpp/3", "completion": "I would rather not."}]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in lines))
    args = ["grade", "--no-progress", "--benchmark", "mbpp_plus", "--data", str(FIXTURE)]
    assert main([*args, "--samples", str(samples), "--grader", "ml_ssd"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n_problems"], summary["n_samples"], summary["timeout_s"]) == (5, 6, 20.0)
    assert summary["fractions"]["passed"] == pytest.approx(5 / 6)
    assert summary["fractions"]["no_code"] == pytest.approx(1 / 6)
    assert summary["grader"] == "ml_ssd"


def test_a_run_config_validates(make_cfg, tmp_path):
    from ssd.pipeline import stage_keys
    from ssd.validation import validate

    base = local_run_overrides(tmp_path)
    cfg = make_cfg(*base, "eval.benchmark.name=mbpp_plus", f"eval.benchmark.path={FIXTURE}")
    validate(cfg)
    keys = stage_keys(cfg)
    other = stage_keys(make_cfg(*base, "eval.benchmark.name=mbpp_sanitized"))
    assert keys["finetune"] == other["finetune"] and keys["evaluate/ssd"] != other["evaluate/ssd"]
    hub = make_cfg(*base, "eval.benchmark.name=mbpp_plus")
    assert benchmark_of("mbpp_plus").hub_dataset(hub.eval.benchmark) == "evalplus/mbppplus"
    assert benchmark_of("mbpp_plus").label(cfg.eval.benchmark) == "mbpp_plus"  # not versioned


def test_the_evaluate_stage_grades_answers_and_records_the_file():
    import hashlib

    from ssd.codeeval.evaluate import _benchmark_block, _grade_rows, check_expected
    from ssd.config.schema import BenchmarkConfig

    bench = BenchmarkConfig(name="mbpp_plus", path=str(FIXTURE), timeout_s=20.0)
    problems = {p.id: p for p in load_mbpp_plus(FIXTURE)}
    check_expected(BenchmarkConfig(name="mbpp_plus", expected_problems=5), list(problems.values()))
    rows = [
        {
            "prompt_id": pid,
            "completion": f"{FENCE}python\n{p.metadata['canonical_solution']}{FENCE}",
        }
        for pid, p in problems.items()
    ]
    unfenced = problems["Mbpp/3"].metadata["canonical_solution"]
    rows.append({"prompt_id": "Mbpp/3", "completion": unfenced})  # no fenced block: no code
    codes, verdicts = _grade_rows(rows, problems, bench)
    assert [v.status for v in verdicts] == ["passed"] * 5 + ["no_code"] and codes[-1] is None
    block = _benchmark_block(bench, list(problems.values()))
    assert block["files_sha256"] == {str(FIXTURE): hashlib.sha256(FIXTURE.read_bytes()).hexdigest()}
    assert (block["name"], block["extraction"], block["n_problems"]) == ("mbpp_plus", "last", 5)
