"""Selection on a held-out split: the split is seeded and complete, the choice never sees test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ssd.metrics import pass_at_k
from ssd.results import EvalResult, EvalRow
from ssd.selection import apply_selection, best_row, choose_checkpoint, split_problems


def result(*rows) -> EvalResult:
    """A tiny evaluation: per row (T_eval, per-problem exact pass@1, correct counts of 4)."""
    return EvalResult(
        label="ssd",
        decoder={"decoder": "plain"},
        rows=[
            EvalRow(t, sum(p) / len(p), (0.0, 1.0), p, c, {"pass@1": 0.0, "pass@2": 0.0})
            for t, p, c in rows
        ],
    )


@pytest.fixture(scope="module")
def base_result(pipeline_outputs) -> EvalResult:
    """The smoke run's base evaluation over the whole T_eval grid, as the evaluate stage wrote it."""
    for path in sorted(pipeline_outputs.cache.glob("evaluate/*/results.json")):
        found = EvalResult.from_json(json.loads(path.read_text()))
        if found.label == "base" and len(found.rows) == 2:
            return found
    raise AssertionError("no base evaluation in the session's cache")


@pytest.mark.parametrize("n", [2, 3, 7, 20])
def test_split_is_seeded_disjoint_complete_and_never_empty(n):
    split = split_problems(n, 0.5, seed=3)
    assert split == split_problems(n, 0.5, seed=3)
    assert sorted(split["validation"] + split["test"]) == list(range(n))
    assert split["validation"] and split["test"]
    assert split_problems(n, 0.01, 0)["validation"] and split_problems(n, 0.99, 0)["test"]


@pytest.mark.slow
def test_a_real_evaluation_is_reported_on_test_and_selected_on_validation(base_result):
    split = split_problems(base_result.n_problems, 0.5, seed=0)
    picked = apply_selection(base_result, split, n_samples=4, seed=0)
    assert [r.t_eval for r in picked.rows] == [r.t_eval for r in base_result.rows] == [0.5, 1.0]
    for row, raw in zip(picked.rows, base_result.rows, strict=True):
        exact, correct = np.array(raw.pass_at_1_per_problem), np.array(raw.n_correct_per_problem)
        assert row.pass_at_1 == pytest.approx(exact[split["test"]].mean())
        assert row.pass_at_1_select == pytest.approx(exact[split["validation"]].mean())
        for k in (1, 2):
            want = np.mean([pass_at_k(4, int(c), k) for c in correct[split["test"]]])
            assert row.sampled[f"pass@{k}"] == pytest.approx(want)
        assert row.pass_at_1_ci95[0] <= row.pass_at_1 <= row.pass_at_1_ci95[1]
        # the per-problem numbers stay whole: a later choice can still read every problem
        assert row.pass_at_1_per_problem == raw.pass_at_1_per_problem
    assert base_result.rows[0].pass_at_1_select is None  # the input is left as it was


@pytest.mark.slow
def test_selection_on_test_scores_the_choice_on_every_problem(base_result):
    on_test = apply_selection(base_result, None, n_samples=4, seed=0)
    for row, raw in zip(on_test.rows, base_result.rows, strict=True):
        assert row.pass_at_1_select == row.pass_at_1 == raw.pass_at_1
        assert row.sampled == raw.sampled
    assert best_row(on_test) == max(on_test.rows, key=lambda r: r.pass_at_1)


def test_validation_selection_reports_test_problems_only():
    split = {"validation": [0, 1], "test": [2, 3]}
    res = result(
        (0.5, [1.0, 1.0, 0.0, 0.0], [4, 4, 0, 1]), (1.0, [0.0, 0.5, 1.0, 1.0], [0, 2, 4, 4])
    )
    picked = apply_selection(res, split, n_samples=4, seed=0)
    low, high = picked.rows
    assert low.pass_at_1_select == 1.0 and low.pass_at_1 == 0.0
    assert low.sampled["pass@1"] == pytest.approx(0.125)  # sampled: 0/4 and 1/4 on test
    assert high.pass_at_1_select == 0.25 and high.pass_at_1 == 1.0
    # T_eval=0.5 wins on validation even though T_eval=1.0 is far better on the test problems
    assert best_row(picked).t_eval == 0.5 and best_row(picked).pass_at_1 == 0.0
    on_test = apply_selection(res, None, n_samples=4, seed=0)
    assert best_row(on_test).t_eval == 1.0 and best_row(on_test).pass_at_1 == 0.625


def test_checkpoint_choice_follows_the_selection_problems():
    split = {"validation": [0], "test": [1]}
    early = apply_selection(result((1.0, [0.9, 0.1], [4, 0])), split, 4, 0)
    late = apply_selection(result((1.0, [0.2, 0.8], [1, 3])), split, 4, 0)
    step, table = choose_checkpoint({500: late, 250: early})
    assert step == 250 and [entry.step for entry in table] == [250, 500]
    assert table[0].pass_at_1 == pytest.approx(0.1) and table[1].pass_at_1 == pytest.approx(0.8)
    assert table[0].pass_at_1_select == pytest.approx(0.9)


def test_levels_are_reported_on_the_reported_problems_only():
    """A split's per-difficulty pass@1 comes from its own problems, not the whole set."""
    split = {"validation": [0, 2], "test": [1, 3]}
    raw = EvalRow(
        1.0, 0.5, (0.0, 1.0), [1.0, 0.0, 1.0, 0.5], [4, 0, 4, 2], {"pass@1": 0.625},
        by_difficulty={"easy": {"pass@k": {"pass@1": 1.0}}, "hard": {"pass@k": {"pass@1": 0.25}}},
        difficulty_per_problem=["easy", "easy", "hard", "hard"],
    )  # fmt: skip
    res = EvalResult("ssd", {"decoder": "plain"}, [raw])
    (picked,) = apply_selection(res, split, n_samples=4, seed=0).rows
    assert picked.pass_at_1_by_difficulty() == {"easy": 0.0, "hard": 0.5}
    assert picked.reported == [1, 3] and picked.reported_per_problem() == [0.0, 0.5]
    assert EvalRow.from_json(picked.to_json()) == picked
