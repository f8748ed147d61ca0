"""The sweep table, the T_eff fits and their wording, on numbers whose answer is known."""

from __future__ import annotations

import pytest

from ssd.report.sweep import (
    by_setting,
    cell_rows,
    headline,
    quadratic_fit,
    row_optima,
    setting_labels,
    teff_fits,
)
from ssd.report.sweep_text import describe_fit


def test_quadratic_fit_recovers_an_exact_parabola_and_its_peak():
    t_eff = [0.4, 0.8, 1.2, 1.6, 2.0]
    pass1 = [0.5 - (t - 1.2) ** 2 for t in t_eff]
    fit = quadratic_fit(t_eff, pass1)
    assert fit["r2"] == pytest.approx(1.0) and fit["peak_t_eff"] == pytest.approx(1.2)
    noisy = quadratic_fit(
        t_eff, [p + e for p, e in zip(pass1, [0.05, -0.05, 0.05, -0.05, 0.05], strict=True)]
    )
    assert 0 < noisy["r2"] < 1


def test_fit_needs_three_distinct_points():
    assert quadratic_fit([1.0, 1.0, 2.0], [0.1, 0.2, 0.3])["r2"] is None


def _results(t_train, ssd, base, decoder, top_k=0, model="toy", selection="test"):
    curve = lambda values, t_eff_scale: [  # noqa: E731
        {
            "t_eval": t,
            "t_eff": t * t_eff_scale,
            "pass@1": v,
            "pass@1_min": v,
            "pass@1_max": v,
            "sampled": {},
        }
        for t, v in values
    ]
    return {
        "config": {
            "model": {"name": model},
            "filter": {"name": "empty"},
            "sampling": {"temperature": t_train, "top_k": top_k, "top_p": 0.8},
            "eval": {"top_k": 20, "top_p": 0.95, "selection": selection},
        },
        "seeds": [0, 1],
        "summary": {
            "curves": {
                "ssd": curve(ssd, t_train),
                "base": curve(base, 1.0),
                "ssd_as_decoder": curve(decoder, t_train),
            },
            "best": {
                "base": max(
                    ({"t_eval": t, "pass@1": v} for t, v in base), key=lambda r: r["pass@1"]
                )
            },
        },
    }


def test_rows_put_both_baselines_beside_each_ssd_point():
    results = _results(
        1.5, ssd=[(0.8, 0.30)], base=[(0.5, 0.25), (0.8, 0.20)], decoder=[(0.8, 0.28)]
    )
    (row,) = cell_rows(results, "0")
    assert row["t_eff"] == pytest.approx(1.2) and row["pass@1"] == 0.30
    assert (
        row["base_pass@1_same_t_eval"] == 0.20
        and row["base_best_pass@1"] == 0.25
        and row["base_best_t_eval"] == 0.5
    )
    assert row["ssd_as_decoder_pass@1"] == 0.28 and row["seeds"] == "0 1"
    assert (row["model"], row["eval_top_k"], row["eval_top_p"]) == ("toy", 20, 0.95)
    (head,) = headline([row])
    assert (
        head["ssd_best_pass@1"] == 0.30
        and head["base_best_pass@1"] == 0.25
        and head["ssd_as_decoder_best_pass@1"] == 0.28
    )


def test_each_round_and_difficulty_gets_its_own_columns():
    results = _results(1.0, ssd=[(0.8, 0.30)], base=[(0.8, 0.20)], decoder=[(0.8, 0.28)])
    curves = results["summary"]["curves"]
    curves["ssd_round2"] = [dict(curves["ssd"][0], **{"pass@1": 0.33})]
    curves["ssd"][0]["pass@1_by_difficulty"] = {"easy": 0.9, "hard": 0.1}
    results["summary"]["rounds"] = [
        {"label": "ssd", "checkpoint_step_per_seed": [250, 500]},
        {"label": "ssd_round2", "checkpoint_step_per_seed": [500, 500]},
    ]
    first, second = cell_rows(results, "0")
    assert (first["round"], first["pass@1"], first["checkpoint"]) == (1, 0.30, "250 500")
    assert (second["round"], second["pass@1"], second["checkpoint"]) == (2, 0.33, "500 500")
    assert (first["pass@1_easy"], first["pass@1_medium"], first["pass@1_hard"]) == (0.9, None, 0.1)


def _row(t_train, t_eval, pass1, round_=1, top_k=0, select=None):
    return {
        "model": "toy",
        "benchmark": "toy",
        "filter": "empty",
        "t_train": t_train,
        "top_k": top_k,
        "top_p": 1.0,
        "round": round_,
        "t_eval": t_eval,
        "t_eff": t_train * t_eval,
        "pass@1": pass1,
        "pass@1_select": pass1 if select is None else select,
    }


