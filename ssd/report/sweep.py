"""Collect a sweep's cells into one tidy table and fit pass@1 against the effective temperature.

`collect(multirun_dir)` reads every cell's results.json into a typed `Cell` (its config, seeds and
`ssd.results.RunSummary`) and makes one tidy row per SSD (T_train, T_eval) point, with the base's
best T_eval and the SSD-as-decoder baseline beside it. A sweep can cross T_train x T_eval
with other settings (model, benchmark, filter, training truncation, round); each *setting* gets its own
T_eff fit (`teff_fits`), heatmap and optima, because pooling them would mix curves the paper keeps
apart (training top-k moves the optimum). Pure apart from reading files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ssd.artifacts import read_json
from ssd.codeeval.benchmarks import benchmark_of
from ssd.results import CurvePoint, RunSummary, round_of, ssd_labels

# What makes rows of a sweep different curves, besides T_train and T_eval.
SETTING_KEYS = (
    "model",
    "benchmark",
    "filter",
    "top_k",
    "top_p",
    "pool",
    "sft_steps",
    "lr",
    "round",
)

COLUMNS = [
    "model",
    "benchmark",
    "filter",
    "t_train",
    "top_k",
    "top_p",
    "pool",
    "sft_steps",
    "lr",
    "t_eval",
    "t_eff",
    "eval_top_k",
    "eval_top_p",
    "pass@1",
    "pass@1_select",
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
    "ssd_as_decoder_pass@1_select",
    "selection",
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


@dataclass(frozen=True)
class Cell:
    """One run of a sweep as the report reads it: its resolved config, seeds and typed summary."""

    name: str  # the run's folder, relative to the sweep's
    config: dict[str, Any]  # the run's resolved config (results.json `config`)
    seeds: list[int]
    summary: RunSummary

    @classmethod
    def read(cls, path: Path, root: Path) -> Cell:
        """A run's results.json; a summary that does not parse names its file."""
        results = read_json(path)
        try:
            summary = RunSummary.from_json(results["summary"])
        except (KeyError, ValueError) as err:
            raise ValueError(f"{path}: not a run's results.json ({err})") from err
        name = str(path.parent.relative_to(root))
        return cls(name, results["config"], list(results.get("seeds", [])), summary)


def _point_at(curve: list[CurvePoint], t_eval: float) -> CurvePoint | None:
    return next((p for p in curve if abs(p.t_eval - t_eval) < 1e-9), None)


def _setting_columns(cell: Cell) -> dict[str, Any]:
    """The columns every row of a cell shares: what was trained and how it was scored."""
    config, base_best = cell.config, cell.summary.best["base"]
    return {
        "model": config["model"]["name"],
        "benchmark": benchmark_name(config["eval"].get("benchmark", {})),
        "filter": config["filter"]["name"],
        "t_train": config["sampling"]["temperature"],
        "top_k": config["sampling"]["top_k"],
        "top_p": config["sampling"]["top_p"],
        # The SSD recipe's other knobs (sweeps/tinycode_recipe.yaml): prompts, steps, lr.
        "pool": config["data"].get("limit"),
        "sft_steps": config["finetune"].get("max_steps"),
        "lr": config["finetune"].get("lr"),
        "eval_top_k": config["eval"]["top_k"],
        "eval_top_p": config["eval"]["top_p"],
        "base_best_pass@1": base_best.pass_at_1,
        "base_best_t_eval": base_best.t_eval,
        "selection": config["eval"]["selection"],
        "seeds": " ".join(str(s) for s in cell.seeds),
        "cell": cell.name,
    }


