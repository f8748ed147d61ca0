"""The sweep table, the T_eff fits and their wording: on a real 2x2 sweep, and on real cells whose
SSD curve a test sets (through the typed summary) where it needs a known answer."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from ssd.report.sweep import (
    Cell,
    by_setting,
    cell_rows,
    collect,
    headline,
    quadratic_fit,
    read_cells,
    row_optima,
    setting_labels,
    teff_fits,
)
from ssd.report.sweep_text import describe_fit
from ssd.results import RoundSummary


@pytest.fixture(scope="module")
def cells(pipeline_outputs) -> list[Cell]:
    return read_cells(pipeline_outputs.sweep)


def _designed(template: Cell, t_train: float, ssd: list[tuple], **setting) -> Cell:
    """`template` (a real cell) trained at `t_train`, with the SSD curve a test needs.

    `ssd` (and `round2=`): (T_eval, pass@1) or (T_eval, pass@1, pass@1 on the selection problems);
    `top_k=`, `model=`, `selection=` set the cell's config.
    """
    point = template.summary.curves["ssd"][0]

    def curve(values: list[tuple]) -> list:
        return [
            replace(
                point,
                t_eval=v[0],
                t_eff=round(t_train * v[0], 6),
                pass_at_1=v[1],
                pass_at_1_min=v[1],
                pass_at_1_max=v[1],
                pass_at_1_per_seed=[v[1]],
                pass_at_1_select=v[-1],
            )  # fmt: skip
            for v in values
        ]

    curves = {**template.summary.curves, "ssd": curve(ssd)}
    if "round2" in setting:
        curves["ssd_round2"] = curve(setting["round2"])
    config = copy.deepcopy(template.config)
    config["sampling"].update(temperature=t_train, top_k=setting.get("top_k", 0))
    config["model"]["name"] = setting.get("model", "toy")
    config["eval"]["selection"] = setting.get("selection", "test")
    return replace(template, config=config, summary=replace(template.summary, curves=curves))


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


def test_describe_fit_says_why_there_is_no_peak():
    t_eff = [0.4, 0.8, 1.2, 1.6, 2.0]
    concave = quadratic_fit(t_eff, [0.5 - (t - 1.2) ** 2 for t in t_eff])
    assert describe_fit(concave, t_eff).endswith("peak T_eff = 1.20")
    convex = quadratic_fit(t_eff, [(t - 2.6) ** 2 for t in t_eff])
    assert "opens upward" in describe_fit(convex, t_eff)
    beyond = quadratic_fit(t_eff, [0.5 - (t - 3.0) ** 2 for t in t_eff])
    assert "outside the grid" in describe_fit(beyond, t_eff)
    assert "n/a" in describe_fit(quadratic_fit([1.0, 1.0], [0.1, 0.2]), [1.0, 1.0])


@pytest.mark.slow
def test_rows_put_both_baselines_beside_each_ssd_point(cells, pipeline_outputs):
    assert [c.name for c in cells] == ["0", "1", "2", "3"]
    for cell in cells:
        (row,) = cell_rows(cell)
        s, config = cell.summary, cell.config
        t_train, t_eval = config["sampling"]["temperature"], config["eval"]["temperature"]
        (ssd,), (decoder,) = s.curves["ssd"], s.curves["ssd_as_decoder"]
        base_same = next(p for p in s.curves["base"] if p.t_eval == t_eval)
        assert (row["t_train"], row["t_eval"]) == (t_train, t_eval)
        assert row["t_eff"] == pytest.approx(t_train * t_eval) and row["pass@1"] == ssd.pass_at_1
        assert row["base_pass@1_same_t_eval"] == base_same.pass_at_1
        assert (row["base_best_pass@1"], row["base_best_t_eval"]) == (
            s.best["base"].pass_at_1,
            s.best["base"].t_eval,
        )
        assert row["ssd_as_decoder_pass@1"] == decoder.pass_at_1
        assert (row["pass@1_ci95_low"], row["pass@1_ci95_high"]) == ssd.pass_at_1_ci95_first_seed
        diagnostics = s.diagnostics["ssd"]  # the analyze stage's, for the cell's SSD model
        assert row["lock_distractor_mass"] == diagnostics.lock_distractor_mass
        # At T_train=1.5 the base's training support holds >= 2 tokens everywhere: no lock.
        assert (diagnostics.lock_distractor_mass is None) == (t_train == 1.5)
        assert row["fork_entropy_bits"] == diagnostics.fork_entropy_bits is not None
        assert (row["model"], row["benchmark"], row["seeds"]) == ("toy", "toy", "0")
        assert (row["round"], row["checkpoint"]) == (1, "20")  # the final step, 20
        assert (row["eval_top_k"], row["eval_top_p"]) == (
            config["eval"]["top_k"],
            config["eval"]["top_p"],
        )
    rows = collect(pipeline_outputs.sweep)
    assert [(r["t_train"], r["t_eval"]) for r in rows] == [
        (1.0, 0.7),
        (1.0, 1.0),
        (1.5, 0.7),
        (1.5, 1.0),
    ]
    (head,) = headline(rows)
    best = max(rows, key=lambda r: r["pass@1_select"])
    decoder = max(rows, key=lambda r: r["ssd_as_decoder_pass@1_select"])
    assert head["ssd_best_pass@1"] == best["pass@1"]
    assert head["base_best_pass@1"] == best["base_best_pass@1"]
    assert head["ssd_as_decoder_best_pass@1"] == decoder["ssd_as_decoder_pass@1"]


@pytest.mark.slow
def test_each_round_and_difficulty_gets_its_own_columns(cells):
    cell = cells[0]
    s = cell.summary
    (point,) = s.curves["ssd"]
    levels = replace(point, pass_at_1_by_difficulty={"easy": 0.9, "hard": 0.1})
    curves = {**s.curves, "ssd": [levels], "ssd_round2": [replace(point, pass_at_1=0.33)]}
    rounds = [
        replace(s.rounds[0], checkpoint_step_per_seed=[250, 500]),
        RoundSummary(2, "ssd_round2", [500, 500], [None, None]),
    ]
    first, second = cell_rows(replace(cell, summary=replace(s, curves=curves, rounds=rounds)))
    assert (first["round"], first["pass@1"], first["checkpoint"]) == (1, point.pass_at_1, "250 500")
    assert (second["round"], second["pass@1"], second["checkpoint"]) == (2, 0.33, "500 500")
    assert (first["pass@1_easy"], first["pass@1_medium"], first["pass@1_hard"]) == (0.9, None, 0.1)
    assert second["lock_distractor_mass"] is None  # round 2 was not analyzed here


@pytest.mark.slow
def test_row_optima_find_each_rows_best_t_eval_and_flag_the_grid_edge(cells):
    designed = [
        _designed(cells[0], 0.5, [(0.4, 0.10), (0.8, 0.30), (1.2, 0.20)]),  # interior: T_eff 0.4
        _designed(
            cells[0],
            2.0,
            [(0.4, 0.25), (0.8, 0.05), (1.2, 0.01)],  # optimum at the grid's low end: flagged
            round2=[(0.4, 0.40), (0.8, 0.45)],  # another round is another row
        ),
    ]
    optima = {(o["t_train"], o["round"]): o for o in row_optima(
        [row for cell in designed for row in cell_rows(cell)]
    )}  # fmt: skip
    assert len(optima) == 3
    assert optima[(0.5, 1)]["t_eval"] == 0.8 and not optima[(0.5, 1)]["at_edge"]
    assert optima[(0.5, 1)]["t_eff"] == pytest.approx(0.4)
    assert optima[(2.0, 1)]["t_eval"] == 0.4 and optima[(2.0, 1)]["at_edge"]
    assert optima[(2.0, 2)]["t_eval"] == 0.8 and optima[(2.0, 2)]["at_edge"]


@pytest.mark.slow
def test_each_truncation_setting_gets_its_own_fit_instead_of_one_pooled_curve(cells):
    """Two exact parabolas peaking at different T_eff: pooled they fit badly, apart each fits
    exactly, which is the paper's point that training top-k moves the optimum."""
    t_evals = [0.4, 0.6, 0.8, 1.0, 1.2]
    plain = _designed(cells[0], 1.0, [(t, 0.5 - (t - 0.8) ** 2) for t in t_evals])
    top_10 = _designed(cells[0], 1.0, [(t, 0.6 - 2 * (t - 1.1) ** 2) for t in t_evals], top_k=10)
    rows = cell_rows(plain) + cell_rows(top_10)
    common = ("toy", "toy", cells[0].config["filter"]["name"])
    config = cells[0].config
    recipe = (
        config["sampling"]["top_p"],
        config["data"]["limit"],
        config["finetune"]["max_steps"],
        config["finetune"]["lr"],
    )
    assert list(by_setting(rows)) == [(*common, 0, *recipe, 1), (*common, 10, *recipe, 1)]
    assert list(setting_labels(rows).values()) == ["top-k off", "top-k 10"]
    fit_plain, fit_top_10 = teff_fits(rows)
    assert (fit_plain["top_k"], fit_top_10["top_k"]) == (0, 10)
    assert fit_plain["fit"]["r2"] == pytest.approx(1.0)
    assert fit_top_10["fit"]["r2"] == pytest.approx(1.0)
    assert fit_plain["fit"]["peak_t_eff"] == pytest.approx(0.8)
    assert fit_top_10["fit"]["peak_t_eff"] == pytest.approx(1.1)
    pooled = quadratic_fit([r["t_eff"] for r in rows], [r["pass@1"] for r in rows])
    assert pooled["r2"] < 0.9


