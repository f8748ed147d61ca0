"""Collect a sweep's cells into one tidy table and fit pass@1 against the effective temperature.

`collect(multirun_dir)` reads every cell's results.json (one row per SSD (T_train, T_eval) point, with
the base's best T_eval and the SSD-as-decoder baseline beside it); `quadratic_fit` is the paper's
T_eff analysis (pass@1 ~ a + b*T_eff + c*T_eff^2, its R^2 and peak). Pure apart from reading files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

COLUMNS = [
    "t_train",
    "top_k",
    "top_p",
    "t_eval",
    "t_eff",
    "pass@1",
    "pass@1_min",
    "pass@1_max",
    "pass@1_ci95_low",
    "pass@1_ci95_high",
    "sampled_pass@k",
    "pass@1_easy",
    "pass@1_medium",
    "pass@1_hard",
    "round",
    "checkpoint",
    "base_pass@1_same_t_eval",
    "base_best_pass@1",
    "base_best_t_eval",
    "ssd_as_decoder_pass@1",
    "lock_distractor_mass",
    "fork_entropy_bits",
    "seeds",
    "cell",
]


def find_cells(multirun_dir: Path) -> list[Path]:
    """Every results.json under a run or multirun directory (a single run is a sweep of one)."""
    root = Path(multirun_dir)
    cells = sorted(root.glob("**/results.json"))
    return [c for c in cells if "wandb" not in c.parts]


def _row_at(curve: list[dict[str, Any]], t_eval: float) -> dict[str, Any] | None:
    return next((row for row in curve if abs(row["t_eval"] - t_eval) < 1e-9), None)


def _round_of(label: str) -> int:
    """`ssd` is round 1, `ssd_round3` round 3 (the labels ssd.report gives each round)."""
    return 1 if label == "ssd" else int(label.removeprefix("ssd_round"))


def cell_rows(results: dict[str, Any], cell: str) -> list[dict[str, Any]]:
    """One table row per SSD T_eval of a cell, baselines beside it."""
    config = results["config"]
    summary = results["summary"]
    curves = summary["curves"]
    base_best = summary["best"]["base"]
    rows = []
    ssd_labels = sorted(
        (k for k in curves if k == "ssd" or k.startswith("ssd_round")), key=_round_of
    )
    # The checkpoint step each seed reported (chosen per eval.selection), by round label.
    steps = {
        entry["label"]: " ".join(str(x) for x in entry.get("checkpoint_step_per_seed", []))
        for entry in summary.get("rounds", [])
    }
    for label in ssd_labels:
        diagnostics = summary.get("diagnostics", {}).get(label, {})
        for point in curves[label]:
            base_same = _row_at(curves["base"], point["t_eval"])
            decoder = _row_at(curves["ssd_as_decoder"], point["t_eval"])
            ci = point.get("pass@1_ci95_first_seed") or [None, None]
            by_level = point.get("pass@1_by_difficulty", {})
            rows.append(
                {
                    "t_train": config["sampling"]["temperature"],
                    "top_k": config["sampling"]["top_k"],
                    "top_p": config["sampling"]["top_p"],
                    "t_eval": point["t_eval"],
                    "t_eff": point["t_eff"],
                    "pass@1": point["pass@1"],
                    "pass@1_min": point["pass@1_min"],
                    "pass@1_max": point["pass@1_max"],
                    "pass@1_ci95_low": ci[0],
                    "pass@1_ci95_high": ci[1],
                    "sampled_pass@k": json.dumps(point.get("sampled", {}), sort_keys=True),
                    "pass@1_easy": by_level.get("easy"),
                    "pass@1_medium": by_level.get("medium"),
                    "pass@1_hard": by_level.get("hard"),
                    "round": _round_of(label),
                    "checkpoint": steps.get(label, "final"),
                    "base_pass@1_same_t_eval": base_same["pass@1"] if base_same else None,
                    "base_best_pass@1": base_best["pass@1"],
                    "base_best_t_eval": base_best["t_eval"],
                    "ssd_as_decoder_pass@1": decoder["pass@1"] if decoder else None,
                    "lock_distractor_mass": diagnostics.get("lock_distractor_mass"),
                    "fork_entropy_bits": diagnostics.get("fork_entropy_bits"),
                    "seeds": " ".join(str(s) for s in results.get("seeds", [])),
                    "cell": cell,
                }
            )
    return rows


def collect(multirun_dir: Path) -> list[dict[str, Any]]:
    """The tidy table of a sweep, sorted by (T_train, top-k, top-p, T_eval)."""
    root = Path(multirun_dir)
    rows = []
    for path in find_cells(root):
        results = json.loads(path.read_text(encoding="utf-8"))
        rows.extend(cell_rows(results, str(path.parent.relative_to(root))))
    return sorted(
        rows, key=lambda r: (r["t_train"], r["top_k"], r["top_p"], r["t_eval"], r["cell"])
    )


def quadratic_fit(t_eff: list[float], pass1: list[float]) -> dict[str, Any]:
    """Least-squares pass@1 = c0 + c1*T_eff + c2*T_eff^2, with R^2 and the fitted peak."""
    x, y = np.asarray(t_eff, dtype=float), np.asarray(pass1, dtype=float)
    if len(np.unique(x)) < 3:
        return {"coefficients": None, "r2": None, "peak_t_eff": None, "n_points": len(x)}
    c2, c1, c0 = np.polyfit(x, y, 2)
    predicted = c0 + c1 * x + c2 * x**2
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - predicted) ** 2).sum()) / total if total > 0 else None
    peak = float(-c1 / (2 * c2)) if c2 < 0 else None
    return {
        "coefficients": [float(c0), float(c1), float(c2)],
        "r2": r2,
        "peak_t_eff": peak,
        "n_points": len(x),
    }


def row_optima(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best T_eval of each training setting (T_train, top-k, top-p, round), and its T_eff.

    The fit-free test of the T_eff claim: if T_eff governs pass@1, the rows' best T_eff agree
    while their best T_eval fall as T_train rises. A best T_eval at the end of its row's grid is
    flagged `at_edge`: the row's true optimum may lie outside the grid.
    """
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        setting = (row["t_train"], row["top_k"], row["top_p"], row["round"])
        groups.setdefault(setting, []).append(row)
    optima = []
    for (t_train, top_k, top_p, round_), members in sorted(groups.items()):
        best = max(members, key=lambda r: r["pass@1"])
        grid = sorted({r["t_eval"] for r in members})
        optima.append(
            {
                "t_train": t_train,
                "top_k": top_k,
                "top_p": top_p,
                "round": round_,
                "t_eval": best["t_eval"],
                "t_eff": best["t_eff"],
                "pass@1": best["pass@1"],
                "at_edge": len(grid) > 1 and best["t_eval"] in (grid[0], grid[-1]),
            }
        )
    return optima


