"""Confidence intervals over problems for a run's report: per T_eval, per best point, per gap.

Seeds average first, problem by problem (every seed scores the same problems), then a percentile
bootstrap resamples problems. So an interval says how far the problem sample alone could move a
number; seed-to-seed spread is reported beside it (min..max, per seed), not folded in. Pure
functions over `ssd.results` rows: `pooled_ci(rows)`, `compare(name, ours, theirs)`.
"""

from __future__ import annotations

import numpy as np

from ssd.metrics import bootstrap_ci
from ssd.results import Comparison, EvalRow


def per_problem_mean(rows: list[EvalRow]) -> np.ndarray:
    """Each reported problem's pass@1, averaged over the seeds' rows."""
    return np.mean([row.reported_per_problem() for row in rows], axis=0)


def pooled_ci(rows: list[EvalRow], seed: int = 0) -> tuple[float, float]:
    """95% bootstrap CI of the seed-averaged pass@1 over the reported problems."""
    return bootstrap_ci(per_problem_mean(rows), seed=seed)


def compare(name: str, ours: list[EvalRow], theirs: list[EvalRow], seed: int = 0) -> Comparison:
    """`ours` minus `theirs` (one row per seed each, same problems), paired over problems."""
    gap = per_problem_mean(ours) - per_problem_mean(theirs)
    per_seed = [a.pass_at_1 - b.pass_at_1 for a, b in zip(ours, theirs, strict=True)]
    return Comparison(name, float(gap.mean()), bootstrap_ci(gap, seed=seed), gap.size, per_seed)


def interval_text(ci: tuple[float, float] | None) -> str:
    """'[lo, hi]' with signs, for differences and scores alike; '' without an interval."""
    return "" if ci is None else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"
