"""Choosing a checkpoint and T_eval honestly: on a held-out validation split, or (as the paper) on test.

Pure functions over evaluations (`ssd.results.EvalResult`: rows with per-problem pass@1 and correct
counts). `split_problems` fixes, from a seed, which problems are validation; `apply_selection` turns
a result into one whose `pass_at_1` (and sampled pass@k) is measured on the reported problems and
whose `pass_at_1_select` is what the choice of T_eval and checkpoint maximises. With selection=test
both are the same numbers over every problem, which is the paper's (optimistic) practice.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ssd.config.schema import EvalConfig
from ssd.metrics import bootstrap_ci, pass_at_k
from ssd.results import CheckpointScore, EvalResult, EvalRow


def split_problems(n_problems: int, fraction: float, seed: int) -> dict[str, list[int]]:
    """A seeded split of problem indices; both parts are non-empty when there are >= 2 problems."""
    order = np.random.default_rng(seed).permutation(n_problems)
    n_val = min(n_problems - 1, max(1, round(fraction * n_problems)))
    return {"validation": sorted(order[:n_val].tolist()), "test": sorted(order[n_val:].tolist())}


def split_for(settings: EvalConfig, n_problems: int) -> dict[str, list[int]] | None:
    """The run's validation/test split of `n_problems`, or None when selecting on test."""
    if settings.selection != "validation":
        return None
    return split_problems(n_problems, settings.validation_fraction, settings.split_seed)


def _restrict_row(row: EvalRow, keep: list[int], n_samples: int, seed: int) -> EvalRow:
    """The row's pass@1, its CI, sampled pass@k and per-difficulty pass@1 over `keep` only.

    The per-problem lists stay whole (so a later selection can still read every problem) and
    `reported` names the kept ones; the failure fractions remain over all problems.
    """
    exact = np.asarray(row.pass_at_1_per_problem)[keep]
    correct = np.asarray(row.n_correct_per_problem)[keep]
    ks = [int(k.split("@")[1]) for k in row.sampled]
    return replace(
        row,
        pass_at_1=float(exact.mean()),
        pass_at_1_ci95=bootstrap_ci(exact, seed=seed),
        sampled={
            f"pass@{k}": float(np.mean([pass_at_k(n_samples, int(c), k) for c in correct]))
            for k in ks
        },
        by_difficulty=_by_difficulty(row, keep, seed),
        reported=list(keep),
    )


def _by_difficulty(row: EvalRow, keep: list[int], seed: int) -> dict | None:
    """pass@1 blocks per level over the kept problems (as ssd.codeeval.summary shapes them)."""
    if not row.difficulty_per_problem:
        return row.by_difficulty
    levels: dict[str, list[float]] = {}
    for i in keep:
        levels.setdefault(row.difficulty_per_problem[i], []).append(row.pass_at_1_per_problem[i])
    return {
        level: {
            "n_problems": len(values),
            "pass@k": {"pass@1": float(np.mean(values))},
            "pass@k_ci95": {"pass@1": list(bootstrap_ci(values, seed=seed))},
        }
        for level, values in sorted(levels.items())
    }


def _selected_row(
    row: EvalRow, split: dict[str, list[int]] | None, n_samples: int, seed: int
) -> EvalRow:
    if split is None:  # selection on test: one set of problems for both
        return replace(row, pass_at_1_select=row.pass_at_1)
    selected = np.asarray(row.pass_at_1_per_problem)[split["validation"]]
    reported = _restrict_row(row, split["test"], n_samples, seed)
    return replace(reported, pass_at_1_select=float(selected.mean()))


def apply_selection(
    result: EvalResult, split: dict[str, list[int]] | None, n_samples: int, seed: int
) -> EvalResult:
    """Rows measured on the reported problems, with `pass_at_1_select` from the selection ones."""
    return replace(result, rows=[_selected_row(r, split, n_samples, seed) for r in result.rows])


def best_row(result: EvalResult) -> EvalRow:
    """The T_eval row the selection problems prefer (its pass@1 is on the reported problems)."""
    return result.best_row()


def choose_checkpoint(results: dict[int, EvalResult]) -> tuple[int, list[CheckpointScore]]:
    """The step whose best T_eval scores highest on the selection problems, and every step's score."""
    table = []
    for step, result in sorted(results.items()):
        row = result.best_row()
        table.append(CheckpointScore(step, row.t_eval, row.select_score, row.pass_at_1))
    chosen = max(table, key=lambda entry: entry.pass_at_1_select)
    return chosen.step, table
