"""Stage `evaluate`: score one model under one decoding rule over a T_eval grid.

On the toy, pass@1 is EXACT (the sum over every valid sequence of its probability under the decoding
rule, by teacher forcing) and pass@k is estimated from `eval.n_samples` samples per problem drawn by
the same sampling backend SSD uses. `evaluate(cfg, model, decoder_template, temperatures, seed)`
returns the cached stage output whose results.json holds one entry per T_eval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from ssd.cache import StageOutput, atomic_write_json, run_stage
from ssd.data import Prompt
from ssd.generation.decoding import Decoder
from ssd.metrics import bootstrap_ci, pass_at_k
from ssd.stages.base import ModelRef
from ssd.toy.task import ToyTask

LOCK_KINDS = ("lock", "hard_lock", "end")
FORK_KINDS = ("fork", "trap_fork")


def _outcome_of_token(tokenizer: Any, task: ToyTask) -> dict[int, int]:
    table = {}
    for token, token_id in tokenizer.get_vocab().items():
        if token == tokenizer.eos_token:
            table[token_id] = task.eos_outcome
        elif token.startswith("t") and token[1:].isdigit():
            table[token_id] = int(token[1:])
    return table


def _token_of_outcome(tokenizer: Any, task: ToyTask) -> list[int]:
    return [
        tokenizer.eos_token_id
        if o == task.eos_outcome
        else tokenizer.convert_tokens_to_ids(f"t{o}")
        for o in range(task.n_outcomes)
    ]


@torch.inference_mode()
def toy_teacher_forcing(model: Any, tokenizer: Any, task: ToyTask) -> dict[str, Any]:
    """Logits at every position of every valid sequence, with the state met there."""
    sequences = task.valid_sequences
    token_of = _token_of_outcome(tokenizer, task)
    prompt_ids = [tokenizer.convert_tokens_to_ids(f"P{i}") for i, _ in sequences]
    ids = torch.tensor(
        [
            [p] + [token_of[o] for o in seq]
            for p, (_, seq) in zip(prompt_ids, sequences, strict=True)
        ]
    )
    logits = model(input_ids=ids).logits[:, :-1].float()  # position j predicts completion token j
    targets = ids[:, 1:]
    states = [[st for _, st, _ in task.walk(i, list(seq))] for i, seq in sequences]
    return {"logits": logits, "targets": targets, "states": states, "token_of": token_of}


def toy_exact_pass(forced: dict[str, Any], task: ToyTask, decoder: Decoder) -> np.ndarray:
    """Exact P(pass) per instance: sum over valid sequences of the product of decoded probs."""
    probs = decoder.probs(forced["logits"])
    chosen = probs.gather(-1, forced["targets"].unsqueeze(-1)).squeeze(-1)
    per_sequence = chosen.double().prod(-1).numpy()
    per_instance = np.zeros(task.cfg.n_instances)
    for (instance, _), p in zip(task.valid_sequences, per_sequence, strict=True):
        per_instance[instance] += p
    return per_instance


def toy_diagnostics(forced: dict[str, Any], task: ToyTask) -> dict[str, float]:
    """Lock distractor mass and fork entropy (bits) of the model at T=1, each state counted once."""
    probs = forced["logits"].softmax(-1)
    token_of = forced["token_of"]
    lock_mass, fork_entropy, seen = [], [], set()
    for row, states in enumerate(forced["states"]):
        for col, st in enumerate(states):
            if id(st) in seen:  # a state shared by several valid prefixes counts once
                continue
            seen.add(id(st))
            p = probs[row, col]
            if st.kind in LOCK_KINDS:
                lock_mass.append(1.0 - float(p[token_of[st.valid[0]]]))
            else:
                fork_entropy.append(float(-(p * torch.log2(p.clamp_min(1e-30))).sum()))
    return {
        "lock_distractor_mass": float(np.mean(lock_mass)),
        "fork_entropy_bits": float(np.mean(fork_entropy)),
    }


def _sampled_pass(cfg: Any, model: Any, tokenizer: Any, task: ToyTask, decoder: Decoder, seed: int):
    """Correct counts per instance from `eval.n_samples` samples through the sampling backend."""
    from ssd.generation.backends import make_backend
    from ssd.stages.sample import generate_rows

    backend = make_backend(cfg.sampling.backend, model, tokenizer, cfg.eval.batch_size)
    prompts = [Prompt(f"eval-{i}", f"P{i}", instance=i) for i in range(task.cfg.n_instances)]
    rows = generate_rows(
        backend,
        tokenizer,
        prompts,
        cfg.data.prompt,
        decoder,
        cfg.eval.n_samples,
        cfg.eval.max_new_tokens,
        seed,
    )
    outcome_of = _outcome_of_token(tokenizer, task)
    correct = np.zeros(task.cfg.n_instances, dtype=int)
    for row in rows:
        outcomes = [outcome_of.get(t, -1) for t in row["completion_ids"]]
        correct[row["instance"]] += task.passes(row["instance"], outcomes)
    return correct


def evaluate_spec(
    cfg: Any, decoder: Decoder, temperatures: list[float], seed: int
) -> dict[str, Any]:
    e = cfg.eval
    return {
        "decoder": {k: v for k, v in decoder.as_dict().items() if k != "temperature"},
        "temperatures": temperatures,
        "n_samples": e.n_samples,
        "k": list(e.k),
        "max_new_tokens": e.max_new_tokens,
        "benchmark": OmegaConf.to_container(e.benchmark, resolve=True),
        "toy": OmegaConf.to_container(cfg.toy, resolve=True) if e.benchmark.name == "toy" else None,
        "prompt": OmegaConf.to_container(cfg.data.prompt, resolve=True),
        "backend": cfg.sampling.backend,
        "seed": seed,
    }


def evaluate(
    cfg: Any, model: ModelRef, decoder: Decoder, temperatures: list[float], seed: int, label: str
) -> StageOutput:
    """Run (or reuse) the evaluation of `model` under `decoder` at each T in `temperatures`."""
    spec = evaluate_spec(cfg, decoder, temperatures, seed)

    def compute_code(out: Path) -> dict[str, Any]:
        from ssd.codeeval.evaluate import evaluate_code_rows, write_results
        from ssd.stages.sample import make_sampler

        backend, tokenizer = make_sampler(cfg, model.path)
        result = evaluate_code_rows(cfg, backend, tokenizer, decoder, temperatures, seed, out)
        write_results(out, label, decoder, result)
        best = max(result["rows"], key=lambda r: r["pass@1"])
        return {"best_t_eval": best["t_eval"], "best_pass@1": best["pass@1"]}

    if cfg.eval.benchmark.name != "toy":
        return run_stage(cfg.paths.cache_dir, "evaluate", spec, {"model": model.key}, compute_code)

    def compute(out: Path) -> dict[str, Any]:
        from dataclasses import replace

        from ssd.models import load_model

        hf_model, tokenizer = load_model(model.path, cfg.model.dtype, cfg.model.trust_remote_code)
        task = ToyTask(cfg.toy)
        forced = toy_teacher_forcing(hf_model, tokenizer, task)
        n = cfg.eval.n_samples
        rows = []
        for t_eval in tqdm(temperatures, desc=f"eval {label} seed={seed}", leave=False):
            rule = replace(decoder, temperature=t_eval)
            exact = toy_exact_pass(forced, task, rule)
            correct = _sampled_pass(cfg, hf_model, tokenizer, task, rule, seed)
            rows.append(
                {
                    "t_eval": t_eval,
                    "pass@1": float(exact.mean()),
                    "pass@1_ci95": list(bootstrap_ci(exact, seed=seed)),
                    "pass@1_per_problem": exact.tolist(),
                    "sampled": {
                        f"pass@{k}": float(np.mean([pass_at_k(n, int(c), k) for c in correct]))
                        for k in cfg.eval.k
                    },
                    "n_correct_per_problem": correct.tolist(),
                }
            )
        result = {
            "label": label,
            "decoder": decoder.as_dict(),
            "rows": rows,
            **toy_diagnostics(forced, task),
        }
        atomic_write_json(out / "results.json", result)
        best = max(rows, key=lambda r: r["pass@1"])
        return {"best_t_eval": best["t_eval"], "best_pass@1": best["pass@1"]}

    return run_stage(cfg.paths.cache_dir, "evaluate", spec, {"model": model.key}, compute)
