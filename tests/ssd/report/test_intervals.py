"""Intervals over problems: seeds are averaged problem by problem, then problems resampled."""

from __future__ import annotations

import numpy as np
import pytest

from ssd.report.intervals import compare, per_problem_mean, pooled_ci
from ssd.results import EvalRow


def row(per_problem: list[float], reported: list[int] | None = None) -> EvalRow:
    values = np.asarray(per_problem)
    keep = values if reported is None else values[reported]
    return EvalRow(1.0, float(keep.mean()), (0.0, 1.0), per_problem, [0] * len(per_problem), {},
                   reported=reported)  # fmt: skip


def test_seeds_average_per_reported_problem():
    rows = [row([1.0, 0.0, 0.5, 0.25], [1, 2, 3]), row([0.0, 1.0, 0.0, 0.75], [1, 2, 3])]
    assert per_problem_mean(rows).tolist() == [0.5, 0.25, 0.5]  # problem 0 is validation


def test_a_gap_on_every_problem_excludes_zero_and_a_mixed_gap_does_not():
    rng = np.random.default_rng(0)
    theirs = rng.uniform(0, 0.5, 96).tolist()
    ours = [v + 0.1 for v in theirs]
    gap = compare("a vs b", [row(ours)], [row(theirs)])
    assert gap.diff == pytest.approx(0.1) and gap.ci95[0] > 0 and gap.n_problems == 96
    mixed = [v + (0.3 if i % 2 else -0.3) for i, v in enumerate(theirs)]
    gap = compare("a vs b", [row(mixed)], [row(theirs)])
    assert gap.ci95[0] < 0 < gap.ci95[1] and gap.per_seed == [pytest.approx(gap.diff)]


def test_pooled_interval_brackets_the_mean_and_narrows_with_more_problems():
    rng = np.random.default_rng(1)
    small = [row(rng.uniform(0, 1, 24).tolist()) for _ in range(3)]
    large = [row(rng.uniform(0, 1, 384).tolist()) for _ in range(3)]
    for rows in (small, large):
        low, high = pooled_ci(rows)
        assert low <= per_problem_mean(rows).mean() <= high
    assert np.diff(pooled_ci(large))[0] < np.diff(pooled_ci(small))[0]