def test_row_optima_find_each_rows_best_t_eval_and_flag_the_grid_edge():
    rows = [
        _row(0.5, 0.4, 0.10),
        _row(0.5, 0.8, 0.30),  # interior optimum: T_eff 0.4
        _row(0.5, 1.2, 0.20),
        _row(2.0, 0.4, 0.25),  # optimum at the grid's low end: flagged
        _row(2.0, 0.8, 0.05),
        _row(2.0, 1.2, 0.01),
        _row(2.0, 0.4, 0.40, round_=2),  # another round is another row
        _row(2.0, 0.8, 0.45, round_=2),
    ]
    optima = {(o["t_train"], o["round"]): o for o in row_optima(rows)}
    assert len(optima) == 3
    assert optima[(0.5, 1)]["t_eval"] == 0.8 and not optima[(0.5, 1)]["at_edge"]
    assert optima[(0.5, 1)]["t_eff"] == pytest.approx(0.4)
    assert optima[(2.0, 1)]["t_eval"] == 0.4 and optima[(2.0, 1)]["at_edge"]
    assert optima[(2.0, 2)]["t_eval"] == 0.8 and optima[(2.0, 2)]["at_edge"]


def test_describe_fit_says_why_there_is_no_peak():
    t_eff = [0.4, 0.8, 1.2, 1.6, 2.0]
    concave = quadratic_fit(t_eff, [0.5 - (t - 1.2) ** 2 for t in t_eff])
    assert describe_fit(concave, t_eff).endswith("peak T_eff = 1.20")
    convex = quadratic_fit(t_eff, [(t - 2.6) ** 2 for t in t_eff])
    assert "opens upward" in describe_fit(convex, t_eff)
    beyond = quadratic_fit(t_eff, [0.5 - (t - 3.0) ** 2 for t in t_eff])
    assert "outside the grid" in describe_fit(beyond, t_eff)
    assert "n/a" in describe_fit(quadratic_fit([1.0, 1.0], [0.1, 0.2]), [1.0, 1.0])


def test_each_truncation_setting_gets_its_own_fit_instead_of_one_pooled_curve():
    """Two exact parabolas peaking at different T_eff: pooled they fit badly, apart each fits
    exactly, which is the paper's point that training top-k moves the optimum."""
    t_evals = [0.4, 0.6, 0.8, 1.0, 1.2]
    rows = [_row(1.0, t, 0.5 - (t - 0.8) ** 2) for t in t_evals]
    rows += [_row(1.0, t, 0.6 - 2 * (t - 1.1) ** 2, top_k=10) for t in t_evals]
    assert list(by_setting(rows)) == [
        ("toy", "toy", "empty", 0, 1.0, 1),
        ("toy", "toy", "empty", 10, 1.0, 1),
    ]
    assert list(setting_labels(rows).values()) == ["top-k off", "top-k 10"]
    plain, truncated = teff_fits(rows)
    assert (plain["top_k"], truncated["top_k"]) == (0, 10)
    assert plain["fit"]["r2"] == pytest.approx(1.0) and truncated["fit"]["r2"] == pytest.approx(1.0)
    assert plain["fit"]["peak_t_eff"] == pytest.approx(0.8)
    assert truncated["fit"]["peak_t_eff"] == pytest.approx(1.1)
    pooled = quadratic_fit([r["t_eff"] for r in rows], [r["pass@1"] for r in rows])
    assert pooled["r2"] < 0.9


def test_headline_is_per_model_and_chooses_on_the_selection_problems():
    validation = [
        cell_rows(_results(1.0, [(0.6, 0.40), (0.9, 0.30)], [(0.6, 0.2)], [(0.6, 0.2)],
                           selection="validation"), "0"),
        cell_rows(_results(1.0, [(0.6, 0.10)], [(0.6, 0.05)], [(0.6, 0.05)], model="other"), "1"),
    ]  # fmt: skip
    rows = [*validation[0], *validation[1]]
    # The validation split prefers T_eval 0.9 although test pass@1 is higher at 0.6.
    rows[0]["pass@1_select"], rows[1]["pass@1_select"] = 0.1, 0.5
    first, second = headline(rows)
    assert first["model"] == "other" and second["model"] == "toy"
    assert second["ssd_best_at"]["t_eval"] == 0.9 and second["ssd_best_pass@1"] == 0.30
    assert "validation split" in second["selection"] and "no held-out" in first["selection"]


def test_optima_choose_on_the_selection_problems():
    rows = [_row(1.0, 0.5, 0.30, select=0.1), _row(1.0, 0.8, 0.20, select=0.4)]
    (best,) = row_optima(rows)
    assert best["t_eval"] == 0.8 and best["pass@1"] == 0.20
