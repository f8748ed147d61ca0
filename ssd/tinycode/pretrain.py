"""Pretrain the tiny code model from scratch and ship it: `python -m ssd.tinycode.pretrain [--out DIR]`.

A BPE tokenizer (~370 tokens) is trained on the noisy corpus (ssd/tinycode/corpus.py), then a
small Qwen3 (SDPA attention) is fit with a plain torch loop (AdamW, warmup + cosine, fixed
64-token rows, loss on the completion only) on one CPU thread. The HF directory and a manifest
(seed, steps, loss curve, base pass@1 per T_eval) are written to `--out` (default: weights/).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from ssd.codeeval.benchmarks.tinycode import EVAL_MAX_EASY, EVAL_PROBLEMS, EVAL_SEED, make_problems
from ssd.models import build_tiny_model, save_model
from ssd.tinycode.corpus import corpus
from ssd.tinycode.measure import pass_at_1
from ssd.tinycode.tokenizer import build_bpe_tokenizer

WEIGHTS = Path(__file__).parent / "weights"
SETTINGS = {  # every choice that determines the shipped weights
    "seed": 0,
    "eval_problems": EVAL_PROBLEMS,  # the benchmark release the corpus must not contain
    "eval_max_easy": EVAL_MAX_EASY,
    "eval_seed": EVAL_SEED,
    "corpus_size": 40000,
    "trap": 0.3,  # share of one-liners missing their last step (greedy's trap)
    "lock_noise": 0.25,  # share with a wrong constant or operator
    "vocab_size": 520,
    "hidden_size": 128,
    "num_layers": 3,
    "num_heads": 4,
    "head_dim": 32,
    "seq_len": 64,
    "batch_size": 64,
    "steps": 400,
    "lr": 5e-3,
    "warmup": 100,
    "curve_every": 100,  # snapshot every N steps for the pass@1 learning curve
}
CURVE_T = [0.4, 1.0]  # T_eval of the learning curve (4 samples per problem)
# T_eval of the final measurement (8 samples), past the base's optimum
GRID_T = [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8]


def encode(tokenizer: Any, pairs: list[tuple[str, str]], seq_len: int) -> tuple[torch.Tensor, ...]:
    """Right-padded rows and labels (-100 on prompt and padding): prompt and completion are
    tokenized apart, exactly as sampling sees them (prompt ids, then generated ids)."""
    rows, labels = [], []
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    for prompt, completion in pairs:
        p = tokenizer(prompt)["input_ids"]
        c = tokenizer(completion)["input_ids"] + [eos]
        ids = (p + c)[:seq_len]
        lab = ([-100] * len(p) + c)[:seq_len]
        rows.append(ids + [pad] * (seq_len - len(ids)))
        labels.append(lab + [-100] * (seq_len - len(lab)))
    return torch.tensor(rows), torch.tensor(labels)


def lr_at(step: int, s: dict[str, Any]) -> float:
    """Linear warmup, then cosine down to lr/10."""
    if step < s["warmup"]:
        return s["lr"] * (step + 1) / s["warmup"]
    frac = (step - s["warmup"]) / max(1, s["steps"] - s["warmup"])
    return s["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def train(model: Any, rows: torch.Tensor, labels: torch.Tensor, s: dict[str, Any], log: list):
    """The plain AdamW loop (faster than Lightning at this size); appends (step, loss) to log.

    Returns {step: state_dict} snapshots every `curve_every` steps (for the learning curve).
    """
    snapshots = {}
    gen = torch.Generator().manual_seed(s["seed"])
    opt = torch.optim.AdamW(model.parameters(), lr=s["lr"], betas=(0.9, 0.95), weight_decay=0.1)
    model.train()
    running = None
    for step in range(s["steps"]):
        idx = torch.randint(0, len(rows), (s["batch_size"],), generator=gen)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, s)
        x, y = rows[idx], labels[idx]
        logits = model(input_ids=x).logits[:, :-1]  # causal: right padding never leaks back
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if (step + 1) % 50 == 0:
            log.append({"step": step + 1, "loss": round(running, 4)})
            print(f"step {step + 1} loss {running:.4f}", flush=True)
        if (step + 1) % s["curve_every"] == 0 and step + 1 < s["steps"]:
            snapshots[step + 1] = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    return snapshots


def learning_curve(model: Any, tokenizer: Any, snapshots: dict) -> list[dict]:
    """pass@1 at CURVE_T of each snapshot (4 samples per problem), then the weights restored."""
    final = {k: v.clone() for k, v in model.state_dict().items()}
    curve = []
    with tempfile.TemporaryDirectory() as tmp:
        for step, state in sorted(snapshots.items()):
            model.load_state_dict(state)
            save_model(model, tokenizer, Path(tmp))
            scores = pass_at_1(Path(tmp), CURVE_T, 4)
            curve.append({"step": step, "pass@1": {str(t): round(v, 4) for t, v in scores.items()}})
            print(curve[-1], flush=True)
    model.load_state_dict(final)
    return curve


def build(out: Path, s: dict[str, Any]) -> dict[str, Any]:
    """Tokenizer, model and manifest under `out`; returns the manifest."""
    torch.set_num_threads(1)  # on 2 busy cores one thread beats two (ssd/models.py)
    start = time.time()
    problems = make_problems(s["eval_problems"], s["eval_seed"], s["eval_max_easy"])
    exclude = [p.metadata["spec"] for p in problems]
    pairs = corpus(s["corpus_size"], s["seed"], s["trap"], s["lock_noise"], exclude)
    tokenizer = build_bpe_tokenizer([t for pair in pairs for t in pair], s["vocab_size"])
    arch = SimpleNamespace(**s, intermediate_size=4 * s["hidden_size"], max_context=s["seq_len"])
    model = build_tiny_model(tokenizer, arch, seed=s["seed"])
    rows, labels = encode(tokenizer, pairs, s["seq_len"])
    log: list = []
    snapshots = train(model, rows, labels, s, log)
    train_wall = round(time.time() - start, 1)
    save_model(model, tokenizer, out)
    curve = learning_curve(model, tokenizer, snapshots)
    final = pass_at_1(out, GRID_T, 8)
    manifest = {
        "settings": s,
        "params": sum(p.numel() for p in model.parameters()),
        "train_wall_s": train_wall,
        "loss_curve": log,
        "pass_at_1_curve": curve,
        "base_pass_at_1": {str(t): round(v, 4) for t, v in final.items()},
        "measured": "8 samples/problem, eval top-k 0 top-p 1, ssd.tinycode.measure (the evaluator)",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--steps", type=int, default=SETTINGS["steps"])
    parser.add_argument("--trap", type=float, default=SETTINGS["trap"])
    parser.add_argument("--lock-noise", type=float, default=SETTINGS["lock_noise"])
    args = parser.parse_args()
    settings = {**SETTINGS, "steps": args.steps, "trap": args.trap, "lock_noise": args.lock_noise}
    args.out.mkdir(parents=True, exist_ok=True)
    build(args.out, settings)


if __name__ == "__main__":
    main()
