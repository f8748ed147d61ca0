"""Stage `report`: put base, SSD-as-decoder and SSD side by side over the same T_eval grid.

`summarize(replicates, t_train)` is pure: it averages each decoder's pass@1 over seeds, finds best
T_eval, and words a verdict only as strong as the numbers; it returns an `ssd.results.RunSummary`.
Its lock/fork diagnostics are the analyze stage's (ssd/stages/analyze.py), never recomputed here.
`write_report` writes results.json, the pass@1-vs-T PNG and report.html (ssd/report/html.py);
`format_table` is the printed table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ssd.artifacts import atomic_write_json, read_json
from ssd.report import plots
from ssd.report.intervals import compare, interval_text, pooled_ci
from ssd.results import (
    BestPoint,
    Comparison,
    CurvePoint,
    EvalRow,
    ForkLockDiagnostics,
    Replicate,
    RoundSummary,
    RunSummary,
    ordered_labels,
    ssd_labels,
)

TITLES = {"base": "base", "ssd_as_decoder": "SSD-as-decoder", "ssd": "SSD"}
NOT_ANALYZED = (
    "lock/fork diagnostics: not computed (the analyze stage did not run; "
    "analyze.enabled=true runs it)"
)


def _title(label: str) -> str:
    return TITLES.get(label) or f"SSD round {label[len('ssd_round') :]}"


def _t_eff(label: str, t_eval: float, t_train: float) -> float:
    """The base samples at T_eval itself; SSD models and SSD-as-decoder at T_train * T_eval."""
    return t_eval if label == "base" else round(t_train * t_eval, 6)


def _point(rows: list[EvalRow], t_eff: float) -> CurvePoint:
    """One T_eval over seeds: pass@1 mean and spread, and sampled pass@k means."""
    values = np.array([r.pass_at_1 for r in rows])
    by_level = [r.pass_at_1_by_difficulty() for r in rows]
    return CurvePoint(
        t_eval=rows[0].t_eval,
        t_eff=t_eff,
        pass_at_1=float(values.mean()),
        pass_at_1_min=float(values.min()),
        pass_at_1_max=float(values.max()),
        pass_at_1_std=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        pass_at_1_per_seed=values.tolist(),
        pass_at_1_select=float(np.mean([r.select_score for r in rows])),
        pass_at_1_ci95_first_seed=rows[0].pass_at_1_ci95,
        sampled={k: float(np.mean([r.sampled[k] for r in rows])) for k in rows[0].sampled},
        # Code benchmarks: pass@1 per difficulty, mean over seeds (the toy has none).
        pass_at_1_by_difficulty={
            level: float(np.mean([b[level] for b in by_level])) for level in by_level[0]
        },
        pass_at_1_ci95=pooled_ci(rows),
    )


def _rows_by_t(replicates: list[Replicate], label: str) -> dict[float, list[EvalRow]]:
    """Each T_eval's rows, one per seed."""
    by_t: dict[float, list[EvalRow]] = {}
    for rep in replicates:
        for row in rep.results[label].rows:
            by_t.setdefault(row.t_eval, []).append(row)
    return by_t


def _curve(replicates: list[Replicate], label: str, t_train: float) -> list[CurvePoint]:
    by_t = _rows_by_t(replicates, label)
    return [_point(by_t[t], _t_eff(label, t, t_train)) for t in sorted(by_t)]


def _best(curve: list[CurvePoint]) -> BestPoint:
    """The point the selection problems prefer, its CI, and whether the grid brackets it."""
    point = max(curve, key=lambda p: p.pass_at_1_select)
    grid = [p.t_eval for p in curve]
    interior = len(grid) > 2 and min(grid) < point.t_eval < max(grid)
    return BestPoint(point.t_eval, point.t_eff, point.pass_at_1, point.pass_at_1_ci95, interior)


