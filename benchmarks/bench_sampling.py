"""Throughput of the `hf` sampling backend vs a plain `model.generate(do_sample=True)` loop.

    .venv/bin/python benchmarks/bench_sampling.py                 # tiny chat model, CPU
    .venv/bin/python benchmarks/bench_sampling.py --model DIR --device cuda --n-prompts 256

Both sample the same prompts at the same (T, top-k, top-p), batch size and token budget, on the
same model. The backend draws through its seeded logits processor (ssd/generation/backends/hf.py); the
plain loop uses HF's own warpers and torch's global RNG. By default every row generates exactly
`--max-new-tokens` (stop tokens are held back with `min_new_tokens` in both), so the two do the
same work and tokens/s compares the per-step overhead alone. Prints tokens/s of each (median of
`--repeats` alternating runs after a warm-up) and the ratio backend / plain; the goal is >= 0.95.
The backend batches prompts of similar length together; `--plain-sorted` gives the plain loop the
same batches, so that the ratio measures the sampling overhead alone.
Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from omegaconf import OmegaConf

from ssd.generation.backends import GenerationRequest
from ssd.generation.backends.hf import HFBackend
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import Prompt, render, stop_token_ids
from ssd.models import build_tiny_model, load_model, save_model
from ssd.tinycode.tokenizer import build_bpe_tokenizer

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "assets" / "code_corpus.txt"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        help="an HF model directory (default: a 2-layer Qwen3 with random weights and a BPE "
        "chat tokenizer built from the bundled code corpus: throughput needs no training)",
    )
    parser.add_argument("--device", default="cpu", help="cpu | cuda (default: cpu)")
    parser.add_argument("--n-prompts", type=int, default=64, help="prompts (default: 64)")
    parser.add_argument("--batch-size", type=int, default=32, help="rows per generate (32)")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="per row (default: 64)")
    parser.add_argument("--temperature", type=float, default=1.0, help="T (default: 1.0)")
    parser.add_argument("--top-k", type=int, default=20, help="0 = off (default: 20)")
    parser.add_argument("--top-p", type=float, default=0.8, help="(default: 0.8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (default: 3)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument(
        "--plain-sorted",
        action="store_true",
        help="batch the plain loop's prompts by length too, as the backend does (less padding)",
    )
    parser.add_argument(
        "--allow-stop", action="store_true", help="let rows stop early (lengths then differ)"
    )
    return parser.parse_args()


def prompt_batches(tokenizer, n_prompts: int, batch_size: int) -> list[list[list[int]]]:
    """Chat-rendered prompts from the corpus' problem statements, in batches."""
    statements = [t for t in CORPUS.read_text().split("\n\n")[0::2] if t.strip()]
    cfg = OmegaConf.create(
        {"format": "chat", "template": "plain", "system_message": "Write Python."}
    )
    ids = [
        render(Prompt(str(i), statements[i % len(statements)]), tokenizer, cfg)[1]
        for i in range(n_prompts)
    ]
    return [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]


@torch.inference_mode()
def run_plain(model, tokenizer, batches, args) -> int:
    """HF's own sampling: generate(do_sample=True, temperature, top_k, top_p); returns tokens."""
    stops, pad, n_tokens = stop_token_ids(tokenizer), tokenizer.pad_token_id, 0
    for batch in batches:
        width = max(len(p) for p in batch)
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in batch], device=model.device)
        attention = torch.tensor(
            [[0] * (width - len(p)) + [1] * len(p) for p in batch], device=model.device
        )
        out = model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            do_sample=True,
            temperature=args.temperature,
            top_k=args.top_k or None,
            top_p=args.top_p,
            max_new_tokens=args.max_new_tokens,
            eos_token_id=stops,
            pad_token_id=pad,
        )
        for row in out[:, width:].tolist():
            n_tokens += next((i + 1 for i, t in enumerate(row) if t in stops), len(row))
    return n_tokens


def run_backend(backend, batches, args, seed: int) -> int:
    requests = [
        GenerationRequest(f"{b}-{i}", ids)
        for b, batch in enumerate(batches)
        for i, ids in enumerate(batch)
    ]
    decoder = Decoder(args.temperature, args.top_k, args.top_p)
    completions = backend.generate(requests, decoder, 1, args.max_new_tokens, seed)
    return sum(len(c.completion_ids) for c in completions)


def build_standin(out: Path) -> Path:
    """A 2-layer Qwen3 chat model (head_dim 64) with random weights, built from a config."""
    texts = [t for t in CORPUS.read_text(encoding="utf-8").split("\n\n") if t.strip()]
    tokenizer = build_bpe_tokenizer(texts)
    arch = SimpleNamespace(
        hidden_size=128, intermediate_size=256, num_layers=2, num_heads=2, head_dim=64,
        max_context=2048,
    )  # fmt: skip
    save_model(build_tiny_model(tokenizer, arch, seed=0), tokenizer, out)
    return out


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    n_tokens = fn()
    return time.perf_counter() - start, n_tokens


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.model or build_standin(Path(tmp) / "model")
        model, tokenizer = load_model(path)
    model.to(args.device)
    if not args.allow_stop:  # both runs then generate exactly max_new_tokens per row
        model.generation_config.min_new_tokens = args.max_new_tokens
    batches = prompt_batches(tokenizer, args.n_prompts, args.batch_size)
    plain_batches = batches
    if args.plain_sorted:
        by_length = sorted((p for batch in batches for p in batch), key=len)
        plain_batches = [
            by_length[i : i + args.batch_size] for i in range(0, len(by_length), args.batch_size)
        ]
    backend = HFBackend(model, tokenizer, batch_size=args.batch_size)
    torch.manual_seed(0)
    seeds = itertools.count()  # a fresh seed per backend run, as the plain loop's RNG moves on
    runs = {
        "plain": lambda: run_plain(model, tokenizer, plain_batches, args),
        "hf backend": lambda: run_backend(backend, batches, args, seed=next(seeds)),
    }
    for fn in runs.values():
        fn()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            seconds, n_tokens = timed(fn)
            rates[name].append(n_tokens / seconds)
    print(
        f"model={path if args.model else 'tiny code model'} device={args.device} "
        f"threads={torch.get_num_threads()} prompts={args.n_prompts} batch={args.batch_size} "
        f"max_new_tokens={args.max_new_tokens} T={args.temperature} k={args.top_k} "
        f"p={args.top_p} stop={'allowed' if args.allow_stop else 'held back'} "
        f"plain batches={'length-sorted' if args.plain_sorted else 'in pool order'}"
    )
    for name, values in rates.items():
        spread = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:>11}: {statistics.median(values):9.0f} tokens/s  (runs: {spread})")
    ratio = statistics.median(rates["hf backend"]) / statistics.median(rates["plain"])
    print(f"      ratio: {ratio:.3f}  (hf backend / plain; goal >= 0.95)")


if __name__ == "__main__":
    main()
