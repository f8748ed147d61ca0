"""`ssd report DIR`: a sweep (or one run) as a CSV table, a printed table, PNGs and a W&B run.

ssd report outputs/multirun/2026-11-22_10-00-00            # table + PNGs into DIR/report/
ssd report DIR --wandb                                      # also one W&B run (offline without a key)
ssd report DIR --wandb-report --entity ME --project P       # also a W&B report page (online only)
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

from ssd.cache import atomic_write_json, atomic_write_text
from ssd.sweep_report import (
    COLUMNS,
    collect,
    describe_fit,
    format_optima,
    format_rows,
    headline,
    quadratic_fit,
    row_optima,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="a multirun directory (or a single run's)")
    parser.add_argument("--out", type=Path, default=None, help="where to write; default DIR/report")
    parser.add_argument("--wandb", action="store_true", help="log the report as one W&B run")
    parser.add_argument(
        "--wandb-mode",
        default="auto",
        choices=["auto", "offline", "online"],
        help="auto: online with an API key, offline without",
    )
    parser.add_argument(
        "--wandb-report",
        action="store_true",
        help="build a W&B report page with wandb-workspaces (saved only when online)",
    )
    parser.add_argument("--entity", default=None, help="W&B entity for --wandb-report")
    parser.add_argument("--project", default="ssd-sweeps", help="W&B project (default ssd-sweeps)")


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path


def plot_heatmap(rows: list[dict[str, Any]], path: Path) -> Path:
    """SSD pass@1 over T_train x T_eval (mean over seeds; one truncation setting per cell)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    t_trains = sorted({r["t_train"] for r in rows})
    t_evals = sorted({r["t_eval"] for r in rows})
    grid = np.full((len(t_trains), len(t_evals)), np.nan)
    for r in rows:
        grid[t_trains.index(r["t_train"]), t_evals.index(r["t_eval"])] = r["pass@1"]
    fig, ax = plt.subplots(figsize=(1.2 + 0.8 * len(t_evals), 1.2 + 0.6 * len(t_trains)))
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    for i in range(len(t_trains)):
        for j in range(len(t_evals)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(range(len(t_evals)), [f"{t:g}" for t in t_evals])
    ax.set_yticks(range(len(t_trains)), [f"{t:g}" for t in t_trains])
    ax.set_xlabel("T_eval")
    ax.set_ylabel("T_train")
    ax.set_title("SSD pass@1")
    fig.colorbar(image, ax=ax)
    return _save(fig, path)


def plot_teff(rows: list[dict[str, Any]], fit: dict[str, Any], path: Path) -> Path:
    """pass@1 vs T_eff, coloured by T_train, with the quadratic fit and its R^2."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 4))
    for t_train in sorted({r["t_train"] for r in rows}):
        pts = [r for r in rows if r["t_train"] == t_train]
        ax.scatter(
            [r["t_eff"] for r in pts], [r["pass@1"] for r in pts], label=f"T_train={t_train:g}"
        )
    if fit["coefficients"]:
        c0, c1, c2 = fit["coefficients"]
        xs = np.linspace(min(r["t_eff"] for r in rows), max(r["t_eff"] for r in rows), 200)
        ax.plot(xs, c0 + c1 * xs + c2 * xs**2, "k--", label=f"quadratic fit, R²={fit['r2']:.2f}")
    ax.set_xlabel("T_eff = T_train · T_eval")
    ax.set_ylabel("SSD pass@1")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_best(head: dict[str, Any], path: Path) -> Path:
    """Best SSD vs the base at its best T_eval vs the best SSD-as-decoder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["base (best T_eval)", "SSD-as-decoder (best)", "SSD (best)"]
    values = [
        head["base_best_pass@1"],
        head["ssd_as_decoder_best_pass@1"] or 0.0,
        head["ssd_best_pass@1"],
    ]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bars = ax.bar(labels, values, color=["#888", "#4a90d9", "#d9534f"])
    ax.bar_label(bars, fmt="%.4f")
    ax.set_ylabel("pass@1")
    ax.set_title("chosen on the evaluation problems (no held-out split)", fontsize=9)
    return _save(fig, path)


def wandb_report_spec(project: str, entity: str | None, group: str) -> Any:
    """The W&B report page: the sweep's runs, pass@1 vs T_eff and the best-of comparison."""
    import wandb_workspaces.reports.v2 as wr

    runs = wr.Runset(entity=entity or "", project=project, name=f"sweep {group}")
    return wr.Report(
        entity=entity or "",
        project=project,
        title=f"SSD sweep {group}: pass@1 over T_train x T_eval",
        description="Each cell is one run (group = the sweep). T_eff = T_train * T_eval.",
        blocks=[
            wr.H1("Effective temperature"),
            wr.PanelGrid(
                runsets=[runs],
                panels=[
                    wr.ScatterPlot(
                        title="pass@1 vs T_eff", x="eval/ssd/best_t_eff", y="eval/ssd/best_pass@1"
                    ),
                    wr.ParallelCoordinatesPlot(
                        columns=[
                            wr.ParallelCoordinatesPlotColumn("c::sampling.temperature"),
                            wr.ParallelCoordinatesPlotColumn("c::eval.temperature"),
                            wr.ParallelCoordinatesPlotColumn("eval/ssd/best_pass@1"),
                        ]
                    ),
                    wr.BarPlot(
                        title="best pass@1",
                        metrics=["eval/base/best_pass@1", "eval/ssd/best_pass@1"],
                    ),
                ],
            ),
        ],
    )


def _log_wandb(
    args: argparse.Namespace, rows: list[dict[str, Any]], paths: dict[str, Path], out: Path
) -> None:
    import wandb

    from ssd.tracking import wandb_mode

    run = wandb.init(
        project=args.project,
        job_type="report",
        dir=str(out),
        mode=wandb_mode(args.wandb_mode),
        name=f"report {args.directory.name}",
        group=args.directory.name,
        settings=wandb.Settings(silent=True, console="off"),
    )
    table = wandb.Table(columns=COLUMNS, data=[[r[c] for c in COLUMNS] for r in rows])
    run.log(
        {
            "report/table": table,
            "report/pass_at_1_vs_t_eff": wandb.plot.line(
                table, "t_eff", "pass@1", title="pass@1 vs T_eff"
            ),
            **{
                f"report/{name}": wandb.Image(str(p))
                for name, p in paths.items()
                if p.suffix == ".png"
            },
        }
    )
    run.finish()


def cli(args: argparse.Namespace) -> int:
    if not args.directory.is_dir():
        print(f"error: {args.directory}: no such directory", file=sys.stderr)
        return 2
    rows = collect(args.directory)
    if not rows:
        print(
            f"error: {args.directory}: no results.json under it (did the runs finish?)",
            file=sys.stderr,
        )
        return 2
    out = args.out or args.directory / "report"
    out.mkdir(parents=True, exist_ok=True)
    fit = quadratic_fit([r["t_eff"] for r in rows], [r["pass@1"] for r in rows])
    head = headline(rows)
    paths = {"table": out / "table.csv", "summary": out / "summary.json"}
    atomic_write_text(paths["table"], to_csv(rows))
    optima = row_optima(rows)
    atomic_write_json(
        paths["summary"],
        {"teff_fit": fit, "row_optima": optima, "headline": head, "n_rows": len(rows)},
    )
    paths["heatmap"] = plot_heatmap(rows, out / "heatmap_pass_at_1.png")
    paths["teff"] = plot_teff(rows, fit, out / "pass_at_1_vs_t_eff.png")
    paths["best"] = plot_best(head, out / "best_vs_baselines.png")
    print(format_rows(rows))
    print(f"\n{format_optima(optima)}")
    print(describe_fit(fit, [r["t_eff"] for r in rows]))
    print(
        f"best SSD {head['ssd_best_pass@1']:.4f} at {head['ssd_best_at']} | base best "
        f"{head['base_best_pass@1']:.4f} at T_eval={head['base_best_t_eval']} | SSD-as-decoder best "
        f"{head['ssd_as_decoder_best_pass@1'] or float('nan'):.4f} ({head['selection']})"
    )
    if args.wandb:
        _log_wandb(args, rows, paths, out)
    if args.wandb_report:
        from ssd.tracking import wandb_mode

        report = wandb_report_spec(args.project, args.entity, args.directory.name)
        if wandb_mode(args.wandb_mode) == "online":
            report.save()
            print(f"W&B report: {report.url}")
        else:
            print(
                "W&B report page not saved: no API key (offline); the page spec was built and checked"
            )
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ssd report", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return cli(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
