"""report.html: a run's or a sweep's report as one self-contained page, readable with no network.

`run_page(results, curves_png)` renders a run's results.json beside its pass@1 PNG;
`sweep_page(directory, rows, fits, heads, optima, figures)` renders `ssd report`'s analyses and
PNGs; `write_page(path, text)` writes either atomically. The figures are the PNGs the reports
already draw (ssd/report/run.py, ssd/report/sweep_plots.py), inlined as base64; the data are
inlined as tables. No script, stylesheet, font or image is fetched, and no "scheme://" appears in
the file: text that holds a URL is written with `&#58;` for its colon, so it reads the same.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ssd.artifacts import atomic_write_text, read_json
from ssd.report.intervals import interval_text
from ssd.report.run import _ci_word, _title  # the run report's wording, one place for both
from ssd.report.sweep import Cell, find_cells, read_cells, setting_labels, setting_of
from ssd.report.sweep_text import format_fits, format_optima
from ssd.results import RunSummary
from ssd.tracking import flatten

NOT_RUN = (
    "Fork/lock diagnostics: not run (the analyze stage did not run; analyze.enabled=true runs it)."
)
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; border-bottom: 1px solid #ccc; padding-top: 8px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; vertical-align: top; }
th { background: #f2f2f2; } td.l, th.l { text-align: left; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; }
img { max-width: 100%; border: 1px solid #eee; } .note { color: #555; }
"""


def _esc(value: Any) -> str:
    """Text for HTML, with any "://" defused (see the module docstring)."""
    return html.escape(str(value)).replace("://", "&#58;//")


def _num(value: float | None, fmt: str = ".4f") -> str:
    return "-" if value is None else format(value, fmt)


def _ci(ci: tuple[float, float] | list[float] | None) -> str:
    return "-" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]"


def _img(png: Path, alt: str) -> str:
    """A PNG inlined as a data URI: the page carries its figures."""
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[Any]], left: int = 1) -> str:
    """A table whose first `left` columns are text (left-aligned), the rest numbers."""

    def cells(tag: str, values: list[Any]) -> str:
        return "".join(
            f"<{tag}{' class=l' if i < left else ''}>{_esc(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><tr>{cells('th', header)}</tr>{body}</table>"


def _pre(text: str) -> str:
    return f"<pre>{_esc(text)}</pre>"


def _section(element_id: str, title: str, *parts: str) -> str:
    return f'<section id="{element_id}"><h2>{_esc(title)}</h2>{"".join(parts)}</section>'


def _page(title: str, intro: list[str], sections: list[str]) -> str:
    lines = "".join(f'<p class="note">{_esc(line)}</p>' for line in intro)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{_esc(title)}</h1>{lines}{''.join(sections)}</body></html>\n"
    )


def _record(record: dict[str, Any]) -> str:
    """A flat key/value table; nested values and long lists folded as JSON under <details>."""
    rows, folded = [], []
    for key, value in record.items():
        if isinstance(value, dict | list) and len(json.dumps(value, default=str)) > 120:
            folded.append(
                f"<details><summary>{_esc(key)} ({len(value)} entries)</summary>"
                f"{_pre(json.dumps(value, indent=1, default=str))}</details>"
            )
        else:
            shown = json.dumps(value, default=str) if isinstance(value, dict | list) else value
            rows.append([key, shown])
    return _table(["key", "value"], rows, left=2) + "".join(folded)


# -- the run page -------------------------------------------------------------------------------


def _curve_table(summary: RunSummary) -> str:
    rows = [
        [
            _title(label),
            _num(p.t_eval, "g"),
            _num(p.t_eff, "g"),
            _num(p.pass_at_1),
            _ci(p.pass_at_1_ci95),
            f"{p.pass_at_1_min:.4f}..{p.pass_at_1_max:.4f}",
            " ".join(f"{k} {v:.3f}" for k, v in p.pass_at_1_by_difficulty.items()) or "-",
        ]
        for label in summary.labels
        for p in summary.curves[label]
    ]
    header = ["decoder", "T_eval", "T_eff", "pass@1", "95% CI", "seeds min..max", "by level"]
    return _table(header, rows)


def best_tables(summary: RunSummary) -> str:
    """Each decoder's best point with its CI, then the paired comparisons and the verdicts."""
    edge = {True: "interior", False: "grid edge", None: "-"}
    best = [
        [
            _title(label),
            _num(b.t_eval, "g"),
            _num(b.t_eff, "g"),
            _num(b.pass_at_1),
            _ci(b.ci95),
            edge[b.interior],
        ]
        for label, b in ((label, summary.best[label]) for label in summary.labels)
    ]
    header = ["decoder", "best T_eval", "T_eff", "pass@1", "95% CI", "on the grid"]
    parts = [_table(header, best)]
    if summary.comparisons:
        rows = [
            [
                c.name,
                f"{c.diff:+.4f}",
                interval_text(c.ci95),
                c.n_problems,
                ", ".join(f"{d:+.4f}" for d in c.per_seed),
                _ci_word(c.ci95),
            ]
            for c in summary.comparisons
        ]
        header = ["paired comparison", "diff", "95% CI", "problems", "per seed", "reading"]
        parts.append(_table(header, rows))
    parts.append("<ul>" + "".join(f"<li>{_esc(v)}</li>" for v in summary.verdicts) + "</ul>")
    parts.append(f'<p class="note">best T_eval is {_esc(summary.best_t_selection)}</p>')
    return "".join(parts)


