"""pass@k of graded samples: every k up to the smallest sample count, CIs, per difficulty.

Shared by the pipeline's code evaluator and `ssd grade`, so a samples file graded by hand gives the
same numbers as the run that made it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from ssd.codeeval.grading import STATUSES, Verdict
from ssd.codeeval.problem import Problem, ids_sha256
from ssd.metrics import bootstrap_ci, mean_pass_at_k, pass_at_k


def summarize(problems: list[Problem], ids: list[str], verdicts: list[Verdict]) -> dict:
    """pass@k (every k up to the smallest sample count), CIs, per difficulty, failure fractions.

    Args:
        problems: The problems that have samples.
        ids: The problem id of each sample.
        verdicts: The verdict of each sample.
    """
    correct: dict[str, list[bool]] = defaultdict(list)
    for pid, verdict in zip(ids, verdicts, strict=True):
        correct[pid].append(verdict.passed)
    ns = {p.id: len(correct[p.id]) for p in problems}
    cs = {p.id: sum(correct[p.id]) for p in problems}
    ks = range(1, min(ns.values()) + 1)

    def block(subset: list[Problem]) -> dict:
        n, c = [ns[p.id] for p in subset], [cs[p.id] for p in subset]
        out = {"n_problems": len(subset)}
        out["pass@k"] = {f"pass@{k}": mean_pass_at_k(n, c, k) for k in ks}
        out["pass@k_ci95"] = {
            f"pass@{k}": list(bootstrap_ci([pass_at_k(a, b, k) for a, b in zip(n, c, strict=True)]))
            for k in ks
        }
        return out

    counts = Counter(v.status for v in verdicts)
    summary = {
        "n_problems": len(problems),
        "problem_ids_sha256": ids_sha256(problems),
        "n_samples": len(verdicts),
        "samples_per_problem": {"min": min(ns.values()), "max": max(ns.values())},
        **block(problems),
        "fractions": {s: counts.get(s, 0) / len(verdicts) for s in STATUSES},
        # Whose verdicts these are: under ml_ssd / lcb the official repository@commit mirrored.
        "graded_by": sorted({v.grader for v in verdicts if v.grader}),
    }
    levels = sorted({p.difficulty for p in problems if p.difficulty})
    if levels:
        summary["by_difficulty"] = {
            d: block([p for p in problems if p.difficulty == d]) for d in levels
        }
    return summary