def describe_fit(fit: dict[str, Any], t_eff: list[float]) -> str:
    """The quadratic fit in words, saying why there is no peak when there is none."""
    if fit["r2"] is None:
        return "quadratic fit of pass@1 on T_eff: n/a (< 3 distinct T_eff)"
    text = f"quadratic fit of pass@1 on T_eff: R^2 = {fit['r2']:.3f}, "
    peak = fit["peak_t_eff"]
    if peak is None:
        return text + "no peak (the fitted parabola opens upward: the grid misses the rise)"
    if not min(t_eff) <= peak <= max(t_eff):
        return text + f"peak T_eff = {peak:.2f}, outside the grid's {min(t_eff):g}..{max(t_eff):g}"
    return text + f"peak T_eff = {peak:.2f}"


def format_optima(optima: list[dict[str, Any]]) -> str:
    """One line per training setting: where its T_eval optimum is, flagged at the grid's edge."""
    lines = ["best T_eval per training setting (T_eff = T_train * T_eval):"]
    for o in optima:
        setting = f"T_train {o['t_train']:g}, top-k {o['top_k']}, top-p {o['top_p']:g}"
        setting += f", round {o['round']}" if o["round"] != 1 else ""
        edge = "  <- at the grid's edge: extend eval.temperature" if o["at_edge"] else ""
        lines.append(
            f"  {setting}: T_eval {o['t_eval']:g} -> T_eff {o['t_eff']:.2f}, "
            f"pass@1 {o['pass@1']:.4f}{edge}"
        )
    return "\n".join(lines)


def headline(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Best SSD point beside the base's best T_eval and the best SSD-as-decoder point."""
    if not rows:
        return {}
    best = max(rows, key=lambda r: r["pass@1"])
    decoders = [r for r in rows if r["ssd_as_decoder_pass@1"] is not None]
    best_decoder = max(decoders, key=lambda r: r["ssd_as_decoder_pass@1"]) if decoders else None
    return {
        "ssd_best_pass@1": best["pass@1"],
        "ssd_best_at": {
            "t_train": best["t_train"],
            "t_eval": best["t_eval"],
            "t_eff": best["t_eff"],
        },
        "base_best_pass@1": best["base_best_pass@1"],
        "base_best_t_eval": best["base_best_t_eval"],
        "ssd_as_decoder_best_pass@1": best_decoder["ssd_as_decoder_pass@1"]
        if best_decoder
        else None,
        "ssd_as_decoder_best_at": (
            {"t_train": best_decoder["t_train"], "t_eval": best_decoder["t_eval"]}
            if best_decoder
            else None
        ),
        "selection": "best cell chosen on the evaluation problems themselves (no held-out split)",
    }


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A fixed-width table of the columns people read first."""
    shown = [
        ("t_train", "T_train", "{:.2f}"),
        ("top_k", "k", "{}"),
        ("top_p", "p", "{:.2f}"),
        ("t_eval", "T_eval", "{:.2f}"),
        ("t_eff", "T_eff", "{:.2f}"),
        ("pass@1", "SSD pass@1", "{:.4f}"),
        ("base_pass@1_same_t_eval", "base same T", "{:.4f}"),
        ("base_best_pass@1", "base best", "{:.4f}"),
        ("ssd_as_decoder_pass@1", "SSD-as-dec", "{:.4f}"),
    ]
    widths = [max(len(title), 7) for _, title, _ in shown]
    lines = [" | ".join(title.rjust(w) for (_, title, _), w in zip(shown, widths, strict=True))]
    lines.append("-" * len(lines[0]))
    for row in rows:
        cells = [
            (fmt.format(row[key]) if row[key] is not None else "-").rjust(w)
            for (key, _, fmt), w in zip(shown, widths, strict=True)
        ]
        lines.append(" | ".join(cells))
    return "\n".join(lines)
