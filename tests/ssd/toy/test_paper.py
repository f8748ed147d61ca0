"""Tests of `ssd.toy.paper`: the fork/lock toy against a float64 numpy re-derivation written here.

The reference below shares no code path with the module (no `ssd.generation.decoding`, no torch): it rebuilds
the teacher from paper-notes §7, applies temperature then top-p by hand, and multiplies out P(pass).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ssd.cli.main import main
from ssd.toy import paper as toy_paper

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
                 "--robust-top-ps", "--t-train", "--train-top-p", "--sgd", "--sgd-steps",
                 "--sgd-seed"):  # fmt: skip
        assert flag in help_text
    assert main(["toy", "paper", "--eval-top-p", "1.5"]) == 2
    assert "eval_top_p" in capsys.readouterr().err
    argv = ["toy", "paper", "--sgd", "0", "--grid-step", "0.5", "--out", "/nonexistent/x"]
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "--sgd needs N >= 1" in line


# -- `--sgd N`: students trained by SGD on sampled SSD trajectories ------------------------------


def test_trajectory_counts_follow_the_student_and_match_the_multinomial_law():
    from ssd.toy import paper_sgd as sgd

    probs = sgd.ssd_sampling_probs(toy_paper.ToyConfig())
    np.testing.assert_allclose(probs, np.stack([STUDENT[s] for s in toy_paper.STATES]), atol=1e-6)
    trajectories = sgd.sample_trajectories(probs, 40_000, seed=0)
    assert all(1 <= len(t) <= 5 for t in trajectories)
    assert all(t[0] in (0, 1) for t in trajectories if len(t) > 1)  # only path entries continue
    counts = sgd.state_counts(trajectories)
    entry = probs[0, 0] + probs[0, 1]
    assert counts[1].sum() == pytest.approx(40_000 * entry, rel=0.03)
    np.testing.assert_allclose(counts / counts.sum(-1, keepdims=True), probs, atol=0.015)
    # The tabular MLE of 100k trajectories ranks the fork right and peaks where the exact one does.
    config = toy_paper.ToyConfig(t_step=0.05)
    curve = toy_paper.pass_probability(
        toy_paper.decode_grid(
            lambda t: toy_paper.Decoder(t, 0, 0.8),
            config.temperatures(),
            sgd.tabular_mle_logits(sgd.sample_trajectories(probs, 100_000, seed=1)),
        )
    )
    exact = ref_curve(STUDENT, config.temperatures(), 0.8)
    assert curve.max() == pytest.approx(exact.max(), abs=0.005)
    # Its spread over seeds, drawn as multinomials, shrinks toward the exact student with N.
    small = sgd.mle_seed_spread(config, probs, 256, exact.max(), seed=0)
    large = sgd.mle_seed_spread(config, probs, 32_768, exact.max(), seed=0)
    assert small["share_zero"] > 0.05 > large["share_zero"]
    assert large["share_within_10pct_of_exact"] > 0.95 > small["share_within_10pct_of_exact"]


def test_path_pass_curve_equals_the_closed_form_for_a_tabular_model():
    from ssd.toy import paper_sgd as sgd

    config = toy_paper.ToyConfig(t_step=0.1)
    student = toy_paper.ssd_student_logits(toy_paper.teacher_logits(), 0.9, 0.85)
    rows = torch.stack([student[toy_paper.STATES.index(state)] for state, _ in sgd.CONTEXTS])
    decoder = lambda t: toy_paper.Decoder(t, 0, 0.8)  # noqa: E731
    per_path = sgd.path_pass_curve(toy_paper.decode_grid(decoder, config.temperatures(), rows))
    closed = toy_paper.pass_probability(
        toy_paper.decode_grid(decoder, config.temperatures(), student)
    )
    np.testing.assert_allclose(per_path, closed, atol=1e-7)


def test_cli_sgd_students_approach_the_exact_student(tmp_path, capsys):
    argv = ["toy", "paper", "--json", "--out", str(tmp_path), "--grid-step", "0.05",
            "--sgd", "1024", "--sgd-steps", "100", "--sgd-seed", "1"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    sgd = summary["sgd"]
    exact = sgd["exact_student"]
    assert exact["best_pass"] == pytest.approx(
        ref_curve(STUDENT, np.arange(1, 61) * 0.05, 0.8).max()
    )
    rows = sgd["rows"]
    assert [r["n_trajectories"] for r in rows] == [128, 256, 512, 1024]
    assert all(r["visits"]["root"] == r["n_trajectories"] for r in rows)
    first, last = rows[0]["sgd"], rows[-1]["sgd"]
    assert last["steps"] == 100 and last["max_special_token_mass"] < 0.01
    # Measured (seeds 0-2 all agree): more trajectories bring root and fork closer to the exact
    # student, and the largest student's best P(pass) is within 0.03 of the exact 0.137 ...
    for state in ("root", "fork"):
        assert last["states"][state]["tv_to_exact"] < first["states"][state]["tv_to_exact"]
    assert abs(last["best_pass"] - exact["best_pass"]) < 0.03
    # ... but it peaks at a lower T: the SGD student keeps mass on lock tokens SSD never samples
    # (the exact student has none), and a high T amplifies that tail.
    assert last["best_T"] < exact["best_T"] and last["states"]["lock"]["mass_off_support"] > 0.01
    spread = [r["tabular_mle"]["over_seeds"]["share_within_10pct_of_exact"] for r in rows]
    assert spread[-1] > spread[0]
    assert (tmp_path / "sgd_pass_vs_T.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_temperature_grid_never_passes_t_max():
    from ssd.toy.paper import ToyConfig

    for step in (0.01, 0.1, 0.2, 0.3, 0.05):
        grid = ToyConfig(t_step=step).temperatures()
        assert grid[0] == 0.05 and grid[-1] <= 3.0 and 3.0 - grid[-1] < step, (step, grid[-1])
    assert ToyConfig(t_step=0.01).temperatures()[-1] == 3.0