def _point_columns(summary: RunSummary, point: CurvePoint) -> dict[str, Any]:
    """One SSD point's columns, with the base at the same T_eval and SSD-as-decoder beside it."""
    base_same = _point_at(summary.curves["base"], point.t_eval)
    decoder = _point_at(summary.curves["ssd_as_decoder"], point.t_eval)
    # over the reported problems, seeds averaged (older runs: the first seed's interval)
    low, high = point.pass_at_1_ci95 or point.pass_at_1_ci95_first_seed or (None, None)
    by_level = point.pass_at_1_by_difficulty
    return {
        "t_eval": point.t_eval,
        "t_eff": point.t_eff,
        "pass@1": point.pass_at_1,
        "pass@1_select": point.pass_at_1_select,
        "pass@1_min": point.pass_at_1_min,
        "pass@1_max": point.pass_at_1_max,
        "pass@1_ci95_low": low,
        "pass@1_ci95_high": high,
        "sampled_pass@k": json.dumps(point.sampled, sort_keys=True),
        "pass@1_easy": by_level.get("easy"),
        "pass@1_medium": by_level.get("medium"),
        "pass@1_hard": by_level.get("hard"),
        "base_pass@1_same_t_eval": base_same.pass_at_1 if base_same else None,
        "ssd_as_decoder_pass@1": decoder.pass_at_1 if decoder else None,
        "ssd_as_decoder_pass@1_select": decoder.pass_at_1_select if decoder else None,
    }


def cell_rows(cell: Cell) -> list[dict[str, Any]]:
    """One table row per SSD T_eval of a cell (every round), baselines beside it."""
    summary, shared = cell.summary, _setting_columns(cell)
    # The checkpoint step each seed reported (chosen per eval.selection), by round label.
    steps = {r.label: " ".join(str(x) for x in r.checkpoint_step_per_seed) for r in summary.rounds}
    rows = []
    for label in ssd_labels(list(summary.curves)):
        diagnostics = summary.diagnostics.get(label)
        for point in summary.curves[label]:
            row = {**shared, **_point_columns(summary, point)}
            row["round"], row["checkpoint"] = round_of(label), steps.get(label, "final")
            row["lock_distractor_mass"] = diagnostics.lock_distractor_mass if diagnostics else None
            row["fork_entropy_bits"] = diagnostics.fork_entropy_bits if diagnostics else None
            rows.append({column: row[column] for column in COLUMNS})
    return rows


def benchmark_name(benchmark: dict[str, Any]) -> str:
    """`lcb/v6`, `humaneval`, `toy`: what a pass@1 was measured on, as its spec prints it."""
    return benchmark_of(benchmark.get("name", "toy")).label(benchmark)


def read_cells(multirun_dir: Path) -> list[Cell]:
    """Every finished run under a run or multirun directory, typed."""
    root = Path(multirun_dir)
    return [Cell.read(path, root) for path in find_cells(root)]


def collect(multirun_dir: Path) -> list[dict[str, Any]]:
    """The tidy table of a sweep, sorted by setting, then T_train and T_eval."""
    rows = [row for cell in read_cells(multirun_dir) for row in cell_rows(cell)]
    return sorted(
        rows, key=lambda r: (_sort_key(setting_of(r)), r["t_train"], r["t_eval"], r["cell"])
    )


def setting_of(row: dict[str, Any]) -> tuple:
    """The row's setting apart from T_train and T_eval: each setting is one family of curves."""
    return tuple(row[key] for key in SETTING_KEYS)


def _sort_key(setting: tuple) -> tuple:
    return tuple((0, v) if isinstance(v, int | float) else (1, str(v)) for v in setting)


