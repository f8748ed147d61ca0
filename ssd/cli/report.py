"""`ssd report DIR`: a sweep (or one run) as a CSV table, a printed table, PNGs, a self-contained
report.html (ssd/report/html.py) and a W&B run.

ssd report outputs/multirun/2026-11-22_10-00-00            # table, PNGs, report.html into DIR/report/
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

from omegaconf import OmegaConf

from ssd.artifacts import atomic_write_json, atomic_write_text
from ssd.report.html import sweep_page, write_page
from ssd.report.sweep import COLUMNS, collect, headline, row_optima, teff_fits
from ssd.report.sweep_plots import plot_best, plot_curves, plot_heatmap, plot_teff
from ssd.report.sweep_text import format_fits, format_headline, format_optima, format_rows
from ssd.tracking import group_name, wandb_mode


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
    parser.add_argument(
        "--project",
        default=None,
        help="W&B project; default: the sweep's logger.project (from DIR/multirun.yaml), else ssd-sweeps",
    )


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def sweep_logging(directory: Path) -> dict[str, str]:
    """The W&B project and group the sweep's cells logged to, read back from DIR/multirun.yaml.

    A directory without one (a single run) is its own group, named after the folder.
    """
    found = {"project": "ssd-sweeps", "group": group_name(None, directory.resolve())}
    multirun = directory / "multirun.yaml"
    if multirun.is_file():
        cfg = OmegaConf.load(multirun)
        logger = cfg.get("logger") or {}
        found["project"] = logger.get("project") or found["project"]
        sweep = OmegaConf.select(cfg, "hydra.runtime.choices.sweep")
        found["group"] = logger.get("group") or group_name(sweep, cfg.hydra.sweep.dir)
    return found


def runset_filters(group: str, job_type: str) -> str:
    """A W&B runset filter for one job type of one sweep group (wandb-workspaces syntax)."""
    return f"Metric('Group') == {group!r} and Metric('JobType') == {job_type!r}"


def wandb_report_spec(project: str, entity: str | None, group: str) -> Any:
    """The W&B report page: the sweep's cells, pass@1 vs T_eff, and the report run's table."""
    import wandb_workspaces.reports.v2 as wr  # lazy: only --wandb-report needs it

    def runset(name: str, job_type: str) -> Any:
        return wr.Runset(
            entity=entity or "", project=project, name=name, filters=runset_filters(group, job_type)
        )

    return wr.Report(
        entity=entity or "",
        project=project,
        title=f"SSD sweep {group}: pass@1 over T_train x T_eval",
        description="Each cell is one run (group = the sweep). T_eff = T_train * T_eval. "
        "Base and SSD-as-decoder baselines beside every SSD number.",
        blocks=[
            wr.H1("Effective temperature"),
            wr.PanelGrid(
                runsets=[runset(f"cells of {group}", "cell")],
                panels=[
                    wr.ScatterPlot(
                        title="pass@1 vs T_eff", x="eval/ssd/best_t_eff", y="eval/ssd/best_pass@1"
                    ),
                    wr.ParallelCoordinatesPlot(
                        columns=[
                            wr.ParallelCoordinatesPlotColumn(wr.Config("sampling.temperature")),
                            wr.ParallelCoordinatesPlotColumn(wr.Config("sampling.top_k")),
                            wr.ParallelCoordinatesPlotColumn("eval/ssd/best_t_eval"),
                            wr.ParallelCoordinatesPlotColumn("eval/ssd/best_pass@1"),
                        ]
                    ),
                    wr.BarPlot(
                        title="best pass@1: base, SSD-as-decoder, SSD",
                        metrics=[
                            "eval/base/best_pass@1",
                            "eval/ssd_as_decoder/best_pass@1",
                            "eval/ssd/best_pass@1",
                        ],
                    ),
                ],
            ),
            wr.H1("The sweep's table"),
            wr.PanelGrid(
                runsets=[runset(f"report of {group}", "report")],
                panels=[wr.WeavePanelSummaryTable(table_name="report/table")],
            ),
        ],
    )


def _log_wandb(
    args: argparse.Namespace,
    target: dict[str, str],
    rows: list[dict[str, Any]],
    paths: dict[str, Path],
    out: Path,
) -> None:
    import wandb  # lazy: only --wandb needs it, and it is slow to import

    run = wandb.init(
        project=target["project"],
        job_type="report",
        dir=str(out),
        mode=wandb_mode(args.wandb_mode),
        name=f"report {target['group']}",
        group=target["group"],
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


def _wandb_page(args: argparse.Namespace, target: dict[str, str]) -> None:
    from wandb_workspaces.expr import expr_to_filters  # lazy: only --wandb-report needs it

    report = wandb_report_spec(target["project"], args.entity, target["group"])
    for block in report.blocks:  # the page's run filters must parse (checked without network)
        for runset in getattr(block, "runsets", []):
            expr_to_filters(runset.filters)
    if wandb_mode(args.wandb_mode) == "online":
        report.save()
        print(f"W&B report: {report.url}")
    else:
        print("W&B report page built but not saved: no API key (offline)")


def cli(args: argparse.Namespace) -> int:
    if not args.directory.is_dir():
        print(f"error: {args.directory}: no such directory", file=sys.stderr)
        return 2
    try:
        rows = collect(args.directory)
    except ValueError as err:  # a results.json that is not a run's (or from another version)
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not rows:
        print(
            f"error: {args.directory}: no results.json under it (did the runs finish?)",
            file=sys.stderr,
        )
        return 2
    out = args.out or args.directory / "report"
    out.mkdir(parents=True, exist_ok=True)
    fits, heads, optima = teff_fits(rows), headline(rows), row_optima(rows)
    paths = {"table": out / "table.csv", "summary": out / "summary.json"}
    atomic_write_text(paths["table"], to_csv(rows))
    atomic_write_json(
        paths["summary"],
        {"teff_fits": fits, "row_optima": optima, "headline": heads, "n_rows": len(rows)},
    )
    paths["heatmap"] = plot_heatmap(rows, out / "heatmap_pass_at_1.png")
    paths["teff"] = plot_teff(rows, fits, out / "pass_at_1_vs_t_eff.png")
    paths["best"] = plot_best(heads, out / "best_vs_baselines.png")
    paths["curves"] = plot_curves(rows, out / "pass_at_1_vs_t_eval.png")
    page = sweep_page(args.directory, rows, fits, heads, optima, paths)
    paths["page"] = write_page(out / "report.html", page)
    print(format_rows(rows))
    print(f"\n{format_optima(optima)}")
    print(format_fits(fits))
    print("\n".join(format_headline(head) for head in heads))
    target = sweep_logging(args.directory)
    target["project"] = args.project or target["project"]
    if args.wandb:
        _log_wandb(args, target, rows, paths, out)
    if args.wandb_report:
        _wandb_page(args, target)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ssd report", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return cli(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
