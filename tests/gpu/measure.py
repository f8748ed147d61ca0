"""What the GPU tier measures, as plain functions: Qwen3-style models built from configs with random
weights (about 0.6B and 1.7B parameters), synthetic SSD-like rows, trained tokens/s, MFU and peak
memory of our Lightning SFT and of TRL's SFTTrainer, and sampling tokens/s of the hf backend and
of a plain `generate` loop. tests/gpu calls them at real sizes on CUDA; tests/test_gpu_tier.py runs
them at toy size on CPU, so a GPU session never finds a plain bug first.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

# Dense bf16 peak of the chips we expect, FLOP/s (H100/H200 SXM: 989.4 TFLOP/s without sparsity).
PEAK_BF16 = {"H200": 989.4e12, "H100": 989.4e12, "A100": 312e12, "L40S": 362e12}
VOCAB = 151_936  # Qwen3's
# Qwen3-0.6B and Qwen3-1.7B's published shapes (tied embeddings), at our sequence length.
SIZES = {
    "0.6B": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                 num_attention_heads=16, num_key_value_heads=8, head_dim=128, vocab_size=VOCAB),
    "1.7B": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
                 num_attention_heads=16, num_key_value_heads=8, head_dim=128, vocab_size=VOCAB),
    "toy": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, head_dim=32, vocab_size=512),
}  # fmt: skip


@dataclass
class SFTSettings:
    """One recipe both trainers get: rows of seq_len tokens at most, bf16 on GPU."""

    seq_len: int = 4096
    batch_size: int = 4  # rows per micro-batch
    global_batch_size: int = 16  # rows per optimizer step (accumulation makes up the rest)
    steps: int = 6
    lr: float = 1e-5
    gradient_checkpointing: bool = False
    device: str = "cuda"

    @property
    def n_rows(self) -> int:
        return self.steps * self.global_batch_size


def qwen3(
    size: str, seq_len: int, seed: int = 0, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> Any:
    """A Qwen3 causal LM of `size` (SIZES) with random weights, SDPA attention, built on `device`
    (initialising 1.7B parameters on the GPU takes a moment, on a CPU a minute)."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
        **SIZES[size], max_position_embeddings=max(seq_len, 512), tie_word_embeddings=True,
        pad_token_id=0, eos_token_id=1, bos_token_id=1, attn_implementation="sdpa",
    )  # fmt: skip
    torch.manual_seed(seed)
    with torch.device(device):
        return Qwen3ForCausalLM(config).to(dtype)


def word_tokenizer(vocab: int) -> Any:
    """A tokenizer over ids 0..vocab-1 (pad 0, eos 1, then w2, w3, ...): decodes any sampled id."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {"<pad>": 0, "<eos>": 1, **{f"w{i}": i for i in range(2, vocab)}}
    core = Tokenizer(models.WordLevel(words, unk_token="<pad>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>")


def n_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_token(model: Any, seq_len: int) -> float:
    """Training FLOPs per token: 6 N (N with the LM head, counted even when tied) plus attention's
    12 L H Q T (PaLM, appendix B), T the sequence length."""
    c = model.config
    head = c.vocab_size * c.hidden_size if c.tie_word_embeddings else 0
    attention = 12 * c.num_hidden_layers * c.num_attention_heads * c.head_dim * seq_len
    return 6 * (n_params(model) + head) + attention


def peak_flops(device_name: str) -> float | None:
    """The chip's dense bf16 peak, if it is one we know."""
    return next((v for k, v in PEAK_BF16.items() if k in device_name), None)


