"""Output of the fork/lock analysis: summary scalars, a text table, the PNG panels, sweep charts.

Reads only what `ssd.analysis.forklock.ForkLockAccumulator.result()` returns (or results.json files of
pipeline runs, for the sweep helpers `fork_lock_rows` and `plot_fork_lock_vs_t_train`); no maths
beyond means over seeds. PNGs are written through a temp file and a rename.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ssd.report.plots import pyplot, save_png

SUMMARY_KEYS = ("lock_distractor_mass", "fork_entropy_bits", "fork_kept_mass", "entropy_bits")
COLORS = {"base": "tab:blue", "ssd": "tab:orange"}
TITLES = {"base": "base", "ssd": "SSD"}
STYLES = {"all": "-", "lock": "--", "fork": ":"}


def flat_summary(result: dict[str, Any]) -> dict[str, float | int | None]:
    """The headline numbers, one level deep: what a sweep cell carries and W&B gets."""
    s = result["summary"]
    flat = {k: s[k] for k in ("n_positions", "lock_fraction", "mean_support_size")}
    flat.update(
        {f"{model}/{key}": s[model][key] for model in ("base", "ssd") for key in SUMMARY_KEYS}
    )
    return flat


def _num(value: float | None, fmt: str = ".4f") -> str:
    # + 0.0 turns float noise like -8e-17 rounded to -0.0 into 0.0: no "-0.0000" in the table
    return "-" if value is None else format(float(format(value, fmt)) + 0.0, fmt)


def format_summary(result: dict[str, Any]) -> str:
    """A short text table: per group, each model's entropy, kept mass and its split."""
    cfg = result["settings"]
    s = result["summary"]
    lines = [
        f"support S_s of (T_train {cfg['train_temperature']}, top-k {cfg['train_top_k']}, "
        f"top-p {cfg['train_top_p']}): {s['n_positions']} positions, lock fraction "
        f"{_num(s['lock_fraction'], '.3f')}, mean |S_s| {_num(s['mean_support_size'], '.2f')}",
        f"{'group':<6} {'model':<5} {'n':>7} {'H bits':>8} {'KeptMass':>9} {'gate':>7} "
        f"{'K*H(head)':>10} {'(1-K)*H(tail)':>14}",
    ]
    for group in ("lock", "fork", "all"):
        for model in ("base", "ssd"):
            g = result["models"][model][group]
            lines.append(
                f"{group:<6} {TITLES[model]:<5} {g['n_positions']:>7} {_num(g['entropy']):>8} "
                f"{_num(g['kept_mass']):>9} {_num(g['gate']):>7} {_num(g['head']):>10} "
                f"{_num(g['tail']):>14}"
            )
    for key in ("lock_distractor_mass", "fork_entropy_bits"):
        lines.append(f"{key}: base {_num(s['base'][key])} -> SSD {_num(s['ssd'][key])}")
    return "\n".join(lines)


