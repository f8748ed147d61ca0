"""MBPP, full and sanitized: the published schemas load (test split only), malformed rows name
their file and line, the canonical programs pass in the real sandbox and wrong ones fail,
`ssd grade` grades a samples file, and a run config with either release validates."""

from __future__ import annotations

import json
import runpy

import pytest
from helpers.local_run import local_run_overrides
from helpers.support import ASSETS

from ssd.cli.main import main
from ssd.codeeval.benchmarks import benchmark_of
from ssd.codeeval.benchmarks.humaneval import load_humaneval
from ssd.codeeval.benchmarks.mbpp import MBPPFormatError, load_mbpp
from ssd.codeeval.grading import grade_many
from ssd.codeeval.problem import check_program

FULL = ASSETS / "mbpp" / "mbpp.jsonl"
SANITIZED = ASSETS / "mbpp" / "sanitized-mbpp.json"
FENCE = "```"


def test_fixture_files_hold_what_their_generator_writes():
    rows = runpy.run_path(str(ASSETS / "mbpp" / "make_fixtures.py"))
    assert [json.loads(line) for line in FULL.read_text().splitlines()] == rows["FULL"]
    assert json.loads(SANITIZED.read_text()) == rows["SANITIZED"]


def test_both_releases_load_their_test_split():
    full, sanitized = load_mbpp(FULL), load_mbpp(SANITIZED, sanitized=True)
    assert [p.id for p in full] == ["11", "12", "13", "17"]  # 2 (prompts) and 601 (train) left out
    assert [p.id for p in sanitized] == ["11", "56", "82"]  # 2 and 603 left out
    first = full[0]
    assert first.question.startswith("Write a python function to remove first and last")
    assert first.question.endswith('Your code should pass these tests:\n\nassert remove_Occ("hello'
                                   '","l") == "heo"\nassert remove_Occ("abcda","a") == "bcd"\n'
                                   'assert remove_Occ("PHP","P") == "H"')  # fmt: skip
    assert first.metadata["challenge_test_list"][1] == 'assert remove_Occ("","l") == ""'
    assert (first.testtype, first.starter_code, first.difficulty) == ("check", "", "")
    # the answer is the whole program: the setup code, then the asserts, follow it directly
    counter = full[2]
    assert check_program(counter, "CODE") == (
        "CODE\nfrom collections import Counter\n"
        + "\n".join(counter.question.split("\n")[3:])
        + "\n"
    )
    assert check_program(sanitized[2], "CODE").startswith("CODE\nimport math\nassert math.isclose")


def test_humanevals_program_is_unchanged():
    problem = load_humaneval()[0]
    meta = problem.metadata
    assert check_program(problem, "    pass\n") == (
        problem.question + "    pass\n\n" + meta["test"] + "\n" + "check(has_close_elements)\n"
    )


def test_canonical_programs_pass_and_wrong_ones_fail_in_the_sandbox():
    problems = load_mbpp(FULL) + load_mbpp(SANITIZED, sanitized=True)
    verdicts = grade_many([(p, p.metadata["canonical_solution"]) for p in problems], progress=False)
    assert [v.status for v in verdicts] == ["passed"] * len(problems)
    by_id = {p.id: p for p in load_mbpp(FULL)}
    wrong = [
        (by_id["17"], "def square_perimeter(a):\n    return a * a\n"),  # 5 * 5 != 20
        (by_id["11"], "def remove_occ(s, ch):\n    return s\n"),  # the wrong name
    ]
    verdicts = grade_many(wrong, progress=False)
    assert [v.status for v in verdicts] == ["wrong_answer", "runtime_error"]
    assert "NameError" in verdicts[1].reason


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("test_list"), "missing field.*test_list"),
        (lambda r: r.update(task_id="11"), "task_id must be an integer"),
        (lambda r: r.update(test_list="assert f() == 1"), "test_list must be a list of strings"),
        (lambda r: r.update(challenge_test_list=None), "challenge_test_list must be a list"),
        (lambda r: r.update(task_id=12), "duplicate task_id 12"),
    ],
)
def test_bad_full_rows_name_file_and_line(tmp_path, change, message):
    rows = [json.loads(line) for line in FULL.read_text().splitlines()]
    change(rows[3])  # line 4: task 13
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(MBPPFormatError, match=f"mbpp.jsonl:4: {message}"):
        load_mbpp(path)


def test_bad_sanitized_rows_and_json_name_file_line_and_row(tmp_path):
    rows = json.loads(SANITIZED.read_text())
    rows[2].pop("test_imports")
    path = tmp_path / "sanitized-mbpp.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(
        MBPPFormatError, match=r"sanitized-mbpp.json:1 \[row 2\]: missing .*test_im"
    ):
        load_mbpp(path, sanitized=True)
    path.write_text(json.dumps(rows[:2], indent=1)[:-2] + ",\n 7]")  # pretty-printed: line 40
    with pytest.raises(MBPPFormatError, match=r"json:\d+ \[row 2\]: expected a JSON object, got"):
        load_mbpp(path, sanitized=True)
    path.write_text('[{"task_id": 11,\n oops}]')
    with pytest.raises(MBPPFormatError, match="sanitized-mbpp.json:1: not JSON"):
        load_mbpp(path, sanitized=True)
    (tmp_path / "mbpp.jsonl").write_text(FULL.read_text() + "{not json\n")
    with pytest.raises(MBPPFormatError, match="mbpp.jsonl:7: not JSON"):
        load_mbpp(tmp_path / "mbpp.jsonl")
    with pytest.raises(FileNotFoundError):
        load_mbpp(tmp_path / "nope.jsonl")


def test_ssd_grade_grades_fenced_answers(tmp_path, capsys):
    rows = []
    for problem in load_mbpp(SANITIZED, sanitized=True):
        code = problem.metadata["canonical_solution"]
        rows.append(
            {"task_id": int(problem.id), "completion": f"Sure:\n{FENCE}python\n{code}\n{FENCE}"}
        )
        rows.append({"task_id": int(problem.id), "completion": f"{FENCE}python\nx = 1\n{FENCE}"})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["grade", "--no-progress", "--benchmark", "mbpp_sanitized", "--data", str(SANITIZED)]
    assert main([*args, "--samples", str(samples)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["benchmark"] == "mbpp_sanitized" and summary["extract"] == "last"
    assert (summary["n_problems"], summary["n_samples"]) == (3, 6)
    assert summary["pass@k"] == {"pass@1": 0.5, "pass@2": 1.0}
    assert summary["fractions"]["runtime_error"] == 0.5  # x = 1 defines no function: NameError


def test_a_run_config_validates_and_only_the_evaluations_move(make_cfg, tmp_path):
    from ssd.pipeline import stage_keys
    from ssd.validation import validate

    base = local_run_overrides(tmp_path)
    keys = {}
    for name, path in (("mbpp", FULL), ("mbpp_sanitized", SANITIZED)):
        cfg = make_cfg(*base, f"eval.benchmark.name={name}", f"eval.benchmark.path={path}")
        validate(cfg)
        keys[name] = stage_keys(cfg)
        assert benchmark_of(name).hub_dataset(cfg.eval.benchmark) is None  # a local file
    moved = {k for k in keys["mbpp"] if keys["mbpp"][k] != keys["mbpp_sanitized"][k]}
    assert moved == {"evaluate/base", "evaluate/ssd_as_decoder", "evaluate/ssd", "run"}
    hub = make_cfg(*base, "eval.benchmark.name=mbpp")
    assert benchmark_of("mbpp").hub_dataset(hub.eval.benchmark) == "google-research-datasets/mbpp"