@pytest.mark.slow
def test_headline_is_per_model_and_chooses_on_the_selection_problems(cells):
    # The validation split prefers T_eval 0.9 although test pass@1 is higher at 0.6.
    toy = _designed(cells[0], 1.0, [(0.6, 0.40, 0.1), (0.9, 0.30, 0.5)], selection="validation")
    other = _designed(cells[0], 1.0, [(0.6, 0.10)], model="other")
    first, second = headline(cell_rows(toy) + cell_rows(other))
    assert first["model"] == "other" and second["model"] == "toy"
    assert second["ssd_best_at"]["t_eval"] == 0.9 and second["ssd_best_pass@1"] == 0.30
    assert "validation split" in second["selection"] and "no held-out" in first["selection"]


@pytest.mark.slow
def test_optima_choose_on_the_selection_problems(cells):
    (best,) = row_optima(cell_rows(_designed(cells[0], 1.0, [(0.5, 0.30, 0.1), (0.8, 0.20, 0.4)])))
    assert best["t_eval"] == 0.8 and best["pass@1"] == 0.20


@pytest.mark.slow
def test_a_results_json_that_is_not_a_run_of_this_version_is_refused_by_name(
    pipeline_outputs, tmp_path
):
    results = json.loads((pipeline_outputs.sweep / "0" / "results.json").read_text())
    results["summary"]["best_t_eval"] = 0.7  # a key no writer of this version knows
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "results.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match=r"7/results.json: .*unknown keys \['best_t_eval'\]"):
        collect(tmp_path)


def test_optima_lines_name_the_recipe_settings_a_sweep_varies():
    """Two cells that differ only in lr would read as the same setting twice without it."""
    from ssd.report.sweep_text import format_optima

    common = {"model": "tinycode", "filter": "empty", "round": 1, "top_k": 0, "top_p": 0.8}
    common |= {"t_train": 1.0, "t_eval": 0.8, "t_eff": 0.8, "pass@1": 0.6, "at_edge": False}
    common |= {"pool": 1024, "sft_steps": 60}
    lines = format_optima([{**common, "lr": 5e-4}, {**common, "lr": 1.5e-3}]).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [
        "T_train 1, top-k off, top-p 0.8, lr 0.0005",
        "T_train 1, top-k off, top-p 0.8, lr 0.0015",
    ]
