"""The tiny code model is a faithful stand-in: HF directory, byte-level BPE, ChatML, head_dim 64."""

from __future__ import annotations

import json

from ssd.generation.prompts import stop_token_ids
from ssd.models import load_model, load_tokenizer


def test_tiny_code_model_is_an_hf_directory_vllm_can_serve(tiny_code_model_dir):
    config = json.loads((tiny_code_model_dir / "config.json").read_text())
    assert config["model_type"] == "qwen3" and config["num_hidden_layers"] == 2
    assert config["head_dim"] >= 64  # vLLM's CPU attention backend refuses smaller heads
    model, tokenizer = load_model(tiny_code_model_dir)
    assert model.config.vocab_size == len(tokenizer)


def test_byte_level_tokenizer_round_trips_any_text(tiny_code_model_dir):
    tokenizer = load_tokenizer(tiny_code_model_dir)
    for text in ["def f(x):\n    return x ** 2\n", "naïve — ünïcode ✓ 世界\t\r\n", "   "]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text


def test_chat_template_and_stop_tokens_are_qwen_style(tiny_code_model_dir):
    tokenizer = load_tokenizer(tiny_code_model_dir)
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert (
        text
        == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    )
    ends = {tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")}
    assert set(stop_token_ids(tokenizer)) == ends  # EOS and the turn's end token
    assert tokenizer.padding_side == "left" and tokenizer.pad_token is not None


def test_cpu_threads_applies_to_torch_and_to_started_processes_then_restores(monkeypatch):
    """cpu_threads=N: torch here, and OMP/MKL for the workers a run starts; put back after."""
    import os
    import subprocess
    import sys

    import torch

    from ssd.models import THREAD_VARS, cpu_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "7")
    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
        child = subprocess.run(
            [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert child.stdout.strip() == "1"
    assert torch.get_num_threads() == before
    assert "OMP_NUM_THREADS" not in os.environ and os.environ["MKL_NUM_THREADS"] == "7"
    with cpu_threads(None):  # torch's default: nothing touched
        assert torch.get_num_threads() == before and THREAD_VARS[0] not in os.environ
