"""Selection on a held-out split: the split is seeded and complete, the choice never sees test."""

from __future__ import annotations

import pytest

from ssd.selection import apply_selection, best_row, choose_checkpoint, split_problems


def result(*rows):
    """An evaluate result: per row (T_eval, per-problem exact pass@1, correct counts of 4)."""
    return {
        "rows": [
            {
                "t_eval": t,
                "pass@1": sum(p) / len(p),
                "pass@1_ci95": [0.0, 1.0],
                "pass@1_per_problem": p,
                "n_correct_per_problem": c,
                "sampled": {"pass@1": 0.0, "pass@2": 0.0},
            }
            for t, p, c in rows
        ]
    }


@pytest.mark.parametrize("n", [2, 3, 7, 20])
def test_split_is_seeded_disjoint_complete_and_never_empty(n):
    split = split_problems(n, 0.5, seed=3)
    assert split == split_problems(n, 0.5, seed=3)
    assert sorted(split["validation"] + split["test"]) == list(range(n))
    assert split["validation"] and split["test"]
    assert split_problems(n, 0.01, 0)["validation"] and split_problems(n, 0.99, 0)["test"]


def test_validation_selection_reports_test_problems_only():
    split = {"validation": [0, 1], "test": [2, 3]}
    res = result(
        (0.5, [1.0, 1.0, 0.0, 0.0], [4, 4, 0, 1]), (1.0, [0.0, 0.5, 1.0, 1.0], [0, 2, 4, 4])
    )
    picked = apply_selection(res, split, n_samples=4, seed=0)
    low, high = picked["rows"]
    assert low["pass@1_select"] == 1.0 and low["pass@1"] == 0.0
    assert low["sampled"]["pass@1"] == pytest.approx(0.125)  # sampled: 0/4 and 1/4 on test
    assert high["pass@1_select"] == 0.25 and high["pass@1"] == 1.0
    # T_eval=0.5 wins on validation even though T_eval=1.0 is far better on the test problems
    assert best_row(picked)["t_eval"] == 0.5 and best_row(picked)["pass@1"] == 0.0
    on_test = apply_selection(res, None, n_samples=4, seed=0)
    assert best_row(on_test)["t_eval"] == 1.0 and best_row(on_test)["pass@1"] == 0.625


def test_checkpoint_choice_follows_the_selection_problems():
    split = {"validation": [0], "test": [1]}
    early = apply_selection(result((1.0, [0.9, 0.1], [4, 0])), split, 4, 0)
    late = apply_selection(result((1.0, [0.2, 0.8], [1, 3])), split, 4, 0)
    step, table = choose_checkpoint({250: early, 500: late})
    assert step == 250 and [entry["step"] for entry in table] == [250, 500]
    assert table[0]["pass@1"] == pytest.approx(0.1) and table[1]["pass@1"] == pytest.approx(0.8)
