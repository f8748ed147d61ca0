"""Choosing a checkpoint and T_eval honestly: on a held-out validation split, or (as the paper) on test.

Pure functions over evaluate results (results.json: rows with per-problem exact pass@1 and correct
counts). `split_problems` fixes, from a seed, which problems are validation; `apply_selection` turns
a result into one whose `pass@1` (and sampled pass@k) is measured on the reported problems and whose
`pass@1_select` is what the choice of T_eval and checkpoint maximises. With selection=test both are
the same numbers over every problem, which is the paper's (optimistic) practice.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ssd.config.schema import EvalConfig
from ssd.metrics import bootstrap_ci, pass_at_k


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


def _restrict_row(row: dict[str, Any], keep: list[int], n_samples: int, seed: int) -> dict:
    exact = np.asarray(row["pass@1_per_problem"])[keep]
    correct = np.asarray(row["n_correct_per_problem"])[keep]
    ks = [int(k.split("@")[1]) for k in row["sampled"]]
    return {
        **row,
        "pass@1": float(exact.mean()),
        "pass@1_ci95": list(bootstrap_ci(exact, seed=seed)),
        "sampled": {
            f"pass@{k}": float(np.mean([pass_at_k(n_samples, int(c), k) for c in correct]))
            for k in ks
        },
    }


def apply_selection(
    result: dict[str, Any], split: dict[str, list[int]] | None, n_samples: int, seed: int
) -> dict[str, Any]:
    """Rows measured on the reported problems, with `pass@1_select` from the selection problems."""
    out = copy.deepcopy(result)
    rows = []
    for row in out["rows"]:
        if split is None:  # selection on test: one set of problems for both
            rows.append({**row, "pass@1_select": row["pass@1"]})
            continue
        selected = np.asarray(row["pass@1_per_problem"])[split["validation"]]
        reported = _restrict_row(row, split["test"], n_samples, seed)
        rows.append({**reported, "pass@1_select": float(selected.mean())})
    out["rows"] = rows
    return out


def best_row(result: dict[str, Any]) -> dict[str, Any]:
    """The T_eval row the selection problems prefer (its pass@1 is on the reported problems)."""
    return max(result["rows"], key=lambda row: row["pass@1_select"])


def choose_checkpoint(results: dict[int, dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """The step whose best T_eval scores highest on the selection problems, and every step's score."""
    table = []
    for step, result in sorted(results.items()):
        row = best_row(result)
        table.append(
            {
                "step": step,
                "t_eval": row["t_eval"],
                "pass@1_select": row["pass@1_select"],
                "pass@1": row["pass@1"],
            }
        )
    chosen = max(table, key=lambda entry: entry["pass@1_select"])
    return chosen["step"], table