def rows(n: int, seq_len: int, vocab: int, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """(prompt, completion) pairs of 3/4 to all of seq_len tokens, prompts ~1/8 of them, each
    completion ending in EOS (id 1): SSD-like rows whose lengths vary, as the batching meets them."""
    rng = np.random.default_rng(seed)
    out = []
    for total in rng.integers(seq_len * 3 // 4, seq_len + 1, n):
        prompt = int(total) // 8
        ids = rng.integers(2, vocab, int(total)).tolist()
        out.append((ids[:prompt], ids[prompt:-1] + [1]))
    return out


def _peak_memory_gb(device: str) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None


def _start(device: str) -> float:
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    return time.perf_counter()


def _stop(device: str, started: float) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def train_ours(model: Any, data: list, s: SFTSettings) -> dict[str, Any]:
    """Our SFT (ssd.sft: the Lightning module, length-grouped batches, completion-only loss)."""
    from omegaconf import OmegaConf

    from ssd.config.schema import FinetuneConfig
    from ssd.sft.data import make_example
    from ssd.sft.loop import train_sft

    examples = [make_example(p, c, s.seq_len)[0] for p, c in data]
    opt = OmegaConf.merge(
        OmegaConf.structured(FinetuneConfig),
        {
            "lr": s.lr, "min_lr": s.lr / 10, "warmup_steps": 1, "max_steps": s.steps,
            "batch_size": s.batch_size, "global_batch_size": s.global_batch_size,
            "max_seq_len": s.seq_len, "save_every": 0,
            "accelerator": "gpu" if s.device == "cuda" else "cpu",
            "precision": "bf16-mixed" if s.device == "cuda" else "32-true",
            "gradient_checkpointing": s.gradient_checkpointing,
        },
    )  # fmt: skip
    started = _start(s.device)
    metrics = train_sft(model, examples, opt, 0, 0)
    wall = _stop(s.device, started)
    tokens = sum(len(e.input_ids) for e in examples)
    return {"tokens_per_s": tokens / wall, "wall_s": wall, "peak_gb": _peak_memory_gb(s.device),
            "steps": metrics["steps"], "final_loss": metrics["final_loss"]}  # fmt: skip


def train_trl(model: Any, data: list, s: SFTSettings) -> dict[str, Any]:
    """TRL's SFTTrainer on the same rows and recipe (completion-only loss, bf16 on GPU)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    ids = [(p + c)[: s.seq_len] for p, c in data]
    masks = [([0] * len(p) + [1] * len(c))[: s.seq_len] for p, c in data]
    dataset = Dataset.from_dict({"input_ids": ids, "completion_mask": masks})
    with tempfile.TemporaryDirectory() as out:
        config = SFTConfig(
            output_dir=out, per_device_train_batch_size=s.batch_size,
            gradient_accumulation_steps=s.global_batch_size // s.batch_size, max_steps=s.steps,
            learning_rate=s.lr, lr_scheduler_type="cosine", warmup_steps=1, weight_decay=0.1,
            adam_beta2=0.95, max_grad_norm=1.0, completion_only_loss=True, max_length=s.seq_len,
            packing=False, save_strategy="no", report_to="none", logging_steps=1000,
            use_cpu=s.device != "cuda", bf16=s.device == "cuda",
            gradient_checkpointing=s.gradient_checkpointing, dataloader_num_workers=0, seed=0,
            disable_tqdm=True,
        )  # fmt: skip
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=dataset,
            processing_class=word_tokenizer(model.config.vocab_size),
        )
        started = _start(s.device)
        result = trainer.train()
        wall = _stop(s.device, started)
    tokens = sum(len(r) for r in ids)
    return {"tokens_per_s": tokens / wall, "wall_s": wall, "peak_gb": _peak_memory_gb(s.device),
            "steps": result.global_step, "final_loss": result.training_loss}  # fmt: skip


def sample_rates(
    model: Any, batch: int = 64, new_tokens: int = 512, prompt_len: int = 128, repeats: int = 2
) -> dict[str, float]:
    """tokens/s of the hf backend and of a plain `generate(do_sample=True)` on the same prompts,
    T=1, top-k 20, top-p 0.95, every row held to `new_tokens` (min_new_tokens) so both do the
    same work; best of `repeats` alternating runs after a warm-up of each."""
    from ssd.generation.backends import GenerationRequest
    from ssd.generation.backends.hf import HFBackend
    from ssd.generation.decoding import Decoder

    tokenizer = word_tokenizer(model.config.vocab_size)
    model.generation_config.min_new_tokens = new_tokens
    rng = np.random.default_rng(0)
    prompts = rng.integers(2, model.config.vocab_size, (batch, prompt_len)).tolist()
    backend = HFBackend(model, tokenizer, batch_size=batch)
    decoder = Decoder(1.0, 20, 0.95)

    def ours(seed: int) -> int:
        requests = [GenerationRequest(f"p{i}", p) for i, p in enumerate(prompts)]
        done = backend.generate(requests, decoder, 1, new_tokens, seed)
        return sum(len(c.completion_ids) for c in done)

    @torch.inference_mode()
    def plain(seed: int) -> int:
        torch.manual_seed(seed)
        ids = torch.tensor(prompts, device=model.device)
        out = model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=1.0,
            top_k=20, top_p=0.95, max_new_tokens=new_tokens, eos_token_id=1, pad_token_id=0,
        )  # fmt: skip
        return int((out[:, prompt_len:] != 0).sum())

    device = "cuda" if model.device.type == "cuda" else "cpu"
    runs = {"hf backend": ours, "plain generate": plain}
    best = dict.fromkeys(runs, 0.0)
    for attempt in range(repeats + 1):
        for name, fn in runs.items():
            started = _start(device)
            tokens = fn(attempt)
            rate = tokens / _stop(device, started)
            best[name] = max(best[name], rate) if attempt else 0.0  # attempt 0: warm-up
    return best