def _comparisons(
    replicates: list[Replicate], labels: list[str], best: dict[str, BestPoint]
) -> list[Comparison]:
    """Each SSD label's best against the base's best and SSD against SSD-as-decoder, paired over
    the reported problems (every model at its own best T_eval)."""
    at_best = {label: _rows_by_t(replicates, label)[best[label].t_eval] for label in labels}
    pairs = [("ssd", "base"), ("ssd", "ssd_as_decoder")]
    pairs += [(label, "base") for label in ssd_labels(labels)[1:]]
    return [
        compare(f"{_title(ours)} best vs {_title(theirs)} best", at_best[ours], at_best[theirs])
        for ours, theirs in pairs
    ]


def _best_per_seed(replicates: list[Replicate], label: str) -> list[float]:
    """Per seed: pass@1 at the T_eval the selection problems choose."""
    return [rep.results[label].best_row().pass_at_1 for rep in replicates]


def _mean_present(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _diagnostics(replicates: list[Replicate], labels: list[str]) -> dict[str, ForkLockDiagnostics]:
    """Each model's lock/fork diagnostics from the analyze stage, mean over seeds.

    The base is the starting model of round 1's analysis; each SSD label is the fine-tuned model
    of its own round. A label is left out unless every seed analyzed it.
    """
    sources = {"base": ("ssd", "base"), **{label: (label, "ssd") for label in ssd_labels(labels)}}
    out = {}
    for label, (round_label, model) in sources.items():
        found = [rep.fork_lock.get(round_label) for rep in replicates]
        if all(found):
            means = [
                _mean_present([f[f"{model}/{key}"] for f in found])
                for key in ForkLockDiagnostics.KEYS
            ]
            out[label] = ForkLockDiagnostics(*means)
    return out


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


def _verdicts(replicates: list[Replicate], labels: list[str]) -> list[str]:
    best = {label: _best_per_seed(replicates, label) for label in labels}
    verdicts = [
        _verdict("SSD best vs base best", best["ssd"], best["base"]),
        _verdict("SSD best vs SSD-as-decoder best", best["ssd"], best["ssd_as_decoder"]),
    ]
    return verdicts + [
        _verdict(f"{_title(label)} best vs base best", best[label], best["base"])
        for label in ssd_labels(labels)[1:]
    ]


def _rounds(replicates: list[Replicate], labels: list[str]) -> list[RoundSummary]:
    return [
        RoundSummary(
            round=i + 1,
            label=label,
            checkpoint_step_per_seed=[rep.results[label].checkpoint_step for rep in replicates],
            checkpoints_per_seed=[rep.results[label].checkpoints for rep in replicates],
        )
        for i, label in enumerate(ssd_labels(labels))
    ]


def summarize(
    replicates: list[Replicate],
    t_train: float,
    selection: str = "chosen on the evaluation problems themselves (no held-out split)",
) -> RunSummary:
    """Curves, best T_eval per decoder, diagnostics and verdicts from per-seed evaluation results."""
    labels = ordered_labels(list(replicates[0].results))
    curves = {label: _curve(replicates, label, t_train) for label in labels}
    best = {label: _best(curve) for label, curve in curves.items()}
    return RunSummary(
        t_train=t_train,
        labels=labels,
        curves=curves,
        best=best,
        diagnostics=_diagnostics(replicates, labels),
        verdicts=_verdicts(replicates, labels),
        best_t_selection=selection,
        rounds=_rounds(replicates, labels),
        comparisons=_comparisons(replicates, labels, best),
    )


def _table_lines(summary: RunSummary) -> list[str]:
    """pass@1 [min,max] per label and T_eval, with SSD's T_eff and sampled pass@k beside it."""
    labels, curves = summary.labels, summary.curves
    k_keys = list(curves["base"][0].sampled)
    header = (
        f"{'T_eval':>6} | "
        + " | ".join(f"{_title(label):>22}" for label in labels)
        + f" | {'T_eff':>5} | "
        + " ".join(f"{'SSD ' + k:>12}" for k in k_keys)
    )
    lines = [header, "-" * len(header)]
    points = {label: {p.t_eval: p for p in curves[label]} for label in labels}
    for t_eval in sorted(points["ssd"]):
        cells = [
            f"{p.pass_at_1:.4f} [{p.pass_at_1_min:.4f},{p.pass_at_1_max:.4f}]" if p else " " * 22
            for p in (points[label].get(t_eval) for label in labels)
        ]
        ssd = points["ssd"][t_eval]
        sampled = " ".join(f"{ssd.sampled[k]:>12.4f}" for k in k_keys)
        lines.append(
            f"{t_eval:>6.2f} | "
            + " | ".join(f"{c:>22}" for c in cells)
            + f" | {ssd.t_eff:>5.2f} | {sampled}"
        )
    return lines


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def diagnostics_line(summary: RunSummary) -> str:
    """Base -> SSD lock distractor mass and fork entropy, or why there are none."""
    d = summary.diagnostics
    if "base" not in d or "ssd" not in d:
        return NOT_ANALYZED
    base, ssd = d["base"], d["ssd"]
    return (
        f"lock distractor mass: base {_num(base.lock_distractor_mass, '.4f')} -> "
        f"SSD {_num(ssd.lock_distractor_mass, '.4f')}; fork entropy (bits): base "
        f"{_num(base.fork_entropy_bits, '.3f')} -> SSD {_num(ssd.fork_entropy_bits, '.3f')}"
    )


def isolation_line(problem_set: dict[str, Any]) -> str | None:
    """How graded code was confined, for the printed report: a score is only as safe as that.

    None for the toy (nothing is executed); records older than the description give the level.
    """
    isolation = problem_set.get("isolation")
    if not isolation:
        return None
    return f"graded code ran under: {isolation.get('description', isolation.get('level'))}"


def _edge_note(curve: list[CurvePoint], best: BestPoint) -> str:
    """Why a best T_eval on the grid's edge matters, or does not: a curve still climbing there
    may peak beyond it; one whose neighbour scores inside the best's interval is on a plateau
    (SSD-as-decoder under training truncation flattens out at high T_eval)."""
    if best.interior is not False:
        return ""
    grid = [p.t_eval for p in curve]
    i = grid.index(best.t_eval)
    if len(curve) > 1:  # one T_eval (a sweep cell) has no neighbour to compare
        neighbour = curve[1 if i == 0 else i - 1]
        if best.ci95 and best.ci95[0] <= neighbour.pass_at_1 <= best.ci95[1]:
            return f"  (grid edge, on a plateau: T_eval {neighbour.t_eval:g} scores within its CI)"
    return "  (grid edge: widen eval.temperatures)"


def format_table(summary: RunSummary) -> str:
    lines = [*_table_lines(summary), ""]
    for label in summary.labels:
        b = summary.best[label]
        edge = _edge_note(summary.curves[label], b)
        ci = f" 95% CI {_plain(b.ci95)}" if b.ci95 else ""
        lines.append(
            f"best {_title(label):<15} T_eval={b.t_eval:.2f} (T_eff={b.t_eff:.2f})  "
            f"pass@1={b.pass_at_1:.4f}{ci}{edge}"
        )
    lines.extend(_level_lines(summary))
    lines.append(diagnostics_line(summary))
    intervals = {c.name: c for c in summary.comparisons}
    for verdict in summary.verdicts:
        lines.append(verdict)
        c = intervals.get(verdict.split(":")[0])
        if c is not None:
            # The verdict averages each seed's own best; the interval pairs the problems at the
            # mean curve's best T_eval (the "best" lines above), so its own difference is shown.
            lines.append(
                f"  at the best T_eval above: {c.diff:+.4f}, 95% CI over {c.n_problems} problems "
                f"(seeds averaged) {interval_text(c.ci95)} -> {_ci_word(c.ci95)}"
            )
    for entry in summary.rounds:
        if any(len(table or []) > 1 for table in entry.checkpoints_per_seed):
            lines.append(
                f"{_title(entry.label)}: checkpoint step per seed {entry.checkpoint_step_per_seed}"
            )
    lines.append(f"best T_eval is {summary.best_t_selection}")
    return "\n".join(lines)


def _plain(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]"


def _ci_word(ci: tuple[float, float]) -> str:
    """What a paired interval allows one to say, and no more."""
    if ci[0] > 0:
        return "higher (the interval excludes 0)"
    if ci[1] < 0:
        return "lower (the interval excludes 0)"
    return "not distinguishable (the interval includes 0)"


def _level_lines(summary: RunSummary) -> list[str]:
    """Code benchmarks: pass@1 per difficulty at each label's best T_eval."""
    at_best = {
        label: next(p for p in summary.curves[label] if p.t_eval == summary.best[label].t_eval)
        for label in summary.labels
    }
    levels = [
        lv for lv in ("easy", "medium", "hard") if lv in at_best["base"].pass_at_1_by_difficulty
    ]
    levels += sorted(set(at_best["base"].pass_at_1_by_difficulty) - set(levels))
    if not levels:
        return []
    cells = [
        f"{_title(label)} "
        + "/".join(
            f"{at_best[label].pass_at_1_by_difficulty.get(lv, float('nan')):.3f}" for lv in levels
        )
        for label in summary.labels
    ]
    return [f"pass@1 {'/'.join(levels)} at each best T_eval: " + "; ".join(cells)]


def plot(summary: RunSummary, path: Path) -> Path:
    """pass@1 vs T_eval and vs T_eff, mean over seeds, band = the 95% CI over problems (older
    runs: min..max over seeds). One panel at T_train = 1: T_eff = T_eval, the panels would match."""
    x_keys = ("t_eval",) if summary.t_train == 1.0 else ("t_eval", "t_eff")
    fig, axes = plots.pyplot().subplots(
        1, len(x_keys), figsize=(11 if len(x_keys) == 2 else 6.5, 4), sharey=True, squeeze=False
    )
    points = [p for curve in summary.curves.values() for p in curve]
    ci = all(p.pass_at_1_ci95 for p in points)
    for ax, x_key in zip(axes[0], x_keys, strict=True):
        for label in summary.labels:
            curve = summary.curves[label]
            x = [getattr(p, x_key) for p in curve]
            ax.plot(x, [p.pass_at_1 for p in curve], marker="o", label=_title(label))
            low, high = zip(
                *(p.pass_at_1_ci95 if ci else (p.pass_at_1_min, p.pass_at_1_max) for p in curve),
                strict=True,
            )
            ax.fill_between(x, low, high, alpha=0.2)
        ax.set_xlabel("T_eval" if x_key == "t_eval" else "T_eff = T_train * T_eval (base: T_eval)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("pass@1")
    axes[0][0].legend()
    band = "95% CI over problems" if ci else "min..max over seeds"
    same = " (T_eff = T_eval)" if len(x_keys) == 1 else ""
    fig.suptitle(
        f"SSD, T_train={summary.t_train}{same}: mean over seeds, band = {band}", fontsize=10
    )
    return plots.save_png(fig, path)


def write_report(output_dir: Path, summary: RunSummary, meta: dict[str, Any]) -> dict[str, Path]:
    """results.json (summary + everything needed to reproduce it) and the PNG, atomically.

    `meta` is plain JSON already (replicates as `Replicate.to_json()`).
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    png = plot(summary, output_dir / "pass_at_1.png")
    results = output_dir / "results.json"
    atomic_write_json(results, {**meta, "summary": summary.to_json()})
    from ssd.report.html import run_page, write_page  # lazy: html imports this module

    page = write_page(output_dir / "report.html", run_page(read_json(results), png))
    return {"results": results, "plot": png, "page": page}