def _diagnostics(summary: RunSummary) -> str:
    if not summary.diagnostics:
        return f"<p>{_esc(NOT_RUN)}</p>"
    rows = [
        [_title(label), _num(d.lock_distractor_mass), _num(d.fork_entropy_bits, ".3f")]
        for label, d in summary.diagnostics.items()
    ]
    header = ["model", "lock distractor mass", "fork entropy (bits)"]
    return _table(header, rows) + '<p class="note">mean over seeds, from the analyze stage</p>'


def _per_seed_fork_lock(replicates: list[dict[str, Any]]) -> str:
    """The analyze stage's flat summary of each seed and round, folded."""
    found = {
        f"seed {rep.get('seed')} / {label}": flat
        for rep in replicates
        for label, flat in (rep.get("fork_lock") or {}).items()
    }
    if not found:
        return ""
    return (
        "<details><summary>per seed and round</summary>"
        f"{_pre(json.dumps(found, indent=1, sort_keys=True, default=str))}</details>"
    )


def _config(config: dict[str, Any]) -> str:
    return _pre(OmegaConf.to_yaml(OmegaConf.create(config)))


def _problem_set(results: dict[str, Any]) -> str:
    """What was scored and how: the benchmark record, seeds, decoding parameters, base model."""
    record = dict(results.get("problem_set") or {})
    extra = {
        key: results[key] for key in ("seeds", "decoding", "base_model", "run") if key in results
    }
    if not record and not extra:
        return "<p>no problem-set record (a results.json older than the record)</p>"
    return _record(record) + (_record(extra) if extra else "")


def run_page(results: dict[str, Any], curves_png: Path) -> str:
    """A run's report page from its results.json (as a dict) and its pass@1 PNG."""
    summary = RunSummary.from_json(results["summary"])
    config = results.get("config") or {}
    name = config.get("name") or "run"
    sections = [
        _section(
            "curves",
            "pass@1 vs T_eval and T_eff (95% CI over problems)",
            _img(curves_png, "pass@1 vs T_eval and T_eff"),
            _curve_table(summary),
        ),
        _section("best-table", "Best vs baselines", best_tables(summary)),
        _section(
            "forklock",
            "Fork/lock diagnostics",
            _diagnostics(summary),
            _per_seed_fork_lock(results.get("replicates") or []),
        ),
        _section("config", "Config (resolved)", _config(config)),
        _section("problem-set", "Problem set", _problem_set(results)),
    ]
    intro = [f"T_train = {summary.t_train:g}; seeds {results.get('seeds', '-')}"]
    return _page(f"SSD run: {name}", intro, sections)


# -- the sweep page -----------------------------------------------------------------------------


def _best_cell(rows: list[dict[str, Any]], head: dict[str, Any]) -> str:
    """The cell of a model and benchmark's best SSD point (as `ssd.report.sweep.headline` picks)."""
    members = [
        r for r in rows if (r["model"], r["benchmark"]) == (head["model"], head["benchmark"])
    ]
    return max(members, key=lambda r: r["pass@1_select"])["cell"]


def _where(at: dict[str, Any] | None) -> str:
    return "-" if not at else ", ".join(f"{k} {v:g}" for k, v in at.items() if v is not None)


def _headline(rows: list[dict[str, Any]], heads: list[dict[str, Any]], cells: dict) -> str:
    parts = []
    for head in heads:
        name = _best_cell(rows, head)
        table = [
            [
                "base (best T_eval)",
                f"T_eval {head['base_best_t_eval']:g}",
                head["base_best_pass@1"],
            ],
            [
                "SSD-as-decoder (best)",
                _where(head["ssd_as_decoder_best_at"]),
                head["ssd_as_decoder_best_pass@1"],
            ],
            ["SSD (best)", _where(head["ssd_best_at"]), head["ssd_best_pass@1"]],
        ]
        table = [[a, b, _num(c)] for a, b, c in table]
        parts.append(f"<h3>{_esc(head['model'])} on {_esc(head['benchmark'])}</h3>")
        parts.append(_table(["decoder", "where", "pass@1"], table, left=2))
        parts.append(f'<p class="note">{_esc(head["selection"])}</p>')
        parts.append(f"<h4>In the best SSD cell ({_esc(name)}): intervals and paired gaps</h4>")
        parts.append(best_tables(cells[name].summary))
    return "".join(parts)


