"""The run report on a real smoke run: its summary, diagnostics, table and PNG."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from ssd.report.run import NOT_ANALYZED, format_table, isolation_line, plot, summarize
from ssd.results import Replicate, RunSummary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke(pipeline_outputs):
    """The smoke run's results.json: its typed replicates and summary."""
    results = json.loads((pipeline_outputs.run / "results.json").read_text())
    replicates = [Replicate.from_json(rep) for rep in results["replicates"]]
    return results, replicates, RunSummary.from_json(results["summary"])


def test_the_summary_is_what_the_replicates_say(smoke):
    results, replicates, written = smoke
    t_train = results["config"]["sampling"]["temperature"]
    summary = summarize(replicates, t_train, written.best_t_selection)
    assert summary == written  # recomputed from the stored replicates: the same numbers
    assert summary.labels == ["base", "ssd_as_decoder", "ssd"]
    for label, curve in summary.curves.items():
        for point in curve:
            per_seed = [
                next(r for r in rep.results[label].rows if r.t_eval == point.t_eval).pass_at_1
                for rep in replicates
            ]
            assert point.pass_at_1_per_seed == per_seed
            assert point.pass_at_1 == pytest.approx(np.mean(per_seed))
            assert (point.pass_at_1_min, point.pass_at_1_max) == (min(per_seed), max(per_seed))
            scale = 1.0 if label == "base" else t_train
            assert point.t_eff == pytest.approx(scale * point.t_eval)
        best = max(curve, key=lambda p: p.pass_at_1_select)
        assert summary.best[label].t_eval == best.t_eval
    (round_1,) = summary.rounds
    assert round_1.label == "ssd" and round_1.checkpoint_step_per_seed == [20, 20]


def test_diagnostics_are_the_analyze_stages_mean_over_seeds(smoke):
    _, replicates, summary = smoke
    assert set(summary.diagnostics) == {"base", "ssd"}
    for label, model in (("base", "base"), ("ssd", "ssd")):
        for key in ("lock_distractor_mass", "fork_entropy_bits"):
            want = np.mean([rep.fork_lock["ssd"][f"{model}/{key}"] for rep in replicates])
            assert getattr(summary.diagnostics[label], key) == pytest.approx(want)
    base, ssd = summary.diagnostics["base"], summary.diagnostics["ssd"]
    assert (
        f"lock distractor mass: base {base.lock_distractor_mass:.4f} -> "
        f"SSD {ssd.lock_distractor_mass:.4f}" in format_table(summary)
    )


def test_without_the_analyze_stage_the_table_says_so(smoke):
    _, replicates, _ = smoke
    unanalyzed = [replace(rep, fork_lock={}) for rep in replicates]
    summary = summarize(unanalyzed, 1.0)
    assert summary.diagnostics == {}
    table = format_table(summary)
    assert NOT_ANALYZED in table and "lock distractor mass:" not in table


def test_one_seed_makes_no_claim_and_a_second_round_gets_its_own_verdict(smoke):
    _, replicates, _ = smoke
    (alone,) = replicates[:1]
    assert all(v.endswith("one seed only: no claim") for v in summarize([alone], 1.0).verdicts)
    results = {**alone.results, "ssd_round2": replace(alone.results["ssd"], label="ssd_round2")}
    two_rounds = replace(alone, results=results)
    summary = summarize([two_rounds], 1.0)
    assert summary.labels[-1] == "ssd_round2" and [r.round for r in summary.rounds] == [1, 2]
    assert summary.verdicts[-1].startswith("SSD round 2 best vs base best")
    assert summary.curves["ssd_round2"] == summary.curves["ssd"]
    assert "SSD round 2" in format_table(summary).splitlines()[0]


def test_the_plot_draws_pass_at_1_against_t_eval_and_t_eff(
    smoke, pipeline_outputs, recorded_figures, check_png, tmp_path
):
    _, _, summary = smoke
    summary = replace(summary, t_train=1.5)  # two panels (at T_train 1 they would be the same)
    path = plot(summary, tmp_path / "pass_at_1.png")
    fig = recorded_figures["pass_at_1.png"]
    assert len(fig.axes) == 2
    for ax, x_key in zip(fig.axes, ("t_eval", "t_eff"), strict=True):
        assert [line.get_label() for line in ax.lines] == ["base", "SSD-as-decoder", "SSD"]
        for line, label in zip(ax.lines, summary.labels, strict=True):
            curve = summary.curves[label]
            assert list(line.get_xdata()) == [getattr(p, x_key) for p in curve]
            assert list(line.get_ydata()) == [p.pass_at_1 for p in curve]
        assert len(ax.collections) == 3  # one 95% CI band per curve
    assert fig.axes[0].get_xlabel() == "T_eval" and fig.axes[1].get_xlabel().startswith("T_eff")
    assert fig.axes[0].get_ylabel() == "pass@1" and fig.axes[0].get_legend() is not None
    assert "T_train=1.5" in fig.get_suptitle() and "95% CI" in fig.get_suptitle()
    check_png(path, fig)
    # the pipeline's own, at T_train 1: one panel (tests/ssd/report/test_html.py)
    check_png(pipeline_outputs.run / "pass_at_1.png", size_inches=(6.5, 4))


def test_isolation_line_says_how_graded_code_was_confined():
    described = {"isolation": {"level": "rlimits", "description": "rlimits, uid 1000"}}
    assert isolation_line(described) == "graded code ran under: rlimits, uid 1000"
    assert isolation_line({"isolation": {"level": "bwrap"}}) == "graded code ran under: bwrap"
    assert isolation_line({"benchmark": "toy"}) is None


def _points(values: dict[float, float]) -> list:
    from ssd.results import CurvePoint

    return [
        CurvePoint(t, t, v, v, v, 0.0, [v], v, None, {}, {}, (v - 0.03, v + 0.03))
        for t, v in values.items()
    ]


@pytest.mark.parametrize(
    "values,note",
    [
        ({0.5: 0.4, 1.0: 0.6, 1.5: 0.5}, ""),  # interior: nothing to say
        ({0.5: 0.4, 1.0: 0.5, 1.5: 0.6}, "(grid edge: widen eval.temperatures)"),  # climbing
        ({0.5: 0.4, 1.0: 0.59, 1.5: 0.6}, "(grid edge, on a plateau: T_eval 1 scores within"),
        ({0.5: 0.6, 1.0: 0.58, 1.5: 0.3}, "(grid edge, on a plateau: T_eval 1 scores within"),
    ],
)
def test_a_best_t_eval_on_the_grid_edge_says_whether_the_curve_still_climbs(values, note):
    """The edge note compares the edge's neighbour with the best point's interval."""
    from ssd.report.run import _best, _edge_note

    curve = _points(values)
    text = _edge_note(curve, _best(curve))
    assert (note in text) if note else text == ""


def test_each_interval_line_shows_the_difference_it_brackets(smoke):
    """A verdict averages each seed's own best; its interval line pairs the problems at the mean
    curve's best T_eval, so it prints that difference too, inside its own interval."""
    _, _, summary = smoke
    lines = format_table(summary).splitlines()
    assert [c.name.split(" best")[0] for c in summary.comparisons] == ["SSD", "SSD"]
    for c in summary.comparisons:
        (i,) = [n for n, line in enumerate(lines) if line.startswith(c.name + ":")]
        shown = lines[i + 1]
        assert shown.startswith(f"  at the best T_eval above: {c.diff:+.4f}, 95% CI over")
        assert c.ci95[0] <= c.diff <= c.ci95[1]
