"""Stage `report`: put base, SSD-as-decoder and SSD side by side over the same T_eval grid.

`summarize(replicates, t_train)` is pure: it averages each decoder's pass@1 over seeds, finds best
T_eval, and words a verdict only as strong as the numbers. `write_report` writes results.json, the
pass@1-vs-T PNG and prints the table; it never claims a gain the replicates do not all show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ssd.artifacts import atomic_write_json

LABELS = ("base", "ssd_as_decoder", "ssd")
TITLES = {"base": "base", "ssd_as_decoder": "SSD-as-decoder", "ssd": "SSD"}


def _labels(replicate: dict[str, Any]) -> list[str]:
    """The fixed labels, then one `ssd_roundR` per further SSD round (rounds > 1)."""
    rounds = sorted(
        (k for k in replicate if k.startswith("ssd_round")),
        key=lambda k: int(k[len("ssd_round") :]),
    )
    return [*LABELS, *rounds]


def _title(label: str) -> str:
    return TITLES.get(label) or f"SSD round {label[len('ssd_round') :]}"


def _select(row: dict[str, Any]) -> float:
    """What choosing T_eval maximises: validation pass@1 when there is a split, else pass@1."""
    return row.get("pass@1_select", row["pass@1"])


def _curve(replicates: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """Per T_eval: pass@1 mean, spread over seeds, and sampled pass@k means."""
    by_t: dict[float, list[dict[str, Any]]] = {}
    for rep in replicates:
        for row in rep[label]["rows"]:
            by_t.setdefault(row["t_eval"], []).append(row)
    curve = []
    for t_eval in sorted(by_t):
        rows = by_t[t_eval]
        values = np.array([r["pass@1"] for r in rows])
        select = np.array([_select(r) for r in rows])
        sampled_keys = rows[0]["sampled"].keys()
        curve.append(
            {
                "t_eval": t_eval,
                "pass@1": float(values.mean()),
                "pass@1_min": float(values.min()),
                "pass@1_max": float(values.max()),
                "pass@1_std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                "pass@1_per_seed": values.tolist(),
                "pass@1_select": float(select.mean()),
                "pass@1_ci95_first_seed": rows[0]["pass@1_ci95"],
                "sampled": {
                    k: float(np.mean([r["sampled"][k] for r in rows])) for k in sampled_keys
                },
                # Code benchmarks: pass@1 per difficulty, mean over seeds (the toy has none).
                "pass@1_by_difficulty": {
                    level: float(
                        np.mean([r["by_difficulty"][level]["pass@k"]["pass@1"] for r in rows])
                    )
                    for level in rows[0].get("by_difficulty", {})
                },
            }
        )
    return curve


def _best(curve: list[dict[str, Any]]) -> dict[str, Any]:
    return max(curve, key=_select)


def _best_per_seed(replicates: list[dict[str, Any]], label: str) -> list[float]:
    """Per seed: pass@1 at the T_eval the selection problems choose."""
    return [max(rep[label]["rows"], key=_select)["pass@1"] for rep in replicates]


def _verdict(name: str, ours: list[float], theirs: list[float]) -> str:
    diffs = np.array(ours) - np.array(theirs)
    head = f"{name}: {diffs.mean():+.4f} pass@1 (per seed: {', '.join(f'{d:+.4f}' for d in diffs)})"
    if len(diffs) < 2:
        return head + " -> one seed only: no claim"
    if (diffs > 0).all():
        return head + " -> higher in every seed"
    if (diffs < 0).all():
        return head + " -> lower in every seed"
    return head + " -> no consistent difference"


def summarize(
    replicates: list[dict[str, Any]],
    t_train: float,
    selection: str = "chosen on the evaluation problems themselves (no held-out split)",
) -> dict[str, Any]:
    """Curves, best T_eval per decoder, diagnostics and verdicts from per-seed evaluation results."""
    labels = _labels(replicates[0])
    ssd_labels = [
        label for label in labels if label.startswith("ssd") and label != "ssd_as_decoder"
    ]
    curves = {label: _curve(replicates, label) for label in labels}
    for label in ("ssd_as_decoder", *ssd_labels):
        for row in curves[label]:
            row["t_eff"] = round(t_train * row["t_eval"], 6)
    for row in curves["base"]:
        row["t_eff"] = row["t_eval"]
    best = {label: _best(curve) for label, curve in curves.items()}
    # Toy-only: the exact lock/fork diagnostics of the evaluator (code benchmarks have none).
    diagnostics = {
        label: {
            key: float(np.mean([rep[label][key] for rep in replicates]))
            for key in ("lock_distractor_mass", "fork_entropy_bits")
        }
        for label in ("base", *ssd_labels)
        if all("lock_distractor_mass" in rep[label] for rep in replicates)
    }
    ssd_best = _best_per_seed(replicates, "ssd")
    verdicts = [
        _verdict("SSD best vs base best", ssd_best, _best_per_seed(replicates, "base")),
        _verdict(
            "SSD best vs SSD-as-decoder best",
            ssd_best,
            _best_per_seed(replicates, "ssd_as_decoder"),
        ),
    ]
    verdicts += [
        _verdict(
            f"{_title(label)} best vs base best",
            _best_per_seed(replicates, label),
            _best_per_seed(replicates, "base"),
        )
        for label in ssd_labels[1:]
    ]
    rounds = [
        {
            "round": i + 1,
            "label": label,
            "checkpoint_step_per_seed": [rep[label].get("checkpoint_step") for rep in replicates],
            "checkpoints_per_seed": [rep[label].get("checkpoints") for rep in replicates],
        }
        for i, label in enumerate(ssd_labels)
    ]
    return {
        "t_train": t_train,
        "curves": curves,
        "best": {
            label: {"t_eval": row["t_eval"], "t_eff": row["t_eff"], "pass@1": row["pass@1"]}
            for label, row in best.items()
        },
        "diagnostics": diagnostics,
        "verdicts": verdicts,
        "best_t_selection": selection,
        "labels": labels,
        "rounds": rounds,
    }


def format_table(summary: dict[str, Any]) -> str:
    curves = summary["curves"]
    labels = summary.get("labels", LABELS)
    k_keys = list(curves["base"][0]["sampled"].keys())
    header = (
        f"{'T_eval':>6} | "
        + " | ".join(f"{_title(label):>22}" for label in labels)
        + f" | {'T_eff':>5} | "
        + " ".join(f"{'SSD ' + k:>12}" for k in k_keys)
    )
    lines = [header, "-" * len(header)]
    rows_by_t = {label: {r["t_eval"]: r for r in curves[label]} for label in labels}
    for t_eval in sorted(rows_by_t["ssd"]):
        cells = []
        for label in labels:
            row = rows_by_t[label].get(t_eval)
            cells.append(
                f"{row['pass@1']:.4f} [{row['pass@1_min']:.4f},{row['pass@1_max']:.4f}]"
                if row
                else " " * 22
            )
        ssd = rows_by_t["ssd"][t_eval]
        sampled = " ".join(f"{ssd['sampled'][k]:>12.4f}" for k in k_keys)
        lines.append(
            f"{t_eval:>6.2f} | "
            + " | ".join(f"{c:>22}" for c in cells)
            + f" | {ssd['t_eff']:>5.2f} | {sampled}"
        )
    lines.append("")
    for label in labels:
        b = summary["best"][label]
        lines.append(
            f"best {_title(label):<15} T_eval={b['t_eval']:.2f} (T_eff={b['t_eff']:.2f})  pass@1={b['pass@1']:.4f}"
        )
    d = summary["diagnostics"]
    if "base" in d and "ssd" in d:
        lines.append(
            f"lock distractor mass: base {d['base']['lock_distractor_mass']:.4f} -> SSD {d['ssd']['lock_distractor_mass']:.4f}; "
            f"fork entropy (bits): base {d['base']['fork_entropy_bits']:.3f} -> SSD {d['ssd']['fork_entropy_bits']:.3f}"
        )
    lines.extend(summary["verdicts"])
    for entry in summary.get("rounds", []):
        if any(len(table or []) > 1 for table in entry["checkpoints_per_seed"]):
            lines.append(
                f"{_title(entry['label'])}: checkpoint step per seed "
                f"{entry['checkpoint_step_per_seed']}"
            )
    lines.append(f"best T_eval is {summary['best_t_selection']}")
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> Path:
    """pass@1 vs T_eval and vs T_eff, mean over seeds with the min-max band."""
    from ssd.report.plots import pyplot, save_png

    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, x_key in zip(axes, ("t_eval", "t_eff"), strict=True):
        for label in summary.get("labels", LABELS):
            curve = summary["curves"][label]
            x = [r[x_key] for r in curve]
            ax.plot(x, [r["pass@1"] for r in curve], marker="o", label=_title(label))
            ax.fill_between(
                x, [r["pass@1_min"] for r in curve], [r["pass@1_max"] for r in curve], alpha=0.2
            )
        ax.set_xlabel("T_eval" if x_key == "t_eval" else "T_eff = T_train * T_eval (base: T_eval)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("exact pass@1")
    axes[0].legend()
    fig.suptitle(f"SSD, T_train={summary['t_train']}: mean over seeds, band = min..max")
    return save_png(fig, path)


def write_report(
    output_dir: Path, summary: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Path]:
    """results.json (summary + everything needed to reproduce it) and the PNG, atomically."""
    output_dir.mkdir(parents=True, exist_ok=True)
    png = plot(summary, output_dir / "pass_at_1.png")
    results = output_dir / "results.json"
    atomic_write_json(results, {**meta, "summary": summary})
    return {"results": results, "plot": png}
