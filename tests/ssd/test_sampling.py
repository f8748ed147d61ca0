"""The hf backend samples exactly `ssd.decoding` and is independent of batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chi2

from ssd.backends import GenerationRequest
from ssd.backends.hf import HFBackend
from ssd.decoding import Decoder
from ssd.models import load_model


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(tiny_model_dir)


def first_token_probs(model, tokenizer, prompt_ids, decoder):
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt_ids])).logits[0, -1]
    return decoder.probs(logits).numpy()


@pytest.mark.parametrize(
    "decoder",
    [
        Decoder(1.0),
        Decoder(0.7, top_k=5),
        Decoder(1.5, top_p=0.8),
        Decoder(1.2, top_k=8, top_p=0.9),
        Decoder(0.9, train_temperature=1.3, train_top_p=0.85),  # the SSD-as-decoder baseline
    ],
    ids=lambda d: f"{d.name}-T{d.temperature}-k{d.top_k}-p{d.top_p}",
)
def test_first_token_distribution_matches_transform(loaded, decoder):
    model, tokenizer = loaded
    prompt = tokenizer("P1 t3", add_special_tokens=False)["input_ids"]
    expected = first_token_probs(model, tokenizer, prompt, decoder)
    backend = HFBackend(model, tokenizer, batch_size=1000)
    n = 3000
    requests = [GenerationRequest(f"p{i}", prompt) for i in range(n)]
    firsts = [c.completion_ids[0] for c in backend.generate(requests, decoder, 1, 1, seed=11)]
    counts = np.bincount(firsts, minlength=len(expected))
    assert counts[expected == 0].sum() == 0, "a token outside the truncated support was sampled"
    support = expected > 0
    assert support.sum() >= 2, "the setting must leave a real choice to test"
    stat = ((counts[support] - n * expected[support]) ** 2 / (n * expected[support])).sum()
    assert stat < chi2.ppf(0.999, df=support.sum() - 1), (
        stat,
        counts[support],
        n * expected[support],
    )


def test_samples_do_not_depend_on_batch_size_or_order(loaded):
    model, tokenizer = loaded
    prompts = ["P0", "P1 t2 t3", "P2 t5", "P3 t1 t1 t1 t1"]
    requests = [
        GenerationRequest(f"q{i}", tokenizer(p, add_special_tokens=False)["input_ids"])
        for i, p in enumerate(prompts)
    ]
    decoder = Decoder(1.3, top_p=0.95)
    one = HFBackend(model, tokenizer, batch_size=1).generate(requests, decoder, 3, 8, seed=5)
    many = HFBackend(model, tokenizer, batch_size=64).generate(
        requests[::-1], decoder, 3, 8, seed=5
    )
    key = lambda c: (c.prompt_id, c.sample_index)  # noqa: E731
    assert sorted(one, key=key) == sorted(many, key=key)
    other_seed = HFBackend(model, tokenizer, batch_size=64).generate(
        requests, decoder, 3, 8, seed=6
    )
    assert sorted(other_seed, key=key) != sorted(one, key=key)


def test_stop_and_length_finish_reasons(loaded):
    model, tokenizer = loaded
    requests = [
        GenerationRequest(f"r{i}", tokenizer("P0", add_special_tokens=False)["input_ids"])
        for i in range(64)
    ]
    out = HFBackend(model, tokenizer, batch_size=64).generate(requests, Decoder(3.0), 1, 6, seed=0)
    for c in out:
        if c.finish_reason == "stop":
            assert (
                c.completion_ids[-1] == tokenizer.eos_token_id
                and tokenizer.eos_token_id not in c.completion_ids[:-1]
            )
        else:
            assert len(c.completion_ids) == 6 and tokenizer.eos_token_id not in c.completion_ids
