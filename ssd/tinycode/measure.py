"""Base pass@1 of a tiny code model per T_eval, through the project's hf backend and sandbox.

`pass_at_1(model_dir, problems, temperatures, n)` decodes n samples per problem at each T (eval
top-p 1, top-k 0), grades each distinct (problem, code) pair once and returns {T: pass@1}. Used by
pretrain.py for the manifest and the learning curve; the pipeline's own evaluate stage is the
reference for reported numbers.
"""

from __future__ import annotations

from pathlib import Path

from ssd.codeeval.grading import grade_many
from ssd.codeeval.problem import Problem
from ssd.generation.backends.base import GenerationRequest
from ssd.generation.backends.hf import HFBackend
from ssd.generation.decoding import Decoder
from ssd.models import load_model


def pass_at_1(
    model_dir: Path, problems: list[Problem], temperatures: list[float], n: int, seed: int = 0
) -> dict[float, float]:
    """Mean over problems of the share of n samples that pass, for each T_eval."""
    model, tokenizer = load_model(model_dir)
    backend = HFBackend(model, tokenizer, batch_size=256)
    requests = [GenerationRequest(p.id, tokenizer(p.question)["input_ids"]) for p in problems]
    by_id = {p.id: p for p in problems}
    drawn = {}
    for t in temperatures:
        done = backend.generate(requests, Decoder(t), n, 32, seed)
        drawn[t] = [
            (c.prompt_id, tokenizer.decode(c.completion_ids, skip_special_tokens=True))
            for c in done
        ]
    unique = sorted({pair for rows in drawn.values() for pair in rows})
    verdicts = grade_many([(by_id[pid], code) for pid, code in unique], progress=False)
    passed = {pair: v.passed for pair, v in zip(unique, verdicts, strict=True)}
    return {t: sum(passed[pair] for pair in rows) / len(rows) for t, rows in drawn.items()}
