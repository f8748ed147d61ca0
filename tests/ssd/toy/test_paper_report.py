"""`ssd toy paper`'s report: the tables it prints, the JSON, and the PNGs checked by content.

The figures are caught where the module closes them (a wrapper around `pyplot.close` records the
Figure, then calls through), so the axes, lines and labels are checked against the sweeps that
went in; the PNG on disk is checked for its pixel size and that something is drawn on it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.image import imread
from rich.console import Console

from ssd.toy import paper_report
from ssd.toy.paper import ToyConfig, run_toy

CONFIG = ToyConfig(t_step=0.1)  # a coarse grid: 0.05, 0.15, ..., 2.95 and the end, 3.0
PNG_SHAPE = (540, 1440)  # 12 x 4.5 in at 120 dpi


@pytest.fixture(scope="module")
def toy():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 1,500 decodes of a (3, 16) tensor: threads only cost here
    try:
        return run_toy(CONFIG)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def figures(monkeypatch):
    """Every Figure the report closes, in order (it closes each right after saving it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seen, close = [], plt.close

    def recording_close(fig=None):
        seen.append(fig)
        close(fig)

    monkeypatch.setattr(plt, "close", recording_close)
    return seen


def check_png(path, shape=PNG_SHAPE):
    pixels = imread(path)
    assert pixels.shape[:2] == shape
    assert pixels[..., :3].var() > 0


def test_pass_vs_t_figure_by_content(toy, figures, tmp_path):
    summary, sweeps = toy
    path = tmp_path / "pass_vs_T.png"
    paper_report.plot(sweeps, CONFIG, summary, path)
    (fig,) = figures
    curve, robust = fig.axes
    assert len(fig.axes) == 2
    temps, headline = CONFIG.temperatures(), sweeps[CONFIG.eval_top_p]
    # left: teacher and student curves, each with its best point, then SSD-as-decoder dotted
    lines = curve.get_lines()
    assert len(lines) == 5
    for line, name in ((lines[0], "teacher"), (lines[2], "student"), (lines[4], "ssd_as_decoder")):
        np.testing.assert_allclose(line.get_xdata(), temps)
        np.testing.assert_allclose(line.get_ydata(), headline[name].pass_curve)
    for point, name in ((lines[1], "teacher"), (lines[3], "student")):
        best = int(np.argmax(headline[name].pass_curve))
        assert point.get_marker() == "o"
        assert (point.get_xdata()[0], point.get_ydata()[0]) == pytest.approx(
            (temps[best], headline[name].pass_curve[best])
        )
    assert lines[4].get_linestyle() == ":"
    labels = [t.get_text() for t in curve.get_legend().get_texts()]
    best_teacher = int(np.argmax(headline["teacher"].pass_curve))
    assert labels[0] == (
        f"teacher (base): best {headline['teacher'].pass_curve[best_teacher]:.4f} "
        f"at T={temps[best_teacher]:.2f}"
    )
    assert labels[1].startswith("SSD student: best ")
    assert labels[2] == "SSD-as-decoder on the teacher (= student)"
    assert (curve.get_xlabel(), curve.get_ylabel()) == ("global eval temperature T", "P(pass)")
    assert curve.get_title() == "Fork/lock toy, eval top-p 0.80"
    # right: best P(pass) per eval top-p, one line per model, a T annotation per point
    top_ps = sorted({*CONFIG.robust_top_ps, CONFIG.eval_top_p})
    assert len(robust.get_lines()) == 2
    for line, name in zip(robust.get_lines(), ("teacher", "student"), strict=True):
        np.testing.assert_allclose(line.get_xdata(), top_ps)
        np.testing.assert_allclose(
            line.get_ydata(), [sweeps[p][name].pass_curve.max() for p in top_ps]
        )
    assert len(robust.texts) == 2 * len(top_ps)
    assert [t.get_text() for t in robust.get_legend().get_texts()] == [
        "teacher (base)",
        "SSD student",
    ]
    assert (robust.get_xlabel(), robust.get_ylabel()) == ("eval top-p", "best P(pass) over T")
    check_png(path)


SGD_SUMMARY = {"exact_student": {"best_pass": 0.137, "best_T": 2.0}, "settings": {"seed": 3}}


def sgd_curves(n: int) -> dict:
    bump = np.exp(-((np.arange(n) - n // 2) ** 2) / n)  # peak 1 at index n // 2
    return {
        "exact": 0.137 * bump,
        "sgd": {64: 0.05 * bump, 128: np.zeros(n)},  # N=128: a student that never passes
        "tabular_mle": {64: 0.02 * bump, 128: 0.1 * bump},
    }


def test_sgd_figure_by_content(figures, tmp_path):
    temps = CONFIG.temperatures()
    curves = sgd_curves(len(temps))
    path = tmp_path / "sgd.png"
    paper_report.plot_sgd(curves, CONFIG, SGD_SUMMARY, path)
    (fig,) = figures
    assert len(fig.axes) == 2
    for ax, key in zip(fig.axes, ("sgd", "tabular_mle"), strict=True):
        lines = ax.get_lines()
        assert len(lines) == 3  # the exact student, then N=64 and N=128
        np.testing.assert_allclose(lines[0].get_ydata(), curves["exact"])
        np.testing.assert_allclose(lines[1].get_ydata(), curves[key][64])
        np.testing.assert_allclose(lines[2].get_ydata(), curves[key][128])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    at = temps[len(temps) // 2]
    assert labels == [
        "exact student: 0.1370 @ 2.00",
        f"N=64: 0.0500 @ {at:.2f}",
        "N=128: 0.0000",  # a curve at 0 everywhere has no best T worth printing
    ]
    assert fig.axes[0].get_ylabel() == "P(pass), eval top-p 0.80"
    assert fig._suptitle.get_text() == "Students trained on N SSD trajectories (seed 3)"
    check_png(path)


def test_write_outputs_writes_png_and_summary_atomically(toy, tmp_path):
    summary, sweeps = toy
    files = paper_report.write_outputs(summary, sweeps, CONFIG, tmp_path / "out")
    assert files == {"png": str(tmp_path / "out" / "pass_vs_T.png"),
                     "summary": str(tmp_path / "out" / "summary.json")}  # fmt: skip
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written["files"] == files and written["teacher"] == summary["teacher"]
    assert "files" not in summary  # the caller's summary is not changed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pass_vs_T.png", "summary.json"]
    check_png(tmp_path / "out" / "pass_vs_T.png")
    curves = sgd_curves(len(CONFIG.temperatures()))
    files = paper_report.write_outputs(
        {**summary, "sgd": SGD_SUMMARY}, sweeps, CONFIG, tmp_path / "sgd", curves
    )
    assert files["sgd_png"] == str(tmp_path / "sgd" / "sgd_pass_vs_T.png")
    check_png(tmp_path / "sgd" / "sgd_pass_vs_T.png")


def test_a_failed_write_leaves_no_file_behind(toy, tmp_path, monkeypatch):
    summary, sweeps = toy

    def fail(*args, **kwargs):
        raise OSError("disk full")

    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", fail)
    with pytest.raises(OSError, match="disk full"):
        paper_report.plot(sweeps, CONFIG, summary, tmp_path / "pass_vs_T.png")
    assert list(tmp_path.iterdir()) == []


def printed(summary: dict) -> str:
    console = Console(record=True, width=240, force_terminal=False)
    paper_report.print_tables(summary, console)
    return console.export_text()


def test_tables_print_the_best_t_of_each_model_and_the_caveat(toy):
    summary, sweeps = toy
    temps, headline = CONFIG.temperatures(), sweeps[CONFIG.eval_top_p]
    text = printed({**summary, "files": {"png": "a.png", "summary": "b.json"}})
    assert "States after SSD (T_train 0.9, top-p 0.85)" in text
    assert "Best global T, eval top-p 0.80 (grid 0.05..3.0 step 0.1)" in text
    for label, name in (("teacher (base)", "teacher"), ("SSD student", "student")):
        best = int(np.argmax(headline[name].pass_curve))
        row = next(line for line in text.splitlines() if line.strip("│ ").startswith(label))
        assert f"{headline[name].pass_curve[best]:.4f}" in row and f"{temps[best]:.2f}" in row
    robust = [line for line in text.splitlines() if line.strip("│ ")[:4] in ("0.65", "0.90")]
    assert len(robust) == 2  # one row per eval top-p of the robustness sweep (first, last)
    assert "SSD student vs SSD-as-decoder on the teacher: coincide" in text
    assert paper_report.RESOLUTION_NOTE[:60] in text.replace("\n", " ")
    assert "Caveat (paper-notes §7)" in text
    assert text.strip().splitlines()[-1] == "wrote a.png, b.json"


def test_grid_edge_and_differ_are_flagged(toy):
    summary, _ = toy
    assert paper_report._best({"best_pass": 0.5, "best_T": 3.0, "at_grid_edge": True}) == (
        "0.5000",
        "3.00 (grid edge)",
    )
    gap = {**summary["student_vs_ssd_as_decoder"], "coincide": False}
    assert "on the teacher: DIFFER" in printed({**summary, "student_vs_ssd_as_decoder": gap})


def test_sgd_table_rows(toy):
    summary, _ = toy
    sgd = {
        "exact_student": {"best_pass": 0.137, "best_T": 2.05},
        "settings": {"steps": 100, "seed": 1},
        "rows": [
            {
                "n_trajectories": 1024,
                "visits": {"root": 1024, "fork": 900, "lock": 2700},
                "sgd": {
                    "best_pass": 0.1234, "best_T": 1.1, "pass_at_exact_best_T": 0.1,
                    "fork_rank_of_correct": [2, 3],
                    "states": {"root": {"tv_to_exact": 0.01}, "fork": {"tv_to_exact": 0.02},
                               "lock": {"tv_to_exact": 0.03, "mass_off_support": 0.005}},
                },
                "tabular_mle": {
                    "best_pass": 0.0, "best_T": 0.05,
                    "over_seeds": {"mean_best_pass": 0.5, "share_zero": 0.25,
                                   "share_within_10pct_of_exact": 0.5, "n_seeds": 8},
                },
            }
        ],
    }  # fmt: skip
    text = printed({**summary, "sgd": sgd})
    assert "SGD students vs the exact student (0.1370 @ 2.05); 100 steps each, seed 1" in text
    (row,) = [line for line in text.splitlines() if line.strip("│ ").startswith("1024")]
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells == ["1024", "1024/900/2700", "0.1234 @ 1.10", "0.1000", "2,3",
                     "0.010/0.020/0.030", "0.0050", "0.0000", "0.5000; 25%; 50%"]  # fmt: skip
    assert "best P(pass) over 8 sample seeds" in text.replace("\n", " ")


def test_print_json_is_the_summary_alone(toy, capsys):
    summary, _ = toy
    paper_report.print_json(summary)
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(summary))
