"""The hf backend samples exactly `ssd.generation.decoding`; the sample stage is seeded, shardable, resumable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.sampling_stats import chi_square_fits
from helpers.support import ASSETS
from omegaconf import OmegaConf
from scipy.stats import chi2

import ssd.stages.sample as sample_module
from ssd.artifacts import ModelRef
from ssd.artifacts import read_jsonl as read_samples
from ssd.cache import Cache
from ssd.data import load_prompts
from ssd.generation.backends import GenerationRequest
from ssd.generation.backends.hf import HFBackend
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import Prompt, render
from ssd.generation.sampler import repetition_loop
from ssd.models import load_model
from ssd.pipeline import typed
from ssd.stages.sample import ShardsPending, sample

FIXTURE = ASSETS / "rstar_seed_sft.jsonl"
DECODERS = [
    Decoder(1.0),
    Decoder(0.7, top_k=5),
    Decoder(1.5, top_p=0.8),
    Decoder(1.2, top_k=8, top_p=0.9),
    Decoder(0.9, train_temperature=1.3, train_top_p=0.85),  # the SSD-as-decoder baseline
]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(tiny_model_dir)


def first_token_probs(model, tokenizer, prompt_ids, decoder):
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt_ids])).logits[0, -1]
    return decoder.probs(logits).numpy()


def decoder_id(d: Decoder) -> str:
    return f"{d.name}-T{d.temperature}-k{d.top_k}-p{d.top_p}"


@pytest.mark.parametrize("decoder", DECODERS, ids=decoder_id)
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


# ----------------------------------------------------------------------------------------------
# The same on the stand-in for a real chat code model (BPE vocabulary, chat-rendered prompt).


@pytest.fixture(scope="module")
def code_model(tiny_code_model_dir):
    return load_model(tiny_code_model_dir)


@pytest.mark.parametrize("decoder", [DECODERS[1], DECODERS[3], DECODERS[4]], ids=decoder_id)
def test_first_token_distribution_on_a_chat_code_model(code_model, decoder):
    model, tokenizer = code_model
    chat = OmegaConf.create({"format": "chat", "template": "plain", "system_message": None})
    _, prompt = render(Prompt("x", "Add two numbers."), tokenizer, chat)
    expected = first_token_probs(model, tokenizer, prompt, decoder)
    n = 2000
    requests = [GenerationRequest(f"c{i}", prompt) for i in range(n)]
    backend = HFBackend(model, tokenizer, batch_size=1000)
    firsts = [c.completion_ids[0] for c in backend.generate(requests, decoder, 1, 1, seed=2)]
    fits, stat, threshold = chi_square_fits(np.bincount(firsts, minlength=len(expected)), expected)
    assert fits, (stat, threshold)


# ----------------------------------------------------------------------------------------------
# The sample stage: seeds, shards, SLURM array tasks, resumption, degeneracy flags.


@pytest.fixture
def stage_cfg(make_cfg, tiny_code_model_dir):
    """6 prompts of the rStar fixture, 2 samples each, in 3 shards of 2 prompts."""

    def _make(cache: Path, *overrides: str):
        cfg = make_cfg(
            "model=local",
            f"model.path={tiny_code_model_dir}",
            "model.dtype=float32",
            "data=rstar_seed",
            f"data.path={FIXTURE}",
            "data.dedup=false",
            "eval.benchmark.name=lcb",
            "sampling.temperature=1.2",
            "sampling.top_k=20",
            "sampling.n_per_prompt=2",
            "sampling.max_new_tokens=6",
            "sampling.shard_size=2",
            *overrides,
            cache=cache,
        )
        return cfg, load_prompts(cfg.data, cfg.toy)

    return _make


def run_sample(cfg, prompts, model_dir):
    c = typed(cfg)
    cache = Cache.at(c.paths.cache_dir)
    return sample(ModelRef(model_dir, "tiny"), prompts, 0, c.sampling, c.data, c.model, None, cache)


def test_array_tasks_split_the_pool_and_the_last_one_merges_the_same_rows(
    stage_cfg, tmp_path, tiny_code_model_dir
):
    cfg, prompts = stage_cfg(tmp_path / "one")
    whole = run_sample(cfg, prompts, tiny_code_model_dir)
    reference = read_samples(whole.path / "samples.jsonl")
    assert len(reference) == 12 and whole.metrics["n_shards"] == 3

    task0, _ = stage_cfg(tmp_path / "array", "sampling.num_shards=2", "sampling.shard_id=0")
    with pytest.raises(ShardsPending, match="1/3 still missing"):
        run_sample(task0, prompts, tiny_code_model_dir)  # shards 0 and 2
    task1, _ = stage_cfg(tmp_path / "array", "sampling.num_shards=2", "sampling.shard_id=1")
    merged = run_sample(task1, prompts, tiny_code_model_dir)  # shard 1, then merge + verify
    assert merged.key == whole.key  # the split does not enter the stage's identity
    assert read_samples(merged.path / "samples.jsonl") == reference
    again = run_sample(task0, prompts, tiny_code_model_dir)  # a late task finds the stage done
    assert again.reused and again.path == merged.path


def test_a_killed_stage_regenerates_only_missing_shards(
    stage_cfg, tmp_path, tiny_code_model_dir, monkeypatch
):
    cfg, prompts = stage_cfg(tmp_path / "cache")
    real, calls = sample_module.generate_rows, []

    def dies_after_one_shard(*args, **kwargs):
        calls.append(kwargs.get("progress"))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(sample_module, "generate_rows", dies_after_one_shard)
    with pytest.raises(KeyboardInterrupt):
        run_sample(cfg, prompts, tiny_code_model_dir)
    shards = sorted((tmp_path / "cache" / "sample").glob("*.partial/shards/*.jsonl"))
    assert [p.name for p in shards] == ["shard-00000-of-00003.jsonl"]
    calls.clear()
    monkeypatch.setattr(
        sample_module, "generate_rows", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    out = run_sample(cfg, prompts, tiny_code_model_dir)
    assert len(calls) == 2 and out.metrics["n_samples"] == 12  # shards 1 and 2 only
    clean, _ = stage_cfg(tmp_path / "clean")
    fresh = run_sample(clean, prompts, tiny_code_model_dir)
    assert read_samples(out.path / "samples.jsonl") == read_samples(fresh.path / "samples.jsonl")


def test_a_shard_from_another_config_is_not_reused(stage_cfg, tmp_path, tiny_code_model_dir):
    cfg, prompts = stage_cfg(tmp_path / "cache", "sampling.num_shards=3", "sampling.shard_id=0")
    with pytest.raises(ShardsPending):
        run_sample(cfg, prompts, tiny_code_model_dir)
    (stale,) = (tmp_path / "cache" / "sample").glob("*.partial/shards/shard-00000-*.jsonl")
    other, _ = stage_cfg(tmp_path / "cache", "sampling.temperature=0.5")
    c, cache = typed(other), Cache.at(tmp_path / "cache")
    parts = sample_module.sample_key_parts(c.sampling, c.data, c.model, None)
    key = cache.key("sample", parts, {"seed": 0}, {"model": "tiny"})
    _, partial = cache.paths("sample", key)
    (partial / "shards").mkdir(parents=True)
    (partial / "shards" / stale.name).write_text(stale.read_text())  # right name, other stage
    out = run_sample(other, prompts, tiny_code_model_dir)
    clean, _ = stage_cfg(tmp_path / "clean", "sampling.temperature=0.5")
    fresh = run_sample(clean, prompts, tiny_code_model_dir)
    assert read_samples(out.path / "samples.jsonl") == read_samples(fresh.path / "samples.jsonl")
    assert not (out.path / "shards").exists()  # merged into samples.jsonl, one copy kept


def test_rows_carry_finish_reason_token_counts_and_degeneracy_flags(
    stage_cfg, tmp_path, tiny_code_model_dir
):
    cfg, prompts = stage_cfg(tmp_path / "cache")
    out = run_sample(cfg, prompts, tiny_code_model_dir)
    rows = read_samples(out.path / "samples.jsonl")
    for row in rows:
        assert row["n_completion_tokens"] == len(row["completion_ids"]) <= 6
        assert row["length_capped"] == (row["finish_reason"] == "length")
        assert row["prompt"].startswith("<|im_start|>system\n")  # the rendered prompt is stored
    assert out.metrics["n_length_capped"] == sum(r["length_capped"] for r in rows)


def test_repetition_loop_rule():
    line = list(range(10))  # a 10-token line
    assert repetition_loop(line * 6)  # each 16-gram of a 10-token line repeated 6 times: 5 times
    assert not repetition_loop(line * 5)  # ... repeated 5 times: only 4
    assert not repetition_loop(line * 2)
    assert repetition_loop([7] * 20)  # one token over and over: 5 overlapping 16-grams
    assert not repetition_loop([7] * 19)
    assert not repetition_loop(list(range(1000)))