def _row_table(rows: list[dict[str, Any]]) -> str:
    labels = setting_labels(rows)
    table = [
        [
            labels[setting_of(r)],
            r["cell"],
            _num(r["t_train"], "g"),
            _num(r["t_eval"], "g"),
            _num(r["t_eff"], "g"),
            _num(r["pass@1"]),
            _ci(
                None
                if r["pass@1_ci95_low"] is None
                else (r["pass@1_ci95_low"], r["pass@1_ci95_high"])
            ),
            _num(r["base_pass@1_same_t_eval"]),
            _num(r["ssd_as_decoder_pass@1"]),
        ]
        for r in rows
    ]
    header = ["setting", "cell", "T_train", "T_eval", "T_eff", "SSD pass@1", "95% CI"]
    return _table([*header, "base, same T_eval", "SSD-as-decoder"], table, left=2)


def _sweep_fork_lock(cells: list[Cell]) -> str:
    analyzed = [c for c in cells if c.summary.diagnostics]
    if not analyzed:
        return f"<p>{_esc(NOT_RUN)}</p>"
    rows = [
        [c.name, _title(label), _num(d.lock_distractor_mass), _num(d.fork_entropy_bits, ".3f")]
        for c in analyzed
        for label, d in c.summary.diagnostics.items()
    ]
    header = ["cell", "model", "lock distractor mass", "fork entropy (bits)"]
    note = f"{len(analyzed)} of {len(cells)} cells ran the analyze stage; means over seeds"
    return _table(header, rows, left=2) + f'<p class="note">{_esc(note)}</p>'


def _sweep_config(cells: list[Cell]) -> str:
    """What varies across cells, one row per cell, then the first cell's whole config."""
    flats = {c.name: flatten(c.config) for c in cells}
    keys = sorted({k for f in flats.values() for k in f})
    varying = [
        k for k in keys if len({json.dumps(f.get(k), default=str) for f in flats.values()}) > 1
    ]
    varying = [k for k in varying if not k.startswith(("paths.", "hydra."))] or varying
    rows = [
        [name, *(json.dumps(f.get(k), default=str) for k in varying)] for name, f in flats.items()
    ]
    table = _table(["cell", *varying], rows) if varying else "<p>every cell has the same config</p>"
    first = cells[0]
    return (
        f"<h3>What varies across the {len(cells)} cells</h3>{table}"
        f"<h3>Cell {_esc(first.name)}, resolved</h3>{_config(first.config)}"
    )


def _sweep_problem_sets(directory: Path) -> str:
    """Each distinct problem-set record (with seeds and decoding) and the cells that share it."""
    groups: dict[str, tuple[list[str], dict[str, Any]]] = {}
    root = Path(directory)
    for path in find_cells(root):
        results = read_json(path)
        record = results.get("problem_set") or {}
        key = json.dumps(record, sort_keys=True, default=str)
        groups.setdefault(key, ([], results))[0].append(str(path.parent.relative_to(root)))
    parts = []
    for names, results in groups.values():
        parts.append(f"<h3>cells {_esc(', '.join(names))}</h3>")
        parts.append(
            _problem_set({**results, "seeds": f"per cell (first: {results.get('seeds')})"})
        )
    return "".join(parts)


def sweep_page(
    directory: Path,
    rows: list[dict[str, Any]],
    fits: list[dict[str, Any]],
    heads: list[dict[str, Any]],
    optima: list[dict[str, Any]],
    figures: dict[str, Path],
) -> str:
    """A sweep's report page: `ssd report`'s analyses and its PNGs (`figures` by name: curves,
    teff, heatmap, best), with each cell's config and problem set read from its results.json."""
    cells = read_cells(directory)
    by_name = {c.name: c for c in cells}
    sections = [
        _section(
            "curves",
            "SSD pass@1 vs T_eval (95% CI over problems) and vs T_eff",
            _img(figures["curves"], "pass@1 vs T_eval"),
            _img(figures["teff"], "pass@1 vs T_eff"),
            _pre(format_fits(fits)),
            _row_table(rows),
        ),
        _section(
            "heatmap",
            "SSD pass@1 over T_train x T_eval",
            _img(figures["heatmap"], "pass@1 heatmap"),
            _pre(format_optima(optima)),
        ),
        _section(
            "best-table",
            "Best vs baselines",
            _img(figures["best"], "best vs baselines"),
            _headline(rows, heads, by_name),
        ),
        _section("forklock", "Fork/lock diagnostics", _sweep_fork_lock(cells)),
        _section("config", "Config", _sweep_config(cells)),
        _section("problem-set", "Problem set", _sweep_problem_sets(directory)),
    ]
    intro = [f"{len(cells)} cells, {len(rows)} SSD points, from {Path(directory).resolve()}"]
    return _page(f"SSD sweep: {Path(directory).resolve().name}", intro, sections)


def write_page(path: Path, text: str) -> Path:
    """Write a page atomically (temp file, then rename): a reader never sees half of it."""
    atomic_write_text(path, text)
    return path
