"""The fork/lock report: summary scalars, the text table, and both PNGs checked by content.

The result comes from `ForkLockAccumulator` on three hand-made positions (as in
test_forklock.py): a lock (support {0}) and two forks (supports {0, 1} and {0, 1, 2}) under
T_train 1.0, top-p 0.8. Figures are caught by wrapping `save_png` (record, then call through).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from ssd.analysis import report
from ssd.analysis.forklock import AnalysisSettings, ForkLockAccumulator

BASE = {
    "lock": [0.90, 0.05, 0.03, 0.02],
    "fork2": [0.45, 0.40, 0.10, 0.05],
    "fork3": [0.30, 0.30, 0.30, 0.10],
}
SSD = {
    "lock": [0.99, 0.005, 0.003, 0.002],
    "fork2": [0.50, 0.45, 0.03, 0.02],
    "fork3": [0.33, 0.33, 0.32, 0.02],
}
SETTINGS = AnalysisSettings(
    train_temperature=1.0, train_top_p=0.8, eval_temperatures=(0.5, 1.0, 1.5), eval_top_p=0.8
)


def bits(p) -> float:
    p = np.asarray(p, dtype=np.float64)
    return float(-(p * np.log2(p)).sum())


def analyze(names=("lock", "fork2", "fork3")) -> dict:
    logits = [torch.tensor(np.log([t[n] for n in names])) for t in (BASE, SSD)]
    acc = ForkLockAccumulator(SETTINGS)
    acc.update(*logits)
    return acc.result()


@pytest.fixture(scope="module")
def result() -> dict:
    return analyze()


@pytest.fixture
def figures(monkeypatch):
    """Every Figure the report saves, in order, saved for real by the wrapped `save_png`."""
    seen, save = [], report.save_png

    def recording_save(fig, path):
        seen.append(fig)
        return save(fig, path)

    monkeypatch.setattr(report, "save_png", recording_save)
    return seen


def check_png(path, shape) -> None:
    pixels = imread(path)
    assert pixels.shape[:2] == shape
    assert pixels[..., :3].var() > 0


def test_flat_summary_is_the_headline_numbers(result):
    flat = report.flat_summary(result)
    assert set(flat) == {"n_positions", "lock_fraction", "mean_support_size"} | {
        f"{m}/{k}" for m in ("base", "ssd") for k in report.SUMMARY_KEYS
    }
    assert flat["n_positions"] == 3
    assert flat["lock_fraction"] == pytest.approx(1 / 3)
    assert flat["mean_support_size"] == pytest.approx((1 + 2 + 3) / 3)
    assert flat["base/lock_distractor_mass"] == pytest.approx(0.10)
    assert flat["ssd/lock_distractor_mass"] == pytest.approx(0.01)
    fork = (bits(SSD["fork2"]) + bits(SSD["fork3"])) / 2
    assert flat["ssd/fork_entropy_bits"] == pytest.approx(fork)
    assert flat["base/fork_kept_mass"] == pytest.approx((0.85 + 0.90) / 2)
    assert all(isinstance(v, int | float) for v in flat.values())  # one level deep


def test_format_summary_table(result):
    lines = report.format_summary(result).splitlines()
    assert lines[0] == (
        "support S_s of (T_train 1.0, top-k 0, top-p 0.8): 3 positions, lock fraction 0.333, "
        "mean |S_s| 2.00"
    )
    rows = [line.split() for line in lines[2:8]]
    assert [r[:3] for r in rows] == [
        ["lock", "base", "1"], ["lock", "SSD", "1"], ["fork", "base", "2"],
        ["fork", "SSD", "2"], ["all", "base", "3"], ["all", "SSD", "3"],
    ]  # fmt: skip
    assert float(rows[0][3]) == pytest.approx(bits(BASE["lock"]), abs=5e-5)
    assert float(rows[0][4]) == pytest.approx(0.90, abs=5e-5)  # kept mass of the lock
    for row in rows:  # H = gate + K*H(head) + (1-K)*H(tail), to the printed precision
        assert float(row[3]) == pytest.approx(sum(float(x) for x in row[5:8]), abs=2e-4)
    assert lines[8] == "lock_distractor_mass: base 0.1000 -> SSD 0.0100"
    assert lines[9].startswith("fork_entropy_bits: base 1.7455 -> SSD 1.4888")
    assert len(lines) == 10


def test_format_summary_without_locks_prints_dashes():
    text = report.format_summary(analyze(("fork2", "fork3")))
    lock = [line.split() for line in text.splitlines() if line.startswith("lock ")]
    assert lock == [["lock", "base", "0", "-", "-", "-", "-", "-"],
                    ["lock", "SSD", "0", "-", "-", "-", "-", "-"]]  # fmt: skip
    assert "lock_distractor_mass: base - -> SSD -" in text


def test_fork_lock_png_by_content(result, figures, tmp_path):
    path = report.plot_fork_lock(result, tmp_path / "fork_lock.png")
    (fig,) = figures
    assert len(fig.axes) == 4
    split, hist, cumulative, sizes = fig.axes
    # entropy split: gate, head, tail stacked over lock/fork x base/SSD; totals are the entropies
    assert [t.get_text() for t in split.get_xticklabels()] == [
        "lock\nbase", "lock\nSSD", "fork\nbase", "fork\nSSD",
    ]  # fmt: skip
    assert [t.get_text() for t in split.get_legend().get_texts()] == ["gate", "head", "tail"]
    assert len(split.patches) == 3 * 4
    tops = np.zeros(4)
    for bar in split.patches:
        tops[round(bar.get_x() + bar.get_width() / 2)] += bar.get_height()
    lock_h = [bits(BASE["lock"]), bits(SSD["lock"])]
    fork_h = [(bits(t["fork2"]) + bits(t["fork3"])) / 2 for t in (BASE, SSD)]
    np.testing.assert_allclose(tops, lock_h + fork_h, atol=1e-9)
    assert [t.get_text() for t in split.texts] == [f"H={h:.2f}" for h in lock_h + fork_h]
    # entropy histograms: one staircase per model and group that has positions
    assert len(hist.patches) == 4
    assert [t.get_text() for t in hist.get_legend().get_texts()] == [
        "base lock", "base fork", "SSD lock", "SSD fork",
    ]  # fmt: skip
    # cumulative mass vs rank: 4 curves over ranks 1..max_rank, on a log axis; the lock's rank 1
    lines = cumulative.get_lines()
    assert len(lines) == 4 and cumulative.get_xscale() == "log"
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(1, SETTINGS.max_rank + 1))
    assert lines[0].get_ydata()[0] == pytest.approx(0.90)  # base lock: top token's mass
    assert lines[0].get_ydata()[3] == pytest.approx(1.0)
    # support sizes: one position each of |S| = 1, 2, 3
    heights = [bar.get_height() for bar in sizes.patches]
    assert heights[:4] == [1, 1, 1, 0] and sum(heights) == 3
    assert sizes.get_xlabel() == "|S_s| (last bar: >= 32)"
    assert fig._suptitle.get_text() == (
        "Fork/lock analysis: T_train 1.0, top-k 0, top-p 0.8 (3 positions)"
    )
    check_png(path, (935, 1320))  # 12 x 8.5 in at 110 dpi


def test_eval_truncation_png_by_content(result, figures, tmp_path):
    path = report.plot_eval_truncation(result, tmp_path / "eval_truncation.png")
    (fig,) = figures
    surviving, entropy, by_mass = fig.axes
    temps = list(SETTINGS.eval_temperatures)
    for ax in (surviving, entropy):
        lines = ax.get_lines()
        assert len(lines) == 6  # base and SSD, each for all / lock / fork
        assert all(list(line.get_xdata()) == temps for line in lines)
        assert [line.get_linestyle() for line in lines] == ["-", "--", ":"] * 2
    # at T_eval 0.5 the lock's only surviving token is token 0; at 1.0 as well (0.90 >= 0.8)
    assert list(surviving.get_lines()[1].get_ydata()[:2]) == [1.0, 1.0]
    assert list(entropy.get_lines()[1].get_ydata()[:2]) == [0.0, 0.0]
    assert surviving.get_yscale() == "linear"  # 1 to 3 tokens: no log axis
    # by top-20 mass: every position of a 4-token vocabulary has all its mass in the top 20
    lines = by_mass.get_lines()
    assert len(lines) == 2
    assert [line.get_linestyle() for line in lines] == ["--", "-"]  # base dashed, SSD solid
    legend = [t.get_text() for t in by_mass.get_legend().get_texts()]
    assert legend == [">=99.9% (n=3)"]  # only the SSD line is labelled, with its count
    assert fig._suptitle.get_text() == "Eval truncation: top-k 0, top-p 0.8"
    check_png(path, (528, 1760))  # 16 x 4.8 in at 110 dpi


def test_write_plots_writes_both(result, figures, tmp_path):
    files = report.write_plots(result, tmp_path / "out")
    assert files == {
        "fork_lock": str(tmp_path / "out" / "fork_lock.png"),
        "eval_truncation": str(tmp_path / "out" / "eval_truncation.png"),
    }
    assert len(figures) == 2  # and no temporary file left behind:
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "eval_truncation.png",
        "fork_lock.png",
    ]  # fmt: skip
