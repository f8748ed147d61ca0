"""`ssd report` on real runs: the 2x2 sweep as the pipeline wrote it, and a sweep that crosses
T_train x T_eval with training top-k and two models, made from a real cell whose config and SSD
curve are set through the typed summary (so each setting's fit has a known peak)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ssd.cli.report import main as report
from ssd.report.sweep import Cell
from ssd.results import CurvePoint

PNGS = ("heatmap_pass_at_1.png", "pass_at_1_vs_t_eff.png", "best_vs_baselines.png")
T_EVALS = [0.4, 0.6, 0.8, 1.0, 1.2]


def _panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_visible()]


def _curve(point: CurvePoint, t_train: float, values: list[float]) -> list[CurvePoint]:
    return [
        replace(
            point,
            t_eval=t,
            t_eff=round(t * t_train, 6),
            pass_at_1=v,
            pass_at_1_min=v,
            pass_at_1_max=v,
            pass_at_1_per_seed=[v],
            pass_at_1_select=v,
        )
        for t, v in zip(T_EVALS, values, strict=True)
    ]


def _write_cell(template: Path, out: Path, t_train: float, top_k: int, model: str, peak: float):
    """The real cell at `template`, retrained (on paper) at (t_train, top_k) by `model`."""
    results = json.loads(template.read_text())
    cell = Cell.read(template, template.parent)
    point = cell.summary.curves["ssd"][0]
    ssd = _curve(point, t_train, [0.5 - (t * t_train - peak) ** 2 for t in T_EVALS])
    base = _curve(point, 1.0, [0.3 - (t - 0.7) ** 2 for t in T_EVALS])
    curves = {"base": base, "ssd_as_decoder": ssd, "ssd": ssd}
    config = copy.deepcopy(cell.config)
    config["model"]["name"] = model
    config["sampling"].update(temperature=t_train, top_k=top_k)
    config["eval"]["benchmark"].update(
        {"name": "lcb", "version": "v6"} if model == "coder-b" else {"name": "humaneval"}
    )
    summary = replace(cell.summary, t_train=t_train, curves=curves)
    out.mkdir(parents=True)
    (out / "results.json").write_text(
        json.dumps({**results, "config": config, "summary": summary.to_json()})
    )


@pytest.mark.slow
def test_report_on_the_real_sweep(
    pipeline_outputs, recorded_figures, check_png, tmp_path, capsys
) -> None:
    out = tmp_path / "report"
    assert report([str(pipeline_outputs.sweep), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = (out / "table.csv").read_text().splitlines()
    assert len(table) == 1 + 4  # one SSD point per cell
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_rows"] == 4 and [h["model"] for h in summary["headline"]] == ["toy"]
    assert "toy on toy: best SSD" in printed
    for name in PNGS:
        check_png(out / name, recorded_figures[name])
    assert len(_panels(recorded_figures["heatmap_pass_at_1.png"])) == 1


@pytest.mark.slow
def test_report_fits_draws_and_heads_each_setting_apart(
    pipeline_outputs, recorded_figures, check_png, tmp_path, capsys
) -> None:
    cells = [
        (t_train, top_k, model, 0.8 if top_k == 0 else 1.1)
        for model in ("coder-a", "coder-b")
        for top_k in (0, 10)
        for t_train in (0.8, 1.2)
    ]
    template = pipeline_outputs.sweep / "0" / "results.json"
    for i, cell in enumerate(cells):
        _write_cell(template, tmp_path / str(i), *cell)
    assert report([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    fits = {(f["model"], f["top_k"]): f["fit"] for f in summary["teff_fits"]}
    assert sorted(fits) == [("coder-a", 0), ("coder-a", 10), ("coder-b", 0), ("coder-b", 10)]
    assert round(fits[("coder-a", 0)]["peak_t_eff"], 6) == 0.8
    assert round(fits[("coder-b", 10)]["peak_t_eff"], 6) == 1.1
    assert [h["model"] for h in summary["headline"]] == ["coder-a", "coder-b"]
    assert "[model coder-b, benchmark lcb/v6, top-k 10] quadratic fit" in out
    assert "coder-a on humaneval: best SSD 0.5000" in out and "coder-b on lcb/v6: best" in out
    table = (tmp_path / "report" / "table.csv").read_text().splitlines()
    assert len(table) == 1 + len(cells) * 5
    for name in ("heatmap_pass_at_1.png", "pass_at_1_vs_t_eff.png"):  # one panel per setting
        assert len(_panels(recorded_figures[name])) == 4, name
    teff = _panels(recorded_figures["pass_at_1_vs_t_eff.png"])
    assert all(len(ax.collections) == 2 and len(ax.lines) == 1 for ax in teff)  # 2 T_train, fit
    (best,) = recorded_figures["best_vs_baselines.png"].axes
    assert len(best.get_xticklabels()) == 2 and len(best.containers) == 3  # 2 models x 3 bars
    for name in PNGS:
        check_png(tmp_path / "report" / name, recorded_figures[name])
    assert np.isfinite([f["r2"] for f in fits.values()]).all()


def test_report_refuses_a_directory_without_results(tmp_path: Path, capsys) -> None:
    assert report([str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err
    assert report([str(tmp_path / "missing")]) == 2
