"""The sweep report's PNGs, checked by what they draw: panels, grids, points, fits and bars."""

from __future__ import annotations

import copy

import pytest

from ssd.report.sweep import collect, headline, teff_fits
from ssd.report.sweep_plots import plot_best, plot_heatmap, plot_teff

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows(pipeline_outputs) -> list[dict]:
    return collect(pipeline_outputs.sweep)


def _panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_visible()]


def _two_settings(rows: list[dict]) -> list[dict]:
    """The sweep's rows, and the same rows again as a top-k 10 setting."""
    return rows + [{**copy.deepcopy(r), "top_k": 10, "pass@1": r["pass@1"] / 2} for r in rows]


def test_the_heatmap_shows_pass_at_1_over_t_train_by_t_eval(
    rows, recorded_figures, check_png, tmp_path
):
    path = plot_heatmap(rows, tmp_path / "heatmap.png")
    fig = recorded_figures["heatmap.png"]
    (panel,) = _panels(fig)
    assert len(fig.axes) == 2  # the panel and its colour bar
    grid = panel.images[0].get_array()
    by_cell = {(r["t_train"], r["t_eval"]): r["pass@1"] for r in rows}
    assert grid.shape == (2, 2)
    assert [[grid[i, j] for j in range(2)] for i in range(2)] == [
        [by_cell[(1.0, 0.7)], by_cell[(1.0, 1.0)]],
        [by_cell[(1.5, 0.7)], by_cell[(1.5, 1.0)]],
    ]
    assert sorted(t.get_text() for t in panel.texts) == sorted(f"{v:.3f}" for v in by_cell.values())
    assert [t.get_text() for t in panel.get_xticklabels()] == ["0.7", "1"]
    assert [t.get_text() for t in panel.get_yticklabels()] == ["1", "1.5"]
    assert (panel.get_xlabel(), panel.get_ylabel()) == ("T_eval", "T_train")
    assert panel.get_title() == "SSD pass@1 — all cells"
    check_png(path, fig)


def test_each_setting_gets_its_own_heatmap_and_t_eff_panel(rows, recorded_figures, tmp_path):
    both = _two_settings(rows)
    plot_heatmap(both, tmp_path / "heatmap.png")
    plot_teff(both, teff_fits(both), tmp_path / "teff.png")
    for name in ("heatmap.png", "teff.png"):
        titles = [ax.get_title() for ax in _panels(recorded_figures[name])]
        assert [t.removeprefix("SSD pass@1 — ") for t in titles] == ["top-k off", "top-k 10"]


def test_the_t_eff_plot_has_a_point_per_cell_and_the_fit(
    rows, recorded_figures, check_png, tmp_path
):
    fits = teff_fits(rows)
    path = plot_teff(rows, fits, tmp_path / "teff.png")
    fig = recorded_figures["teff.png"]
    (panel,) = _panels(fig)
    first, second = panel.collections  # one scatter per T_train
    assert [tuple(xy) for xy in first.get_offsets()] == [
        (r["t_eff"], r["pass@1"]) for r in rows if r["t_train"] == 1.0
    ]
    assert len(second.get_offsets()) == 2
    (fit_line,) = panel.lines  # 4 distinct T_eff: the quadratic fit is drawn
    c0, c1, c2 = fits[0]["fit"]["coefficients"]
    x, y = fit_line.get_xdata(), fit_line.get_ydata()
    assert y[0] == pytest.approx(c0 + c1 * x[0] + c2 * x[0] ** 2)
    assert (x[0], x[-1]) == tuple(fits[0]["t_eff_range"])
    labels = [t.get_text() for t in panel.get_legend().get_texts()]
    assert labels[:2] == ["T_train=1", "T_train=1.5"] and labels[2].startswith("quadratic fit")
    assert panel.get_title() == "all cells" and panel.get_xlabel().startswith("T_eff")
    check_png(path, fig)


def test_the_best_of_plot_puts_both_baselines_beside_the_best_ssd(
    rows, recorded_figures, check_png, tmp_path
):
    (head,) = heads = headline(rows)
    path = plot_best(heads, tmp_path / "best.png")
    fig = recorded_figures["best.png"]
    (ax,) = fig.axes
    bars = [container for container in ax.containers]
    assert [b.get_label() for b in bars] == [
        "base (best T_eval)",
        "SSD-as-decoder (best)",
        "SSD (best)",
    ]
    heights = [patch.get_height() for b in bars for patch in b.patches]
    keys = ("base_best_pass@1", "ssd_as_decoder_best_pass@1", "ssd_best_pass@1")
    assert heights == [head[k] for k in keys]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["toy\ntoy"]
    assert ax.get_title() == head["selection"]
    check_png(path, fig)
