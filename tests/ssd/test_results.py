"""The typed results read and write exactly the results.json keys, for real files and old ones."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ssd.results import (
    CheckpointScore,
    EvalResult,
    EvalRow,
    Replicate,
    RunSummary,
    ordered_labels,
    ssd_labels,
)

TOY_ROW_KEYS = {
    "t_eval",
    "pass@1",
    "pass@1_ci95",
    "pass@1_per_problem",
    "n_correct_per_problem",
    "sampled",
}


def _row(**changes) -> EvalRow:
    row = EvalRow(0.7, 0.5, (0.25, 0.75), [1.0, 0.0], [4, 0], {"pass@1": 0.5, "pass@2": 0.5})
    return replace(row, **changes)


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_a_toy_row_writes_the_toy_keys_and_a_code_row_adds_its_own():
    assert set(_row().to_json()) == TOY_ROW_KEYS
    by_difficulty = {"easy": {"n_problems": 1, "pass@k": {"pass@1": 1.0}, "pass@k_ci95": {}}}
    code = _row(by_difficulty=by_difficulty, fractions={"passed": 0.5}, pass_at_1_select=0.4)
    data = code.to_json()
    assert set(data) == TOY_ROW_KEYS | {"by_difficulty", "fractions", "pass@1_select"}
    assert data["pass@1_ci95"] == [0.25, 0.75] and data["pass@1_select"] == 0.4
    assert EvalRow.from_json(json.loads(json.dumps(data))) == code
    assert code.pass_at_1_by_difficulty() == {"easy": 1.0} and code.select_score == 0.4
    assert _row().select_score == 0.5  # before selection ran: pass@1 itself


def test_a_stray_or_missing_key_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"unknown keys \['pass@1_ci_95'\]"):
        EvalRow.from_json({**_row().to_json(), "pass@1_ci_95": [0, 1]})
    data = _row().to_json()
    del data["sampled"]
    with pytest.raises(ValueError, match=r"missing keys \['sampled'\]"):
        EvalRow.from_json(data)


def test_an_evaluation_keeps_its_checkpoint_choice_and_drops_the_old_toy_diagnostics():
    table = [CheckpointScore(10, 0.7, 0.4, 0.5), CheckpointScore(20, 1.0, 0.6, 0.3)]
    result = EvalResult("ssd", {"decoder": "plain"}, [_row()], None, 20, table)
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) == {"label", "decoder", "rows", "checkpoint_step", "checkpoints"}
    assert data["checkpoints"][1] == {
        "step": 20,
        "t_eval": 1.0,
        "pass@1_select": 0.6,
        "pass@1": 0.3,
    }
    assert EvalResult.from_json(data) == result
    # What the toy evaluator wrote before the analyze stage became the diagnostics' only source.
    old = {**data, "lock_distractor_mass": 0.19, "fork_entropy_bits": 2.5}
    assert EvalResult.from_json(old) == result


def test_labels_come_in_round_order():
    labels = ["ssd_round10", "ssd", "base", "ssd_round2", "ssd_as_decoder"]
    assert ordered_labels(labels) == ["base", "ssd_as_decoder", "ssd", "ssd_round2", "ssd_round10"]
    assert ssd_labels(labels) == ["ssd", "ssd_round2", "ssd_round10"]


def _json_files(root: Path, pattern: str) -> list[Path]:
    return [p for p in sorted(root.glob(pattern)) if "wandb" not in p.parts]


@pytest.mark.slow
def test_every_evaluation_the_pipeline_wrote_round_trips_exactly(pipeline_outputs):
    files = _json_files(pipeline_outputs.cache, "evaluate/*/results.json")
    assert len(files) >= 6
    for path in files:
        data = _read(path)
        assert EvalResult.from_json(data).to_json() == data, path
        old = {**data, "lock_distractor_mass": 0.1, "fork_entropy_bits": 2.0}
        assert EvalResult.from_json(old) == EvalResult.from_json(data)


@pytest.mark.slow
def test_every_run_report_round_trips_exactly(pipeline_outputs):
    """The run dirs, the sweep's cells and the cached run records: summary and replicates."""
    files = [
        *_json_files(pipeline_outputs.run, "results.json"),
        *_json_files(pipeline_outputs.sweep, "*/results.json"),
        *_json_files(pipeline_outputs.cache, "run/*/results.json"),
    ]
    assert len(files) == 1 + 4 + 5
    for path in files:
        data = _read(path)
        assert RunSummary.from_json(data["summary"]).to_json() == data["summary"], path
        for replicate in data["replicates"]:
            typed = Replicate.from_json(replicate)
            assert typed.to_json() == replicate, path
            assert set(typed.fork_lock) == {"ssd"}  # the toy runs the analyze stage by default


@pytest.mark.slow
def test_an_older_summary_without_labels_or_rounds_still_reads(pipeline_outputs):
    summary = _read(pipeline_outputs.run / "results.json")["summary"]
    older = {k: v for k, v in summary.items() if k not in ("labels", "rounds")}
    for curve in older["curves"].values():
        for point in curve:
            del point["pass@1_by_difficulty"], point["pass@1_select"]
    typed = RunSummary.from_json(older)
    assert typed.labels == ["base", "ssd_as_decoder", "ssd"] and typed.rounds == []
    point = typed.curves["ssd"][0]
    assert point.pass_at_1_select == point.pass_at_1 and point.pass_at_1_by_difficulty == {}
