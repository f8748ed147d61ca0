"""Tests of `ssd.toy_paper`: the fork/lock toy against a float64 numpy re-derivation written here.

The reference below shares no code path with the module (no `ssd.decoding`, no torch): it rebuilds
the teacher from paper-notes §7, applies temperature then top-p by hand, and multiplies out P(pass).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ssd import toy_paper
from ssd.cli import main

HEADS = {  # paper-notes §7: head probabilities of tokens 0..3 and the tail ratio
    "root": ([0.200, 0.190, 0.329, 0.126], 0.5),
    "fork": ([0.148, 0.280, 0.140, 0.144], 0.5),
    "lock": ([0.750, 0.055, 0.050, 0.037], 0.75),
}


def ref_state(name: str) -> np.ndarray:
    head, ratio = HEADS[name]
    rest = 1.0 - sum(head)
    # Geometric series c, c*r, ..., c*r^11 summing to `rest`: c = rest * (1 - r) / (1 - r^12).
    first = rest * (1 - ratio) / (1 - ratio**12)
    return np.array(head + [first * ratio**i for i in range(12)])


def ref_decode(probs: np.ndarray, temperature: float, top_p: float) -> np.ndarray:
    """p^(1/T) renormalized, then the smallest most-likely-first prefix whose mass reaches top_p."""
    with np.errstate(divide="ignore"):
        tempered = np.where(probs > 0, probs ** (1.0 / temperature), 0.0)
    tempered /= tempered.sum()
    kept = np.zeros_like(tempered)
    mass = 0.0
    for token in np.argsort(-tempered, kind="stable"):
        if mass >= top_p or tempered[token] == 0:
            break
        kept[token] = tempered[token]
        mass += tempered[token]
    return kept / kept.sum()


def ref_pass(root: np.ndarray, fork: np.ndarray, lock: np.ndarray) -> float:
    return (root[0] + root[1]) * fork[0] * lock[0] ** 3


TEACHER = {name: ref_state(name) for name in HEADS}
STUDENT = {name: ref_decode(p, 0.9, 0.85) for name, p in TEACHER.items()}


def ref_curve(model: dict, temps: np.ndarray, top_p: float) -> np.ndarray:
    return np.array(
        [
            ref_pass(*(ref_decode(model[s], t, top_p) for s in ("root", "fork", "lock")))
            for t in temps
        ]
    )


@pytest.fixture(scope="module")
def toy():
    config = toy_paper.ToyConfig()
    summary, sweeps = toy_paper.run_toy(config)
    return config, summary, sweeps


def test_teacher_matches_paper_notes_and_entropies():
    logits = toy_paper.teacher_logits()
    for row, name in enumerate(toy_paper.STATES):
        np.testing.assert_allclose(logits[row].exp().numpy(), TEACHER[name], rtol=1e-12)
        assert TEACHER[name].sum() == pytest.approx(1.0)
    bits = {name: -(p * np.log2(p)).sum() for name, p in TEACHER.items()}
    assert round(bits["fork"], 2) == 2.81  # the paper's fork entropy
    assert round(bits["lock"], 2) == 1.61  # the paper's lock entropy
    assert toy_paper.entropy_bits(TEACHER["fork"]) == pytest.approx(bits["fork"])


def test_student_support_after_ssd(toy):
    _, summary, _ = toy
    expected = {"root": {0, 1, 2, 3}, "fork": {0, 1, 2, 3, 4}, "lock": {0, 1}}
    for name, tokens in expected.items():
        assert set(np.flatnonzero(STUDENT[name])) == tokens  # the reference agrees with itself...
        support = summary["states"][name]["student_support"]
        assert {t["token"] for t in support} == tokens  # ...and with the module
        for entry in support:
            assert entry["prob"] == pytest.approx(STUDENT[name][entry["token"]], abs=1e-6)
        kept_mass = TEACHER[name][sorted(tokens)].sum()
        assert summary["states"][name]["kept_mass"] == pytest.approx(kept_mass, abs=1e-6)


@pytest.mark.parametrize("temperature", [0.3, 0.5, 0.63, 1.0, 1.5, 2.09, 2.5])
def test_pass_probability_by_hand(toy, temperature):
    config, _, sweeps = toy
    index = int(np.argmin(np.abs(config.temperatures() - temperature)))
    for name, model in (("teacher", TEACHER), ("student", STUDENT)):
        by_hand = ref_pass(*(ref_decode(model[s], temperature, 0.80) for s in toy_paper.STATES))
        assert sweeps[0.80][name].pass_curve[index] == pytest.approx(by_hand, abs=1e-6)


def test_best_pass_and_T_match_reference_sweep(toy):
    config, summary, _ = toy
    temps = config.temperatures()
    assert temps[0] == 0.05 and temps[-1] == 3.0 and len(temps) == 296
    for row in summary["robustness"]:
        for name, model in (("teacher", TEACHER), ("student", STUDENT)):
            curve = ref_curve(model, temps, row["eval_top_p"])
            assert row[name]["best_pass"] == pytest.approx(curve.max(), abs=1e-6)
            assert row[name]["best_T"] == pytest.approx(temps[np.argmax(curve)])
    # Pinned headline numbers (eval top-p 0.80), so that a change shows in review.
    assert summary["teacher"]["best_pass"] == pytest.approx(0.0822, abs=1e-4)
    assert summary["teacher"]["best_T"] == pytest.approx(0.63)
    assert summary["student"]["best_pass"] == pytest.approx(0.1377, abs=1e-4)
    assert summary["student"]["best_T"] == pytest.approx(2.09)


def test_student_beats_teacher_at_every_eval_top_p(toy):
    _, summary, _ = toy
    assert [row["eval_top_p"] for row in summary["robustness"]] == pytest.approx(
        [0.65, 0.70, 0.75, 0.80, 0.85, 0.90]
    )
    for row in summary["robustness"]:
        assert row["student"]["best_pass"] > row["teacher"]["best_pass"]


def test_fork_nucleus_at_best_T(toy):
    _, summary, _ = toy
    for name, model in (("teacher", TEACHER), ("student", STUDENT)):
        entry = summary[name]
        expected = ref_decode(model["fork"], entry["best_T"], 0.80)
        got = {t["token"]: t["prob"] for t in entry["fork_nucleus"]}
        assert set(got) == set(np.flatnonzero(expected))
        for token, prob in got.items():
            assert prob == pytest.approx(expected[token], abs=1e-6)
    assert {t["token"] for t in summary["teacher"]["fork_nucleus"]} == {0, 1, 3, 4}


def test_student_coincides_with_ssd_as_decoder(toy):
    _, summary, sweeps = toy
    assert summary["student_vs_ssd_as_decoder"]["coincide"]
    for per_model in sweeps.values():
        np.testing.assert_allclose(
            per_model["student"].probs, per_model["ssd_as_decoder"].probs, atol=1e-5
        )
    for row in summary["robustness"]:
        assert row["student"]["best_T"] == row["ssd_as_decoder"]["best_T"]


def test_cli_json_and_png(tmp_path, capsys):
    assert main(["toy", "paper", "--json", "--out", str(tmp_path), "--grid-step", "0.05"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for model in ("teacher", "student"):
        assert {"best_pass", "best_T", "fork_nucleus", "factors"} <= set(summary[model])
    assert {"states", "robustness", "student_vs_ssd_as_decoder", "config", "files"} <= set(summary)
    png = tmp_path / "pass_vs_T.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "summary.json").read_text())["student"] == summary["student"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pass_vs_T.png", "summary.json"]


def test_cli_help_and_bad_values(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["toy", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for flag in ("--json", "--out", "--grid-step", "--t-min", "--t-max", "--eval-top-p",
                 "--robust-top-ps", "--t-train", "--train-top-p"):  # fmt: skip
        assert flag in help_text
    with pytest.raises(SystemExit, match="eval_top_p"):
        main(["toy", "paper", "--eval-top-p", "1.5"])
