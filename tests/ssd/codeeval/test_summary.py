"""`summarize` on hand-built verdicts: pass@k worked out by hand, per difficulty, failure shares.

Worked example (pass@k = 1 - C(n-c, k) / C(n, k), the unbiased estimator):
    A (easy): n=4, c=2 -> pass@1 = 1 - 2/4 = 1/2, pass@2 = 1 - 1/6 = 5/6, pass@3 = 1 - 0/4 = 1
    B (hard): n=3, c=0 -> 0 for every k
    C (easy): n=3, c=3 -> 1 for every k
The smallest sample count is 3, so k runs 1..3.
"""

from __future__ import annotations

import hashlib
from math import comb

import pytest

from ssd.codeeval.grading import STATUSES, Verdict
from ssd.codeeval.problem import Problem
from ssd.codeeval.summary import summarize

PROBLEMS = [
    Problem("A", "q", difficulty="easy"),
    Problem("B", "q", difficulty="hard"),
    Problem("C", "q", difficulty="easy"),
]


def verdict(status: str) -> Verdict:
    return Verdict(status == "passed", status, "" if status == "passed" else "why", 0, 1)


SAMPLES = [  # interleaved, as a samples file of shuffled rows would be
    ("A", "passed"), ("B", "runtime_error"), ("C", "passed"), ("A", "wrong_answer"),
    ("B", "wrong_answer"), ("A", "timeout"), ("C", "passed"), ("B", "no_code"),
    ("A", "passed"), ("C", "passed"),
]  # fmt: skip
IDS = [pid for pid, _ in SAMPLES]
VERDICTS = [verdict(status) for _, status in SAMPLES]

BY_HAND = {
    "all": {"pass@1": (1 / 2 + 0 + 1) / 3, "pass@2": (5 / 6 + 0 + 1) / 3, "pass@3": 2 / 3},
    "easy": {"pass@1": 3 / 4, "pass@2": 11 / 12, "pass@3": 1.0},
    "hard": {"pass@1": 0.0, "pass@2": 0.0, "pass@3": 0.0},
}


@pytest.fixture(scope="module")
def summary() -> dict:
    return summarize(PROBLEMS, IDS, VERDICTS)


def test_pass_at_every_k_up_to_the_smallest_sample_count(summary):
    assert summary["pass@k"] == pytest.approx(BY_HAND["all"], abs=1e-12)
    assert list(summary["pass@k"]) == ["pass@1", "pass@2", "pass@3"]  # not pass@4: B has 3


def test_the_worked_example_is_the_binomial_estimator():
    def unbiased(n, c, k):
        return 1 - comb(n - c, k) / comb(n, k)

    per_problem = {"A": (4, 2), "B": (3, 0), "C": (3, 3)}
    for k in (1, 2, 3):
        mean = sum(unbiased(n, c, k) for n, c in per_problem.values()) / 3
        assert mean == pytest.approx(BY_HAND["all"][f"pass@{k}"], abs=1e-12)


def test_counts_and_the_problem_set_hash(summary):
    assert summary["n_problems"] == 3 and summary["n_samples"] == 10
    assert summary["samples_per_problem"] == {"min": 3, "max": 4}
    assert summary["problem_ids_sha256"] == hashlib.sha256(b"A\nB\nC").hexdigest()


def test_per_difficulty_blocks(summary):
    blocks = summary["by_difficulty"]
    assert list(blocks) == ["easy", "hard"]
    assert blocks["easy"]["n_problems"] == 2 and blocks["hard"]["n_problems"] == 1
    for level in ("easy", "hard"):
        assert blocks[level]["pass@k"] == pytest.approx(BY_HAND[level], abs=1e-12)
    # one problem, all wrong: the bootstrap has nothing to resample but zeros
    assert blocks["hard"]["pass@k_ci95"] == {f"pass@{k}": [0.0, 0.0] for k in (1, 2, 3)}


def test_confidence_intervals_bracket_the_estimate(summary):
    for k in (1, 2, 3):
        low, high = summary["pass@k_ci95"][f"pass@{k}"]
        assert 0.0 <= low <= BY_HAND["all"][f"pass@{k}"] <= high <= 1.0
        assert low < high  # three problems that disagree: a real spread


def test_failure_fractions_cover_every_status_and_sum_to_one(summary):
    fractions = summary["fractions"]
    assert list(fractions) == list(STATUSES)
    assert fractions == pytest.approx(
        {
            "passed": 0.5,
            "wrong_answer": 0.2,
            "runtime_error": 0.1,
            "timeout": 0.1,
            "memory": 0.0,
            "output_limit": 0.0,
            "no_code": 0.1,
            "compile_error": 0.0,
        }
    )
    assert sum(fractions.values()) == pytest.approx(1.0)


def test_no_difficulty_no_blocks_and_ids_must_match_verdicts():
    humaneval = [Problem("HumanEval/0", "q"), Problem("HumanEval/1", "q")]
    ids = ["HumanEval/0", "HumanEval/1", "HumanEval/1"]
    out = summarize(humaneval, ids, [verdict("passed"), verdict("passed"), verdict("timeout")])
    assert "by_difficulty" not in out
    assert out["pass@k"] == {"pass@1": (1.0 + 0.5) / 2}  # k stops at HumanEval/0's 1 sample
    with pytest.raises(ValueError):
        summarize(humaneval, ids, [verdict("passed")])
