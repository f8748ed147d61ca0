"""The toy language: its grader, its valid-sequence set and its reference distribution."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from ssd.config.schema import ToyTaskConfig
from ssd.toy.task import ToyTask


@pytest.fixture(scope="module")
def task() -> ToyTask:
    return ToyTask(OmegaConf.structured(ToyTaskConfig))


def test_every_listed_sequence_passes_and_their_count_is_the_product_of_fork_widths(task):
    for instance, seq in task.valid_sequences:
        assert task.passes(instance, list(seq))
    for instance in range(task.cfg.n_instances):
        widths = [
            task.state(instance, f * (1 + task.cfg.locks_per_fork), 0).valid
            for f in range(task.cfg.n_forks)
        ]
        count = sum(1 for i, _ in task.valid_sequences if i == instance)
        assert count == np.prod([len(w) for w in widths])


def test_one_wrong_token_or_a_wrong_length_fails(task):
    instance, seq = task.valid_sequences[0]
    for position in range(len(seq)):
        broken = list(seq)
        state = list(task.walk(instance, broken))[position][1]
        broken[position] = next(o for o in range(task.n_outcomes) if o not in state.valid)
        assert not task.passes(instance, broken)
    assert not task.passes(instance, list(seq)[:-1])
    assert not task.passes(instance, list(seq) + [task.eos_outcome])


def test_reference_distributions_have_the_configured_shape(task):
    kinds = {st.kind for st in task.states.values()}
    assert {"fork", "trap_fork", "lock", "hard_lock", "end"} <= kinds
    for st in task.states.values():
        assert st.probs.sum() == pytest.approx(1.0)
        if st.kind == "trap_fork":
            wrong = np.delete(st.probs, list(st.valid))
            assert wrong.max() > st.probs[list(st.valid)].max()  # the single likeliest token fails
        if st.kind == "lock":
            assert st.probs[st.valid[0]] == pytest.approx(task.cfg.lock_valid_mass)


def test_reference_pass_rate_matches_the_product_of_valid_masses(task):
    draws = task.sample_reference(4000, seed=3)
    observed = np.mean([task.passes(i, seq) for i, seq in draws])
    expected = 0.0
    for instance, seq in task.valid_sequences:
        expected += (
            np.prod([st.probs[o] for _, st, o in task.walk(instance, list(seq))])
            / task.cfg.n_instances
        )
    sigma = np.sqrt(expected * (1 - expected) / len(draws))
    assert abs(observed - expected) < 4 * sigma


def test_text_round_trip(task):
    instance, seq = task.valid_sequences[-1]
    text = task.outcome_text(list(seq))
    assert task.text_outcomes(text, ended_with_eos=False) == list(seq)
