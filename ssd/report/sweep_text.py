"""The sweep report in words: the tidy table, each setting's T_eff fit, optima and headline.

Pure string formatting over `ssd.report.sweep`'s rows and analyses, for `ssd report`'s terminal
output; the numbers themselves are computed (and tested) in ssd/report/sweep.py.
"""

from __future__ import annotations

from typing import Any

from ssd.report.sweep import setting_name


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


def format_fits(fits: list[dict[str, Any]]) -> str:
    """One line per setting's T_eff fit."""
    return "\n".join(
        f"[{f['label']}] {describe_fit(f['fit'], f['t_eff_range'])}"
        if len(fits) > 1
        else describe_fit(f["fit"], f["t_eff_range"])
        for f in fits
    )


RECIPE_KEYS = ("pool", "sft_steps", "lr")  # named on a line only when a sweep varies them


def format_optima(optima: list[dict[str, Any]]) -> str:
    """One line per training setting: where its T_eval optimum is, flagged at the grid's edge."""
    lines = ["best T_eval per training setting (T_eff = T_train * T_eval):"]
    models = {o["model"] for o in optima}
    filters = {o["filter"] for o in optima}
    varying = {key: {o.get(key) for o in optima} for key in RECIPE_KEYS}
    for o in optima:
        truncation = f"{setting_name('top_k', o['top_k'])}, {setting_name('top_p', o['top_p'])}"
        setting = f"T_train {o['t_train']:g}, {truncation}"
        setting += f", round {o['round']}" if o["round"] != 1 else ""
        setting += f", filter {o['filter']}" if len(filters) > 1 else ""
        setting += "".join(
            f", {setting_name(key, o[key])}" for key in RECIPE_KEYS if len(varying[key]) > 1
        )
        setting = f"{o['model']}: {setting}" if len(models) > 1 else setting
        edge = "  <- at the grid's edge: extend the T_eval grid" if o["at_edge"] else ""
        lines.append(
            f"  {setting}: T_eval {o['t_eval']:g} -> T_eff {o['t_eff']:.2f}, "
            f"pass@1 {o['pass@1']:.4f}{edge}"
        )
    return "\n".join(lines)


def format_headline(head: dict[str, Any]) -> str:
    """The best SSD number with both baselines beside it, in one line."""
    at = head["ssd_best_at"]
    decoder = head["ssd_as_decoder_best_pass@1"]
    recipe = "".join(
        f", {name} {at[key]:g}"
        for key, name in (
            ("top_p", "top-p"),
            ("pool", "pool"),
            ("sft_steps", "steps"),
            ("lr", "lr"),
        )
        if at.get(key) is not None
    )
    return (
        f"{head['model']} on {head['benchmark']}: best SSD {head['ssd_best_pass@1']:.4f} at T_train {at['t_train']:g}{recipe}, "
        f"T_eval {at['t_eval']:g} (T_eff {at['t_eff']:.2f}) | base best "
        f"{head['base_best_pass@1']:.4f} at T_eval {head['base_best_t_eval']:g} | "
        f"SSD-as-decoder best {'-' if decoder is None else f'{decoder:.4f}'} ({head['selection']})"
    )


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A fixed-width table of the columns people read first."""
    shown = [
        ("t_train", "T_train", "{:.2f}"),
        ("top_k", "k", "{}"),
        ("top_p", "p", "{:.2f}"),
        ("round", "round", "{}"),
        ("t_eval", "T_eval", "{:.2f}"),
        ("t_eff", "T_eff", "{:.2f}"),
        ("pass@1", "SSD pass@1", "{:.4f}"),
        ("base_pass@1_same_t_eval", "base same T", "{:.4f}"),
        ("base_best_pass@1", "base best", "{:.4f}"),
        ("ssd_as_decoder_pass@1", "SSD-as-dec", "{:.4f}"),
    ]
    varying = [key for key in ("model", "benchmark", "filter") if len({r[key] for r in rows}) > 1]
    shown = [(key, key, "{}") for key in varying] + shown
    widths = [
        max([len(title), 7, *(len(fmt.format(r[key])) for r in rows if r[key] is not None)])
        for key, title, fmt in shown
    ]
    lines = [" | ".join(title.rjust(w) for (_, title, _), w in zip(shown, widths, strict=True))]
    lines.append("-" * len(lines[0]))
    for row in rows:
        cells = [
            (fmt.format(row[key]) if row[key] is not None else "-").rjust(w)
            for (key, _, fmt), w in zip(shown, widths, strict=True)
        ]
        lines.append(" | ".join(cells))
    return "\n".join(lines)
