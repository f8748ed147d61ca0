"""pass@k against exact combinatorics, and the bootstrap interval around its point estimate."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest

from ssd.metrics import bootstrap_ci, mean_pass_at_k, pass_at_k


def exact(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(comb(n - c, k), comb(n, k))


@pytest.mark.parametrize(
    "n,c,k", [(10, 0, 1), (10, 3, 1), (10, 3, 5), (10, 9, 5), (20, 1, 20), (5, 5, 1)]
)
def test_pass_at_k_matches_binomials(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(float(exact(n, c, k)), abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    for n, c, k in [(1000, 1, 1), (1000, 3, 100), (1000, 500, 10), (1000, 999, 999)]:
        assert pass_at_k(n, c, k) == pytest.approx(float(exact(n, c, k)), rel=1e-9, abs=1e-12)


def test_pass_at_1_is_the_fraction_correct():
    assert mean_pass_at_k([4, 4], [1, 3], 1) == pytest.approx(0.5)


@pytest.mark.parametrize("n,c,k", [(3, 4, 1), (3, 1, 4), (3, 1, 0)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_bootstrap_ci_contains_the_mean_and_narrows_with_more_problems():
    small = [1.0, 0.0, 0.5, 0.25]
    low, high = bootstrap_ci(small)
    assert low <= sum(small) / 4 <= high
    big_low, big_high = bootstrap_ci(small * 50)
    assert big_high - big_low < high - low