def plot_fork_lock(result: dict[str, Any], path: Path) -> Path:
    """Entropy split bars, entropy histograms, cumulative mass vs rank, support sizes."""
    plt = pyplot()
    models, cfg = result["models"], result["settings"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ax = axes[0, 0]
    names, bottoms = [], []
    for group in ("lock", "fork"):
        for model in ("base", "ssd"):
            names.append(f"{group}\n{TITLES[model]}")
            bottoms.append(models[model][group])
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for term, color in (("gate", "tab:gray"), ("head", "tab:green"), ("tail", "tab:red")):
        heights = np.array([g[term] or 0.0 for g in bottoms])
        ax.bar(x, heights, bottom=bottom, color=color, label=term)
        bottom += heights
    for xi, total in zip(x, bottom, strict=True):
        ax.text(xi, total, f"H={total:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names)
    ax.set(ylabel="bits", title="H = h2(KeptMass) + K·H(head) + (1-K)·H(tail), S_s of the base")
    ax.legend()
    ax = axes[0, 1]
    edges = np.arange(len(models["base"]["all"]["entropy_histogram"]) + 1) * cfg["entropy_bin_bits"]
    top = 0.0
    for model in ("base", "ssd"):
        for group in ("lock", "fork"):
            counts = np.array(models[model][group]["entropy_histogram"], dtype=float)
            if counts.sum() == 0:
                continue
            nonzero = np.flatnonzero(counts)
            top = max(top, edges[nonzero[-1] + 1])
            ax.stairs(counts / counts.sum(), edges, color=COLORS[model], linestyle=STYLES[group],
                      label=f"{TITLES[model]} {group}")  # fmt: skip
    ax.set(xlabel="per-position entropy (bits, T=1)", ylabel="share of positions",
           title="Per-position entropy", xlim=(0, max(top, 0.5)))  # fmt: skip
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    ranks = np.arange(1, cfg["max_rank"] + 1)
    for model in ("base", "ssd"):
        for group in ("lock", "fork"):
            curve = models[model][group]["cumulative_mass"]
            if curve is not None:
                ax.plot(ranks, curve, color=COLORS[model], linestyle=STYLES[group],
                        label=f"{TITLES[model]} {group}")  # fmt: skip
    ax.set_xscale("log")
    ax.set(xlabel="rank", ylabel="cumulative probability (T=1)", title="Cumulative mass vs rank")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[1, 1]
    hist = result["support_size_histogram"]
    ax.bar(hist["sizes"], hist["counts"], color="tab:purple")
    ax.set(xlabel=f"|S_s| (last bar: {hist['last_bin']})", ylabel="positions",
           title="Support size of the base's training decoding (1 = lock)")  # fmt: skip
    fig.suptitle(
        f"Fork/lock analysis: T_train {cfg['train_temperature']}, top-k {cfg['train_top_k']}, "
        f"top-p {cfg['train_top_p']} ({result['summary']['n_positions']} positions)"
    )
    save_png(fig, path)
    return path


def plot_eval_truncation(result: dict[str, Any], path: Path) -> Path:
    """Surviving tokens and post-truncation entropy vs T_eval, overall and by top-k mass bin."""
    plt = pyplot()
    models, cfg = result["models"], result["settings"]
    temps = cfg["eval_temperatures"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for key, ax, label in (
        ("surviving_tokens", axes[0], "tokens surviving eval truncation"),
        ("truncated_entropy", axes[1], "entropy after eval truncation (bits)"),
    ):
        for model in ("base", "ssd"):
            for group in ("all", "lock", "fork"):
                curve = models[model][group][key]
                if curve is not None:
                    ax.plot(temps, curve, marker="o", ms=3, color=COLORS[model],
                            linestyle=STYLES[group], label=f"{TITLES[model]} {group}")  # fmt: skip
        ax.set(xlabel="T_eval", ylabel=label, title=label.split(" (")[0])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    counts = [v for m in models.values() for g in m.values() for v in g["surviving_tokens"] or []]
    if counts and max(counts) > 20 * max(min(counts), 1):  # real vocabularies: 1 to thousands
        axes[0].set_yscale("log")
    ax = axes[2]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(cfg["mass_bin_labels"])))
    bins = models["base"]["all"]["by_top_mass_bin"]
    for index, (label, color) in enumerate(zip(cfg["mass_bin_labels"], colors, strict=True)):
        for model, style in (("base", "--"), ("ssd", "-")):
            curve = models[model]["all"]["by_top_mass_bin"]["truncated_entropy"][index]
            if curve is not None:
                name = f"{label} (n={bins['n_positions'][index]})" if model == "ssd" else None
                ax.plot(temps, curve, style, color=color, label=name)
    ax.set(xlabel="T_eval", ylabel="entropy after eval truncation (bits)",
           title=f"by the base's top-{cfg['top_mass_k']} mass (SSD solid, base dashed)")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle(f"Eval truncation: top-k {cfg['eval_top_k']}, top-p {cfg['eval_top_p']}")
    save_png(fig, path)
    return path


def write_plots(result: dict[str, Any], out_dir: str | Path) -> dict[str, str]:
    """fork_lock.png and eval_truncation.png under `out_dir`; returns their paths."""
    out = Path(out_dir)
    return {
        "fork_lock": str(plot_fork_lock(result, out / "fork_lock.png")),
        "eval_truncation": str(plot_eval_truncation(result, out / "eval_truncation.png")),
    }


# -- sweeps: the fork/lock summary of every cell against T_train ------------------------------


def fork_lock_rows(multirun_dir: str | Path, label: str = "ssd") -> list[dict[str, Any]]:
    """One row per sweep cell with an analysis: its sampling decoding and the summary's seed mean.

    Reads every results.json under `multirun_dir` (pipeline runs store each seed's summary under
    ``replicates[i]["fork_lock"][label]``); cells run without the analysis are skipped.
    """
    rows = []
    for path in sorted(Path(multirun_dir).glob("**/results.json")):
        if "wandb" in path.parts:
            continue
        results = json.loads(path.read_text(encoding="utf-8"))
        per_seed = [
            rep["fork_lock"][label]
            for rep in results.get("replicates", [])
            if (rep.get("fork_lock") or {}).get(label)
        ]
        if not per_seed:
            continue
        sampling = results["config"]["sampling"]
        row = {k: sampling[k] for k in ("temperature", "top_k", "top_p")}
        row["t_train"] = row.pop("temperature")
        for key in per_seed[0]:
            values = [seed[key] for seed in per_seed if seed.get(key) is not None]
            row[key] = float(np.mean(values)) if values else None
        row.update({"n_seeds": len(per_seed), "cell": str(path.parent)})
        rows.append(row)
    return sorted(rows, key=lambda r: (r["t_train"], r["top_k"], r["top_p"], r["cell"]))


def _cell_means(by_t: dict[float, list[dict]], temps: list[float], key: str) -> list[float]:
    """Mean of `key` over the cells of each T_train; NaN (a gap in the line) where none has it."""
    means = []
    for t in temps:
        values = [r[key] for r in by_t[t] if r.get(key) is not None]
        means.append(float(np.mean(values)) if values else float("nan"))
    return means


def plot_fork_lock_vs_t_train(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Lock distractor mass, fork entropy and mean support size against T_train, base vs SSD.

    Cells with the same (T_train, top-k, top-p) (e.g. several T_eval of one T_train) are
    averaged; one line per (top-k, top-p).
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    groups: dict[tuple, dict[float, list[dict]]] = {}
    for row in rows:
        groups.setdefault((row["top_k"], row["top_p"]), {}).setdefault(row["t_train"], []).append(
            row
        )
    for (top_k, top_p), by_t in sorted(groups.items()):
        temps = sorted(by_t)
        tag = f"k={top_k}, p={top_p}"
        for ax, key in ((axes[0], "lock_distractor_mass"), (axes[1], "fork_entropy_bits")):
            for model, style in (("base", "--"), ("ssd", "-")):
                ax.plot(temps, _cell_means(by_t, temps, f"{model}/{key}"), style, marker="o",
                        label=f"{TITLES[model]} ({tag})")  # fmt: skip
        axes[2].plot(temps, _cell_means(by_t, temps, "mean_support_size"), marker="o", label=tag)
    for ax, title in zip(
        axes, ("lock distractor mass", "fork entropy (bits)", "mean |S_s| of the base"), strict=True
    ):
        ax.set(xlabel="T_train", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    out = Path(path)
    save_png(fig, out)
    return out
