"""HF causal LMs and tokenizers: built locally for the toy and tests, loaded from a directory or id.

The toy goes through the same `AutoModelForCausalLM` / `AutoTokenizer` directory format as a real
model, so every later stage only ever sees an HF model directory. `build_tiny_code_model` makes a
stand-in for a real chat code model (byte-level BPE trained on bundled text, a Qwen-style chat
template, head_dim 64 so vLLM's CPU attention accepts it) because no hub model can load here or in CI.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
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

from ssd.toy.task import EOS, PAD

# Per-call "Loading weights" bars for a model that loads in milliseconds only bury the stage bars.
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def build_word_tokenizer(vocabulary: list[str]) -> PreTrainedTokenizerFast:
    """A whitespace word-level tokenizer: each toy token is one word, so text round-trips exactly."""
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocabulary)}, unk_token=PAD))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, eos_token=EOS, padding_side="left"
    )


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


# ----------------------------------------------------------------------------------------------
# A tiny stand-in for a real chat code model (tests, benchmarks, the vLLM check).

CHAT_TEMPLATE = (  # Qwen's ChatML layout: <|im_start|>role\ncontent<|im_end|>\n
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_bpe_tokenizer(texts: list[str], vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """A byte-level BPE (GPT-2/Qwen style) trained on `texts`, with a ChatML chat template.

    EOS is `<|endoftext|>` and the chat turn ends with `<|im_end|>`, as in Qwen base/instruct
    tokenizers, so stopping on both (ssd.generation.prompts.stop_token_ids) is exercised.
    """
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        chat_template=CHAT_TEMPLATE,
        padding_side="left",
    )


def build_tiny_code_model(
    out_dir: Path,
    corpus: Path,
    seed: int = 0,
    hidden_size: int = 128,
    head_dim: int = 64,
    fit_steps: int = 40,
) -> Path:
    """Save a 2-layer Qwen3 chat model and a BPE tokenizer, both fit to `corpus` in seconds.

    The corpus alternates problem statements and solutions in blank-line separated paragraphs;
    each pair becomes a ChatML conversation, so the model writes code-like text and ends its turn
    with `<|im_end|>` (a few dozen AdamW steps: distributions peaked but far from one-hot).

    Args:
        out_dir: where the HF directory is written (config, safetensors, tokenizer files).
        corpus: the bundled text (tests/assets/code_corpus.txt).
        seed: weight initialisation and batch order.
        hidden_size: model width; heads = hidden_size // head_dim.
        head_dim: 64, the smallest vLLM's CPU attention backend accepts.
        fit_steps: next-token steps on the conversations (0 = random weights).

    Returns:
        `out_dir`.
    """
    texts = [t for t in Path(corpus).read_text(encoding="utf-8").split("\n\n") if t.strip()]
    tokenizer = build_bpe_tokenizer(texts)
    arch = SimpleNamespace(
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_layers=2,
        num_heads=max(hidden_size // head_dim, 1),
        head_dim=head_dim,
        max_context=2048,
    )
    model = build_tiny_model(tokenizer, arch, seed)
    conversations = [
        [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        for q, a in zip(texts[0::2], texts[1::2], strict=False)
    ]
    stream = [
        i
        for c in conversations
        for i in tokenizer(tokenizer.apply_chat_template(c, tokenize=False))["input_ids"]
    ]
    _fit_on_stream(model, torch.tensor(stream), fit_steps, seed)
    model.generation_config = neutral_generation_config(tokenizer)
    save_model(model, tokenizer, Path(out_dir))
    return Path(out_dir)


def _fit_on_stream(model: Any, stream: torch.Tensor, steps: int, seed: int, width: int = 64):
    """Next-token AdamW steps on random windows of one token stream, on one CPU thread.

    One thread: for matrices this small, thread barriers cost more than they save, and on a
    loaded machine they stall (measured on 2 busy cores: 2 s with one thread, 215 s with two).
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model.train()
    try:
        for _ in range(steps):
            starts = torch.randint(0, len(stream) - width - 1, (8,), generator=generator)
            batch = torch.stack([stream[s : s + width + 1] for s in starts.tolist()])
            logits = model(input_ids=batch[:, :-1]).logits
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
        model.eval()
