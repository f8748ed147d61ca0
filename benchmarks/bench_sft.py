"""Throughput of ssd's SFT loop against TRL's SFTTrainer on the same model, samples and recipe.

    .venv/bin/python benchmarks/bench_sft.py            # needs the bench extra: pip install -e .[bench]
    .venv/bin/python benchmarks/bench_sft.py --help

Both sides train one epoch of the same synthetic SSD-like samples (prompt and completion lengths
drawn log-normally, as real problem statements and code answers vary) with completion-only loss,
AdamW, warmup + cosine, the same per-device batch and accumulation, on CPU in float32. Trained
tokens/s = the non-padding tokens of every sample (each is seen once) / the wall time of the
training call, counted by this script the same way for both sides. Not a test: timings are noisy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

DEFAULTS = SimpleNamespace(
    n_samples=512,
    prompt_median=48,
    completion_median=96,
    sigma=0.6,
    max_seq_len=512,
    vocab=512,
    hidden_size=128,
    num_layers=4,
    batch_size=8,
    global_batch_size=32,
    lr=1e-4,
    seed=0,
    threads=0,
    trl_group_by_length=False,
)


def _lengths(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return np.maximum(2, rng.lognormal(np.log(median), sigma, n).round().astype(int))


def bench_rows(args: Any) -> list[tuple[list[int], list[int]]]:
    """(prompt_ids, completion_ids) pairs; ids avoid the two special tokens (pad 0, eos 1)."""
    rng = np.random.default_rng(args.seed)
    prompts = _lengths(rng, args.prompt_median, args.sigma, args.n_samples)
    completions = _lengths(rng, args.completion_median, args.sigma, args.n_samples)
    rows = []
    for p, c in zip(prompts, completions, strict=True):
        prompt = rng.integers(2, args.vocab, p).tolist()
        rows.append((prompt, rng.integers(2, args.vocab, c - 1).tolist() + [1]))  # ends in EOS
    return rows


def bench_examples(args: Any) -> list[Any]:
    from ssd.sft.data import make_example

    return [make_example(p, c, args.max_seq_len)[0] for p, c in bench_rows(args)]


def tiny_model(args: Any) -> tuple[Any, Any]:
    from ssd.models import build_tiny_model
    from ssd.toy.tokenizer import build_word_tokenizer

    tokenizer = build_word_tokenizer(["<pad>", "<eos>"] + [f"w{i}" for i in range(2, args.vocab)])
    arch = SimpleNamespace(
        hidden_size=args.hidden_size,
        intermediate_size=4 * args.hidden_size,
        num_layers=args.num_layers,
        num_heads=4,
        head_dim=args.hidden_size // 4,
        max_context=args.max_seq_len,
    )
    return build_tiny_model(tokenizer, arch, seed=args.seed), tokenizer


def run_ssd(args: Any) -> dict[str, float]:
    from omegaconf import OmegaConf

    from ssd.config.schema import FinetuneConfig
    from ssd.sft.loop import train_sft

    examples = bench_examples(args)
    model, tokenizer = tiny_model(args)
    opt = OmegaConf.merge(
        OmegaConf.structured(FinetuneConfig),
        {
            "lr": args.lr,
            "min_lr": args.lr / 10,
            "warmup_steps": 2,
            "max_steps": None,
            "epochs": 1,
            "batch_size": args.batch_size,
            "global_batch_size": args.global_batch_size,
            "max_seq_len": args.max_seq_len,
            "accelerator": "cpu",
            "precision": "32-true",
            "save_every": 0,
        },
    )
    started = time.perf_counter()
    metrics = train_sft(model, examples, opt, args.seed, tokenizer.pad_token_id)
    wall = time.perf_counter() - started
    tokens = sum(len(e.input_ids) for e in examples)
    return {
        "steps": metrics["steps"],
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "padding_fraction": metrics["padding_fraction"],
        "final_loss": metrics["final_loss"],
    }


def run_trl(args: Any) -> dict[str, float]:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = [(p + c)[: args.max_seq_len] for p, c in bench_rows(args)]
    masks = [([0] * len(p) + [1] * len(c))[: args.max_seq_len] for p, c in bench_rows(args)]
    data = Dataset.from_dict({"input_ids": rows, "completion_mask": masks})
    model, tokenizer = tiny_model(args)
    counted = {"computed": 0, "nonpad": 0}
    with tempfile.TemporaryDirectory() as out:
        config = SFTConfig(
            output_dir=out,
            per_device_train_batch_size=args.batch_size,
            gradient_accumulation_steps=args.global_batch_size // args.batch_size,
            num_train_epochs=1,
            learning_rate=args.lr,
            lr_scheduler_type="cosine",
            warmup_steps=2,
            weight_decay=0.1,
            adam_beta2=0.95,
            max_grad_norm=1.0,
            completion_only_loss=True,
            max_length=args.max_seq_len,
            packing=False,
            train_sampling_strategy="group_by_length" if args.trl_group_by_length else "random",
            save_strategy="no",
            report_to="none",
            logging_steps=1000,
            use_cpu=True,
            dataloader_num_workers=0,
            seed=args.seed,
            disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=model, args=config, train_dataset=data, processing_class=tokenizer
        )
        collate = trainer.data_collator

        def counting(batch: list[dict[str, Any]]) -> dict[str, Any]:
            out_batch = collate(batch)
            counted["computed"] += out_batch["input_ids"].numel()
            counted["nonpad"] += sum(len(row["input_ids"]) for row in batch)
            return out_batch

        trainer.data_collator = counting
        started = time.perf_counter()
        result = trainer.train()
        wall = time.perf_counter() - started
    tokens = sum(len(r) for r in rows)
    return {
        "steps": result.global_step,
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "padding_fraction": 1 - counted["nonpad"] / max(counted["computed"], 1),
        "final_loss": result.training_loss,  # TRL reports the mean over the run, not the last step
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    for key, value in vars(DEFAULTS).items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action="store_true", help=f"(default {value})")
        else:
            parser.add_argument(flag, type=type(value), default=value, help=f"(default {value})")
    parser.add_argument("--only", choices=["ssd", "trl"], help="run one side only")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="alternate the sides N times; report each side's best",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"samples={args.n_samples} batch={args.batch_size}x{args.global_batch_size // args.batch_size} "
        f"model={args.num_layers}x{args.hidden_size} threads={torch.get_num_threads()}"
    )
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeats):  # alternating, so a busy spell on the machine hits both sides
        for name, fn in (("ssd", run_ssd), ("trl", run_trl)):
            if args.only in (None, name):
                r = fn(args)
                runs.setdefault(name, []).append(r)
                print(
                    f"{name:>4}: {r['tokens_per_s']:9.0f} trained tokens/s  wall {r['wall_s']:6.1f} s"
                    f"  steps {r['steps']}  padding {r['padding_fraction']:.3f}"
                    f"  loss {r['final_loss']:.3f}",
                    flush=True,
                )
    best = {name: max(r["tokens_per_s"] for r in rs) for name, rs in runs.items()}
    for name, value in best.items():
        print(f"best {name}: {value:.0f} trained tokens/s over {len(runs[name])} run(s)")
    if len(best) == 2:
        print(f"ratio ssd/trl (best runs): {best['ssd'] / best['trl']:.2f} (goal >= 1.3)")


if __name__ == "__main__":
    main()
