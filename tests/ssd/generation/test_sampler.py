"""From prompts to completion rows through the hf backend, on the session's tiny model.

The distributions themselves are tested in tests/ssd/stages/test_sample.py; here: what a row
holds, that seeds make rows reproducible, n_per_prompt rows per prompt, and the repetition-loop
flag, whose boundary is hit exactly with greedy decoding (the tiny model repeats its prompt
token forever, so a completion of N tokens holds N - 15 copies of one 16-gram).
"""

from __future__ import annotations

import pytest
import torch

from ssd.config.choices import Dtype
from ssd.config.schema import ModelConfig, PromptConfig, SamplingConfig
from ssd.data import toy_prompts
from ssd.generation.backends.hf import HFBackend
from ssd.generation.decoding import Decoder
from ssd.generation.sampler import (
    LOOP_MIN_REPEATS,
    LOOP_NGRAM,
    Generation,
    generate_rows,
    make_sampler,
    repetition_loop,
)
from ssd.models import load_tokenizer

pytestmark = pytest.mark.usefixtures("one_thread")

GENERATION = Generation(ModelConfig(), PromptConfig(), batch_size=4)
PROMPTS = toy_prompts(2, 1)  # "P0" (instance 0) and "P1" (instance 1)
SAMPLE = Decoder(1.0)
FIELDS = {
    "id", "prompt_id", "sample_index", "instance", "prompt", "prompt_ids", "completion",
    "completion_ids", "finish_reason", "n_completion_tokens", "length_capped",
    "repetition_loop", "seed",
}  # fmt: skip


@pytest.fixture(scope="module")
def sampler(tiny_model_dir):
    return make_sampler(GENERATION, tiny_model_dir)


def rows(sampler, decoder=SAMPLE, n=3, max_new_tokens=12, seed=5):
    backend, tokenizer = sampler
    return generate_rows(backend, tokenizer, PROMPTS, GENERATION, decoder, n, max_new_tokens, seed)


def test_make_sampler_returns_a_working_hf_backend_and_its_tokenizer(sampler, tiny_model_dir):
    backend, tokenizer = sampler
    assert isinstance(backend, HFBackend) and backend.batch_size == 4
    assert tokenizer.get_vocab() == load_tokenizer(tiny_model_dir).get_vocab()
    assert backend.model.dtype == torch.float32 and backend.stop_ids == [tokenizer.eos_token_id]
    half = Generation(ModelConfig(dtype=Dtype.bfloat16), PromptConfig(), batch_size=2)
    assert make_sampler(half, tiny_model_dir)[0].model.dtype == torch.bfloat16
    nope = Generation(ModelConfig(), PromptConfig(), sampling=SamplingConfig(backend="nope"))
    with pytest.raises(ValueError, match="sampling.backend='nope'"):
        make_sampler(nope, tiny_model_dir)


def test_row_fields(sampler):
    _, tokenizer = sampler
    out = rows(sampler)
    assert len(out) == 2 * 3
    by_prompt = {p.id: [r for r in out if r["prompt_id"] == p.id] for p in PROMPTS}
    for prompt in PROMPTS:
        mine = by_prompt[prompt.id]
        assert [r["sample_index"] for r in mine] == [0, 1, 2]
        assert [r["id"] for r in mine] == [f"{prompt.id}#{i}" for i in range(3)]
    eos = tokenizer.eos_token_id
    for row in out:
        assert set(row) == FIELDS
        prompt = next(p for p in PROMPTS if p.id == row["prompt_id"])
        assert row["instance"] == prompt.instance and row["seed"] == 5
        assert row["prompt"] == prompt.question  # raw format, plain template: the text as is
        assert row["prompt_ids"] == tokenizer(prompt.question)["input_ids"]
        ids = row["completion_ids"]
        assert row["n_completion_tokens"] == len(ids) and 1 <= len(ids) <= 12
        if row["finish_reason"] == "stop":  # ended by EOS, which the text leaves out
            assert ids[-1] == eos and eos not in ids[:-1] and not row["length_capped"]
            assert row["completion"] == tokenizer.decode(ids[:-1], skip_special_tokens=False)
        else:
            assert row["finish_reason"] == "length" and len(ids) == 12 and row["length_capped"]
            assert eos not in ids
            assert row["completion"] == tokenizer.decode(ids, skip_special_tokens=False)
    assert {r["finish_reason"] for r in out} == {"stop", "length"}  # both kinds were seen


def test_seeds_make_rows_reproducible(sampler):
    first = rows(sampler, seed=5)
    assert rows(sampler, seed=5) == first
    other = rows(sampler, seed=6)
    assert [r["completion_ids"] for r in other] != [r["completion_ids"] for r in first]
    assert all(r["seed"] == 6 for r in other)


def test_n_per_prompt(sampler):
    out = rows(sampler, n=5, max_new_tokens=2)
    assert [(r["prompt_id"], r["sample_index"]) for r in out] == [
        (p.id, i) for p in PROMPTS for i in range(5)
    ]


def test_repetition_loop_flag_on_greedy_rows(sampler):
    threshold = LOOP_NGRAM + LOOP_MIN_REPEATS - 1  # 20 tokens: the 16-gram's 5th occurrence
    for length, looped in ((threshold - 1, False), (threshold, True)):
        for row in rows(sampler, Decoder(0.0), n=1, max_new_tokens=length):
            assert len(set(row["completion_ids"])) == 1  # greedy repeats one token
            assert len(row["completion_ids"]) == length
            assert row["repetition_loop"] is looped, (length, row["completion"])


def test_repetition_loop_by_hand():
    line = list(range(16))
    assert repetition_loop(line * 5)  # five copies of a 16-token line
    assert not repetition_loop(line * 4 + line[:15])
    assert repetition_loop([7] * 20) and not repetition_loop([7] * 19)  # overlapping copies
    assert not repetition_loop(list(range(200)))  # long but never repeating
    assert repetition_loop([1, 2] * 3, ngram=2, min_repeats=3)
    assert not repetition_loop([], ngram=2)
