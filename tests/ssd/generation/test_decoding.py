"""ssd.generation.decoding against a direct, loop-based formula of the operator in paper-notes §1."""

from __future__ import annotations

import math

import pytest
import torch

from ssd.generation.decoding import Decoder, transform


def direct(logits: list[float], temperature: float, top_k: int, top_p: float) -> list[float]:
    """The operator written out token by token: temper, top-k, nucleus, renormalise."""
    if temperature < 1e-5:
        best = max(range(len(logits)), key=lambda i: logits[i])
        return [1.0 if i == best else 0.0 for i in range(len(logits))]
    scaled = [x / temperature for x in logits]
    order = sorted(range(len(scaled)), key=lambda i: -scaled[i])
    kept = order[:top_k] if top_k > 0 else order
    z = sum(math.exp(scaled[i]) for i in kept)
    nucleus, mass = [], 0.0
    for i in kept:
        if mass >= top_p:
            break
        nucleus.append(i)
        mass += math.exp(scaled[i]) / z
    zn = sum(math.exp(scaled[i]) for i in nucleus)
    return [math.exp(scaled[i]) / zn if i in nucleus else 0.0 for i in range(len(scaled))]


SETTINGS = [
    (1.0, 0, 1.0),
    (0.7, 0, 0.8),
    (1.6, 20, 0.8),
    (1.1, 3, 0.95),
    (0.5, 1, 1.0),
    (2.0, 0, 0.3),
    (0.0, 0, 1.0),
]


@pytest.mark.parametrize("temperature,top_k,top_p", SETTINGS)
def test_transform_matches_direct_formula(temperature, top_k, top_p):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 32, generator=generator) * 3
    got = transform(logits, temperature, top_k, top_p)
    for row in range(4):
        want = direct(logits[row].tolist(), temperature, top_k, top_p)
        assert got[row].tolist() == pytest.approx(want, abs=1e-6)
    assert torch.allclose(got.sum(-1), torch.ones(4))


def test_top_p_keeps_at_least_one_token_and_the_smallest_prefix():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    assert (transform(logits, 1.0, 0, 1e-9) > 0).tolist() == [True, False, False, False]
    assert (transform(logits, 1.0, 0, 0.8) > 0).tolist() == [True, True, False, False]
    assert (transform(logits, 1.0, 0, 0.81) > 0).tolist() == [True, True, True, False]


def test_top_k_acts_on_tempered_logits_before_top_p():
    logits = torch.log(torch.tensor([0.4, 0.3, 0.2, 0.1]))
    probs = transform(
        logits, 1.0, 2, 0.5
    )  # top-2 renormalised: 0.571, 0.429 -> nucleus 0.5 keeps 1
    assert probs.tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0])


def test_ssd_as_decoder_is_the_tempered_base_on_the_training_support():
    logits = torch.log(torch.tensor([0.45, 0.25, 0.15, 0.1, 0.05]))
    rule = Decoder(
        temperature=0.8, top_k=0, top_p=1.0, train_temperature=1.2, train_top_k=0, train_top_p=0.8
    )
    support = transform(logits, 1.2, 0, 0.8) > 0
    assert support.tolist() == [True, True, True, False, False]
    p = torch.tensor([0.45, 0.25, 0.15]) ** (1 / (1.2 * 0.8))
    want = torch.cat([p / p.sum(), torch.zeros(2)])
    assert torch.allclose(rule.probs(logits), want, atol=1e-6)


def test_ssd_as_decoder_applies_eval_truncation_last():
    logits = torch.log(torch.tensor([0.45, 0.25, 0.15, 0.1, 0.05]))
    rule = Decoder(1.0, top_k=2, top_p=1.0, train_temperature=1.0, train_top_p=0.9)
    assert (rule.probs(logits) > 0).tolist() == [True, True, False, False, False]
