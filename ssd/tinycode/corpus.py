"""The pretraining corpus of the tiny code model: tiny-code tasks with noisy, mixed-style solutions.

Noise is what keeps the base model's pass@1 well below 1 and its best T_eval interior: a trap share
of truncated one-liners (greedy falls in) and a lock-noise share of wrong constants or operators
(hurts at high T). `corpus(n, seed, trap, lock_noise, exclude)` returns (prompt, completion) text
pairs; `exclude` holds the evaluation specs, never drawn.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace

from ssd.codeeval.benchmarks.tinycode import (
    OPS,
    STYLES,
    Step,
    Task,
    prompt_text,
    sample_tasks,
    solution,
)

BINARY = [op for op, (_, _, has_n) in OPS.items() if has_n]


def drop_last(task: Task) -> Task:
    """The trap: the last step forgotten (1 step: `return x`)."""
    return Task(task.steps[:-1])


def wrong_constant(task: Task, rng: random.Random) -> Task:
    """One step's constant or operator changed: a plain lock error."""
    i = rng.randrange(len(task.steps))
    step = task.steps[i]
    if OPS[step.op][2] and rng.random() < 0.5:
        new = replace(step, n=rng.choice([n for n in range(2, 10) if n != step.n]))
    else:
        other = rng.choice([op for op in OPS if op != step.op])
        new = Step(other, step.n or rng.randint(2, 9)) if OPS[other][2] else Step(other)
    return Task(task.steps[:i] + (new,) + task.steps[i + 1 :])


def corpus(
    n: int, seed: int, trap: float, lock_noise: float, exclude: Iterable[str]
) -> list[tuple[str, str]]:
    """n (prompt, completion) pairs, none for a spec in `exclude` (the evaluation problems).

    A `trap` share are one-liners missing their last step: one-liners are then the most likely
    start and, after `return`, the truncated one the most likely: greedy decoding fails, as
    at the paper toy's trap fork. A `lock_noise` share (any style) has a wrong constant or
    operator: it costs more at high T. The rest are correct, in a uniform style.
    """
    rng = random.Random(seed + 1)
    pairs = []
    for task in sample_tasks(n, seed, exclude):
        u = rng.random()
        if u < trap:
            text = solution(drop_last(task), "expression")
        elif u < trap + lock_noise:
            text = solution(wrong_constant(task, rng), rng.choice(STYLES))
        else:
            text = solution(task, rng.choice(STYLES))
        pairs.append((prompt_text(task), text))
    return pairs
