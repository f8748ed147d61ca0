"""The GPU tier: what a CPU run cannot show, on one CUDA GPU in a few minutes (`make gpu-check`).

bf16 fine-tuning through the Lightning module, the hf backend's sampling on the GPU against
`ssd.generation.decoding` (the CPU chi-square test's helpers), the FSDP export on one device, and
tokens/s of training and sampling (printed; run with -s). Every test skips, saying why, without
CUDA; `make test` deselects the marker.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.sampling_stats import chi_square_fits, first_token_probs
from helpers.support import ASSETS
from transformers import AutoConfig, AutoTokenizer

from ssd.config.choices import Strategy
from ssd.config.schema import FinetuneConfig
from ssd.generation.backends import GenerationRequest
from ssd.generation.backends.hf import HFBackend
from ssd.generation.decoding import Decoder
from ssd.models import load_model
from ssd.sft.data import make_example
from ssd.sft.loop import train_sft

DEVICE = "cuda"
NO_CUDA = "needs a CUDA GPU: torch.cuda.is_available() is False"
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)]

GPU_OPT = replace(
    FinetuneConfig(),
    accelerator="gpu",
    devices=1,
    precision="bf16-mixed",
    max_steps=40,
    batch_size=8,
    global_batch_size=8,
    max_seq_len=256,
    save_every=0,
)


def corpus_examples(tokenizer, n: int = 256, width: int = 96) -> list:
    """Windows of the code corpus: 16 prompt tokens, the rest the completion to learn."""
    ids = tokenizer((ASSETS / "code_corpus.txt").read_text(), add_special_tokens=False)["input_ids"]
    starts = np.linspace(0, len(ids) - width, n).astype(int)
    return [make_example(ids[s : s + 16], ids[s + 16 : s + width], width)[0] for s in starts]


def mean_loss(model, examples) -> float:
    """Mean completion cross-entropy of `examples` under `model`, on its device."""
    losses = []
    with torch.no_grad():
        for e in examples[:32]:
            ids = torch.tensor([e.input_ids], device=model.device)
            labels = torch.tensor([e.labels], device=model.device)
            losses.append(float(model(input_ids=ids, labels=labels).loss))
    return sum(losses) / len(losses)


def test_bf16_fine_tuning_through_the_lightning_module(tiny_code_model_dir):
    model, tokenizer = load_model(tiny_code_model_dir)
    examples = corpus_examples(tokenizer)
    before = mean_loss(model.cuda(), examples)
    torch.cuda.reset_peak_memory_stats()
    metrics = train_sft(model, examples, GPU_OPT, 0, tokenizer.pad_token_id)
    print(f"\ntraining: {metrics['tokens_per_s_mean']:.0f} tokens/s (bf16-mixed, 1 GPU)")
    assert (metrics["steps"], metrics["precision"]) == (GPU_OPT.max_steps, "bf16-mixed")
    # Lightning hands the model back on the CPU after fit (its teardown frees the GPU), so
    # "trained on the GPU" is read from the GPU's own peak: weights, optimizer state, activations.
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    assert torch.cuda.max_memory_allocated() > 2 * weights
    after = mean_loss(model.to(DEVICE), examples)
    assert math.isfinite(after) and after < before, (before, after)


@pytest.mark.parametrize("decoder", [Decoder(1.0), Decoder(1.2, top_k=8, top_p=0.9)])
def test_hf_sampling_on_the_gpu_follows_the_decoding_transform(tiny_code_model_dir, decoder):
    model, tokenizer = load_model(tiny_code_model_dir)
    model = model.cuda()
    prompt = tokenizer("def add(a, b):", add_special_tokens=False)["input_ids"]
    expected = first_token_probs(model, prompt, decoder)
    requests = [GenerationRequest(f"g{i}", prompt) for i in range(4000)]
    backend = HFBackend(model, tokenizer, batch_size=1000)
    firsts = [c.completion_ids[0] for c in backend.generate(requests, decoder, 1, 1, seed=3)]
    fits, stat, threshold = chi_square_fits(np.bincount(firsts, minlength=len(expected)), expected)
    assert fits, (stat, threshold)


def test_sampling_throughput_is_printed(tiny_code_model_dir):
    model, tokenizer = load_model(tiny_code_model_dir)
    backend = HFBackend(model.cuda(), tokenizer, batch_size=256)
    prompt = tokenizer("def add(a, b):", add_special_tokens=False)["input_ids"]
    requests = [GenerationRequest(f"t{i}", prompt) for i in range(512)]
    torch.cuda.synchronize()
    started = time.perf_counter()
    out = backend.generate(requests, Decoder(1.0), 1, 64, seed=0)
    torch.cuda.synchronize()
    tokens = sum(len(c.completion_ids) for c in out)
    print(f"\nsampling: {tokens / (time.perf_counter() - started):.0f} tokens/s (hf, float32)")
    assert len(out) == 512 and tokens > 0


def test_fsdp_export_on_one_device(tiny_code_model_dir, tmp_path: Path):
    model, tokenizer = load_model(tiny_code_model_dir)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    export = {
        "config": AutoConfig.from_pretrained(tiny_code_model_dir),
        "tokenizer": AutoTokenizer.from_pretrained(tiny_code_model_dir),
    }
    opt = replace(GPU_OPT, strategy=Strategy.fsdp, max_steps=10)
    examples = corpus_examples(tokenizer, n=64)
    metrics = train_sft(
        model, examples, opt, 0, tokenizer.pad_token_id, out=tmp_path, export=export
    )
    assert metrics["steps"] == 10
    exported, _ = load_model(tmp_path / "model")
    state = exported.state_dict()
    assert set(state) == set(initial)
    assert all(torch.isfinite(v).all() for v in state.values())
    assert any(not torch.equal(state[k], initial[k]) for k in initial)  # the trained weights
    assert math.isfinite(mean_loss(exported.cuda(), examples))