def by_setting(rows: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    """Rows grouped by setting, settings in a stable order."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(setting_of(row), []).append(row)
    return dict(sorted(groups.items(), key=lambda item: _sort_key(item[0])))


def setting_name(key: str, value: Any) -> str:
    """How one setting key reads in titles and tables: `top-k off`, `top-p 0.8`, `round 2`."""
    if key == "top_k":
        return f"top-k {value or 'off'}"
    if key == "top_p":
        return f"top-p {value:g}"
    if key == "lr":
        return f"lr {value:g}"
    return f"{key} {value}"


def setting_labels(rows: list[dict[str, Any]]) -> dict[tuple, str]:
    """A short name per setting that names only what varies across the sweep."""
    settings = list(by_setting(rows))
    varying = [i for i, _ in enumerate(SETTING_KEYS) if len({s[i] for s in settings}) > 1]
    return {
        s: ", ".join(setting_name(SETTING_KEYS[i], s[i]) for i in varying) or "all cells"
        for s in settings
    }


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


def teff_fits(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paper's T_eff analysis once per setting: pooling settings would blur their optima."""
    labels = setting_labels(rows)
    return [
        {
            **dict(zip(SETTING_KEYS, setting, strict=True)),
            "label": labels[setting],
            "t_eff_range": [min(r["t_eff"] for r in members), max(r["t_eff"] for r in members)],
            "fit": quadratic_fit([r["t_eff"] for r in members], [r["pass@1"] for r in members]),
        }
        for setting, members in by_setting(rows).items()
    ]


def row_optima(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best T_eval of each training setting (setting + T_train), and its T_eff.

    The fit-free test of the T_eff claim: if T_eff governs pass@1, the rows' best T_eff agree
    while their best T_eval fall as T_train rises. The best is what the selection problems prefer
    (the validation split under eval.selection=validation). A best T_eval at the end of its row's
    grid is flagged `at_edge`: the row's true optimum may lie outside the grid.
    """
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((*setting_of(row), row["t_train"]), []).append(row)
    optima = []
    for key, members in sorted(groups.items(), key=lambda item: _sort_key(item[0])):
        best = max(members, key=lambda r: r["pass@1_select"])
        grid = sorted({r["t_eval"] for r in members})
        optima.append(
            {
                **dict(zip((*SETTING_KEYS, "t_train"), key, strict=True)),
                "t_eval": best["t_eval"],
                "t_eff": best["t_eff"],
                "pass@1": best["pass@1"],
                "at_edge": len(grid) > 1 and best["t_eval"] in (grid[0], grid[-1]),
            }
        )
    return optima


SELECTION_NOTES = {
    "test": "best cell and T_eval chosen on the evaluation problems themselves (no held-out split)",
    "validation": "best cell and T_eval chosen on the held-out validation split; pass@1 on the "
    "test split",
}


def headline(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model and benchmark: best SSD beside the base's best T_eval and the best SSD-as-decoder.

    "Best" is what the selection problems prefer, so with eval.selection=validation no number
    here was chosen on the problems it is reported on.
    """
    heads = []
    for model, benchmark in sorted({(r["model"], r["benchmark"]) for r in rows}):
        members = [r for r in rows if (r["model"], r["benchmark"]) == (model, benchmark)]
        best = max(members, key=lambda r: r["pass@1_select"])
        decoders = [r for r in members if r["ssd_as_decoder_pass@1"] is not None]
        decoder = max(decoders, key=lambda r: r["ssd_as_decoder_pass@1_select"], default=None)
        selections = sorted({r["selection"] for r in members})
        heads.append(
            {
                "model": model,
                "benchmark": benchmark,
                "ssd_best_pass@1": best["pass@1"],
                "ssd_best_at": {k: best[k] for k in ("t_train", "top_k", "top_p", "round")}
                | {k: best[k] for k in ("pool", "sft_steps", "lr") if best[k] is not None}
                | {"t_eval": best["t_eval"], "t_eff": best["t_eff"]},
                "base_best_pass@1": best["base_best_pass@1"],
                "base_best_t_eval": best["base_best_t_eval"],
                "ssd_as_decoder_best_pass@1": decoder["ssd_as_decoder_pass@1"] if decoder else None,
                "ssd_as_decoder_best_at": (
                    {"t_train": decoder["t_train"], "t_eval": decoder["t_eval"]}
                    if decoder
                    else None
                ),
                "selection": "; ".join(SELECTION_NOTES[s] for s in selections),
            }
        )
    return heads
