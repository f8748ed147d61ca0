"""The sweep report's PNGs: pass@1 over T_train x T_eval, pass@1 vs T_eval (with 95% CIs) and vs
T_eff, best SSD vs baselines.

Each takes the tidy rows of `ssd.report.sweep.collect` and draws one panel per setting (model,
benchmark, filter, training truncation, round), so a truncation or rounds sweep is not flattened
into one grid.
Written atomically (temp file, then rename) through `ssd.report.plots`; matplotlib runs headless.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ssd.report import plots
from ssd.report.sweep import by_setting, setting_labels


def _panels(n: int, width: float, height: float) -> tuple[Any, list[Any]]:
    """A figure with n panels, at most 3 a row; unused axes are hidden."""
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plots.pyplot().subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False
    )
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def plot_heatmap(rows: list[dict[str, Any]], path: Path) -> Path:
    """SSD pass@1 over T_train x T_eval (mean over seeds), one panel per setting."""
    groups, labels = by_setting(rows), setting_labels(rows)
    n_train = max(len({r["t_train"] for r in g}) for g in groups.values())
    n_eval = max(len({r["t_eval"] for r in g}) for g in groups.values())
    fig, axes = _panels(len(groups), 1.6 + 0.8 * n_eval, 1.4 + 0.6 * n_train)
    for ax, (setting, members) in zip(axes, groups.items(), strict=True):
        t_trains = sorted({r["t_train"] for r in members})
        t_evals = sorted({r["t_eval"] for r in members})
        grid = np.full((len(t_trains), len(t_evals)), np.nan)
        for r in members:
            grid[t_trains.index(r["t_train"]), t_evals.index(r["t_eval"])] = r["pass@1"]
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        for i, j in zip(*np.nonzero(~np.isnan(grid)), strict=True):
            ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", color="w", fontsize=8)
        ax.set_xticks(range(len(t_evals)), [f"{t:g}" for t in t_evals])
        ax.set_yticks(range(len(t_trains)), [f"{t:g}" for t in t_trains])
        ax.set_xlabel("T_eval")
        ax.set_ylabel("T_train")
        ax.set_title(f"SSD pass@1 — {labels[setting]}", fontsize=9)
        fig.colorbar(image, ax=ax)
    return plots.save_png(fig, path)


def plot_teff(rows: list[dict[str, Any]], fits: list[dict[str, Any]], path: Path) -> Path:
    """pass@1 vs T_eff coloured by T_train, each setting's quadratic fit and R^2 in its panel."""
    groups = by_setting(rows)
    fig, axes = _panels(len(groups), 6, 4)
    for ax, members, fit in zip(axes, groups.values(), fits, strict=True):
        for t_train in sorted({r["t_train"] for r in members}):
            pts = [r for r in members if r["t_train"] == t_train]
            ax.scatter(
                [r["t_eff"] for r in pts], [r["pass@1"] for r in pts], label=f"T_train={t_train:g}"
            )
        if fit["fit"]["coefficients"]:
            c0, c1, c2 = fit["fit"]["coefficients"]
            xs = np.linspace(*fit["t_eff_range"], 200)
            ax.plot(
                xs,
                c0 + c1 * xs + c2 * xs**2,
                "k--",
                label=f"quadratic fit, R²={fit['fit']['r2']:.2f}",
            )
        ax.set_xlabel("T_eff = T_train · T_eval")
        ax.set_ylabel("SSD pass@1")
        ax.set_title(fit["label"], fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return plots.save_png(fig, path)


def plot_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    """SSD pass@1 vs T_eval, one line per T_train with its 95% CI over problems as a band (points
    without one, from older runs, get none), one panel per setting: the intervals the heatmap
    cannot show."""
    groups, labels = by_setting(rows), setting_labels(rows)
    fig, axes = _panels(len(groups), 6, 4)
    for ax, (setting, members) in zip(axes, groups.items(), strict=True):
        for t_train in sorted({r["t_train"] for r in members}):
            pts = sorted((r for r in members if r["t_train"] == t_train), key=lambda r: r["t_eval"])
            x = [r["t_eval"] for r in pts]
            ax.plot(x, [r["pass@1"] for r in pts], marker="o", label=f"T_train={t_train:g}")
            if all(r["pass@1_ci95_low"] is not None for r in pts):
                low, high = (
                    [r["pass@1_ci95_low"] for r in pts],
                    [r["pass@1_ci95_high"] for r in pts],
                )
                ax.fill_between(x, low, high, alpha=0.2)
        ax.set_xlabel("T_eval")
        ax.set_ylabel("SSD pass@1 (band: 95% CI over problems)")
        ax.set_title(labels[setting], fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return plots.save_png(fig, path)


def _where(head: dict[str, Any], key: str) -> str:
    """Where a bar's number was found, for its label."""
    if key == "base_best_pass@1":
        return f"T_eval {head['base_best_t_eval']:g}"
    at = head["ssd_best_at" if key == "ssd_best_pass@1" else "ssd_as_decoder_best_at"]
    return f"T_train {at['t_train']:g}\nT_eval {at['t_eval']:g}" if at else ""


def plot_best(heads: list[dict[str, Any]], path: Path) -> Path:
    """Per model and benchmark: base at its best T_eval, the best SSD-as-decoder and the best SSD."""
    plt = plots.pyplot()
    bars_of = [
        ("base (best T_eval)", "base_best_pass@1", "#888"),
        ("SSD-as-decoder (best)", "ssd_as_decoder_best_pass@1", "#4a90d9"),
        ("SSD (best)", "ssd_best_pass@1", "#d9534f"),
    ]
    fig, ax = plt.subplots(figsize=(2.5 + 2.5 * len(heads), 4.2))
    x = np.arange(len(heads))
    width = 0.8 / len(bars_of)
    for i, (name, key, color) in enumerate(bars_of):
        values = [h[key] if h[key] is not None else np.nan for h in heads]
        bars = ax.bar(x + (i - 1) * width, values, width, label=name, color=color)
        labels = ["" if h[key] is None else f"{h[key]:.4f}\n{_where(h, key)}" for h in heads]
        ax.bar_label(bars, labels=labels, fontsize=7)
    ax.set_xticks(x, [f"{h['model']}\n{h['benchmark']}" for h in heads])
    ax.set_ylabel("pass@1")
    ax.set_ylim(0, 1.25 * max(max(h[k] or 0 for _, k, _ in bars_of) for h in heads) or 1)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    ax.set_title("; ".join(sorted({h["selection"] for h in heads})), fontsize=8, wrap=True)
    return plots.save_png(fig, path)
