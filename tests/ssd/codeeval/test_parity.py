"""Parity with the official graders: every pair of the differential fixture gets, under
`--grader ml_ssd`, the verdict apple/ml-ssd's evaluator gave it and, under `--grader lcb`, the
verdict LiveCodeBench's lcb_runner gave it (both recorded by running them, at the commits in
ssd/codeeval/rules.py: tests/assets/lcb/make_parity_fixtures.py).

Graded for real in the sandbox through `grade_many`, the path `ssd grade` and the pipeline use.
"""

from __future__ import annotations

import json

import pytest
from helpers.support import ASSETS

from ssd.codeeval.benchmarks.lcb import load_lcb
from ssd.codeeval.grading import grade_many
from ssd.codeeval.rules import LCB_COMMIT, ML_SSD_COMMIT, RULES
from ssd.config.choices import Grader

LCB_DIR = ASSETS / "lcb"
ROWS = [json.loads(line) for line in (LCB_DIR / "parity_samples.jsonl").read_text().splitlines()]
MODES = ["ml_ssd", "lcb"]


def test_the_fixture_is_a_differential_set():
    assert len(ROWS) >= 150
    problems = load_lcb(LCB_DIR / "parity_problems.jsonl", "all", "public+private")
    assert {p.testtype for p in problems} == {"stdin", "functional"}
    for row in ROWS:
        assert set(row["official"]) == set(MODES) and set(row["decided_by"]) == set(MODES)
        assert all(isinstance(row["official"][m], bool) and row["decided_by"][m] for m in MODES)
    # it separates the tools: pairs on which they disagree, and passes and failures in each
    assert sum(r["official"]["ml_ssd"] != r["official"]["lcb"] for r in ROWS) >= 20
    for mode in MODES:
        assert 0.2 < sum(r["official"][mode] for r in ROWS) / len(ROWS) < 0.8


@pytest.fixture(scope="module")
def graded() -> dict[str, list]:
    problems = {
        p.id: p for p in load_lcb(LCB_DIR / "parity_problems.jsonl", "all", "public+private")
    }
    out = {}
    for mode in MODES:
        rules = RULES[Grader(mode)]
        pairs = [(problems[r["question_id"]], rules.extract_code(r["completion"])) for r in ROWS]
        out[mode] = grade_many(pairs, workers=2, progress=False, rules=rules)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_every_verdict_is_the_official_tools(mode: str, graded) -> None:
    wrong = [
        f"{r['question_id']} {r['family']}: official {r['official'][mode]} "
        f"({r['decided_by'][mode]}), ours {v.status}: {v.reason[:120]}"
        for r, v in zip(ROWS, graded[mode], strict=True)
        if v.passed is not r["official"][mode]
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_every_verdict_names_the_official_commit(mode: str, graded) -> None:
    commit = {"ml_ssd": ML_SSD_COMMIT, "lcb": LCB_COMMIT}[mode]
    assert all(commit in v.grader for v in graded[mode])
