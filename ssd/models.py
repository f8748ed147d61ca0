"""HF causal LMs and tokenizers: loaded from a directory or hub id, saved, or built from a config.

The toy and the tiny code model go through the same `AutoModelForCausalLM` / `AutoTokenizer`
directory format as a real model, so every later stage only ever sees an HF model directory.
Their tokenizers are their own (ssd/toy/tokenizer.py, ssd/tinycode/tokenizer.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen3Config,
)
from transformers import (
    logging as hf_logging,
)

# Per-call "Loading weights" bars for a model that loads in milliseconds only bury the stage bars.
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU ops on `threads` threads here and in the processes started meanwhile (training
    workers read the variables at import), restored after; None leaves torch's default."""
    if threads is None:
        yield
        return
    saved_env, saved_threads = {v: os.environ.get(v) for v in THREAD_VARS}, torch.get_num_threads()
    os.environ.update(dict.fromkeys(THREAD_VARS, str(threads)))
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved_threads)
        for var, value in saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def build_tiny_model(tokenizer: PreTrainedTokenizerFast, arch: Any, seed: int) -> PreTrainedModel:
    """A small Qwen3 causal LM from a config (no download), initialised from `seed`.

    `arch` needs hidden_size, intermediate_size, num_layers, num_heads, head_dim, max_context (the
    toy's `model` config, or any namespace with them).
    """
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=arch.hidden_size,
        intermediate_size=arch.intermediate_size,
        num_hidden_layers=arch.num_layers,
        num_attention_heads=arch.num_heads,
        num_key_value_heads=arch.num_heads,
        head_dim=arch.head_dim,
        max_position_embeddings=arch.max_context,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = neutral_generation_config(tokenizer)
    return model


def neutral_generation_config(tokenizer: Any) -> GenerationConfig:
    """A generation config with no sampling knobs of its own: decoding is ours to set."""
    return GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )


def load_tokenizer(path: str | Path, trust_remote_code: bool = False) -> Any:
    """The tokenizer of an HF directory or hub id, left-padding, with a pad token."""
    tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(path: str | Path, dtype: str = "float32", trust_remote_code: bool = False):
    """Model and tokenizer from an HF directory or hub id, in eval mode, tokenizer left-padding."""
    torch_dtype = "auto" if dtype == "auto" else DTYPES[dtype]
    tokenizer = load_tokenizer(path, trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        str(path), dtype=torch_dtype, trust_remote_code=trust_remote_code
    )
    model.eval()
    return model, tokenizer


def save_model(model: PreTrainedModel, tokenizer: Any, path: Path) -> None:
    """An HF directory that transformers (and vLLM) load directly."""
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
