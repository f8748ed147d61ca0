"""The toy's evaluation: exact pass@1 by teacher forcing, pass@k from samples.

On the toy, pass@1 is EXACT: the sum over every valid sequence of its probability under the
decoding rule, read off one teacher-forced pass. Sampled pass@k draws `n_samples` completions per
problem through the same sampler SSD uses (`make_sampler`: any backend, its settings included).
The toy benchmark's spec (ssd/codeeval/benchmarks/toy.py) calls `evaluate_toy(request)`. The
lock/fork diagnostics are the analyze stage's (ssd/stages/analyze.py), not computed here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ssd.generation.decoding import Decoder
from ssd.generation.prompts import Prompt
from ssd.generation.sampler import Generation, generate_rows, make_sampler
from ssd.metrics import bootstrap_ci, pass_at_k
from ssd.models import load_model
from ssd.results import EvalRequest, EvalResult, EvalRow
from ssd.toy.task import ToyTask


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
    """Logits at every position of every valid sequence, and the tokens that sequence holds."""
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
    return {"logits": logits, "targets": ids[:, 1:]}


def toy_exact_pass(forced: dict[str, Any], task: ToyTask, decoder: Decoder) -> np.ndarray:
    """Exact P(pass) per instance: sum over valid sequences of the product of decoded probs."""
    probs = decoder.probs(forced["logits"])
    chosen = probs.gather(-1, forced["targets"].unsqueeze(-1)).squeeze(-1)
    per_sequence = chosen.double().prod(-1).numpy()
    per_instance = np.zeros(task.cfg.n_instances)
    for (instance, _), p in zip(task.valid_sequences, per_sequence, strict=True):
        per_instance[instance] += p
    return per_instance


def sampled_pass(
    sampler: tuple[Any, Any],
    task: ToyTask,
    decoder: Decoder,
    generation: Generation,
    n_samples: int,
    max_new_tokens: int,
    seed: int,
) -> np.ndarray:
    """Correct counts per instance from `n_samples` samples through `make_sampler`'s backend."""
    backend, tokenizer = sampler
    prompts = [Prompt(f"eval-{i}", f"P{i}", instance=i) for i in range(task.cfg.n_instances)]
    rows = generate_rows(
        backend, tokenizer, prompts, generation, decoder, n_samples, max_new_tokens, seed
    )
    outcome_of = _outcome_of_token(tokenizer, task)
    correct = np.zeros(task.cfg.n_instances, dtype=int)
    for row in rows:
        outcomes = [outcome_of.get(t, -1) for t in row["completion_ids"]]
        correct[row["instance"]] += task.passes(row["instance"], outcomes)
    return correct


def evaluate_toy(request: EvalRequest) -> EvalResult:
    """The evaluate stage's result for the toy: one row per T_eval."""
    model, generation, settings, seed = (
        request.model,
        request.generation,
        request.settings,
        request.seed,
    )
    m = generation.model
    hf_model, tokenizer = load_model(model.path, m.dtype, m.trust_remote_code)
    sampler = make_sampler(generation, model.path)
    task = ToyTask(request.task)
    forced = toy_teacher_forcing(hf_model, tokenizer, task)
    n = settings.n_samples
    rows = []
    for t_eval in tqdm(request.temperatures, desc=f"eval {request.label} seed={seed}", leave=False):
        rule = replace(request.decoder, temperature=t_eval)
        exact = toy_exact_pass(forced, task, rule)
        correct = sampled_pass(sampler, task, rule, generation, n, settings.max_new_tokens, seed)
        rows.append(
            EvalRow(
                t_eval=t_eval,
                pass_at_1=float(exact.mean()),
                pass_at_1_ci95=bootstrap_ci(exact, seed=seed),
                pass_at_1_per_problem=exact.tolist(),
                n_correct_per_problem=correct.tolist(),
                sampled={
                    f"pass@{k}": float(np.mean([pass_at_k(n, int(c), k) for c in correct]))
                    for k in settings.k
                },
            )
        )
    return EvalResult(label=request.label, decoder=request.decoder.as_dict(), rows=rows)
