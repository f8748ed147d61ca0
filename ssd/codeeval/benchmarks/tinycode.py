"""Tiny-code tasks (`eval.benchmark.name=tinycode`): compose 1-3 integer operations on `x`, stated
in English, graded by asserts.

`make_problems(n, seed)` gives HumanEval-style `Problem`s (testtype "check": prompt = def line +
docstring, the completion is the body, hidden `check(f)` asserts); `make_pool(n, seed, exclude)`
gives prompts for SSD with no spec shared with `exclude`. `solutions(task)` writes each valid style
(one expression, a temp variable, in-place updates): the forks; operators and constants: the locks.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from ssd.codeeval.benchmarks.base import CodeBenchmark
from ssd.codeeval.problem import Problem
from ssd.config.schema import BenchmarkConfig

DIFFICULTY = {1: "easy", 2: "medium", 3: "hard"}
TEST_INPUTS = (-7, -2, 0, 1, 3, 10, 25)  # the hidden test arguments
STYLES = ("expression", "temp", "inplace")
# op name -> (English, python binary operator or None for unary ops, takes a constant)
OPS: dict[str, tuple[str, str | None, bool]] = {
    "add": ("add {n}", "+", True),
    "sub": ("subtract {n}", "-", True),
    "mul": ("multiply by {n}", "*", True),
    "mod": ("take it modulo {n}", "%", True),
    "div": ("integer-divide by {n}", "//", True),
    "square": ("square it", None, False),
    "neg": ("negate it", None, False),
}


@dataclass(frozen=True)
class Step:
    """One operation; `n` is its constant (unary ops: 0)."""

    op: str
    n: int = 0


@dataclass(frozen=True)
class Task:
    """A composition of steps applied to the argument x, in order."""

    steps: tuple[Step, ...]

    @property
    def difficulty(self) -> str:
        return DIFFICULTY[len(self.steps)]


def spec(task: Task) -> str:
    """The English statement, e.g. 'Take x, multiply by 3, then add 2, and return the result.'"""
    phrases = [OPS[s.op][0].format(n=s.n) for s in task.steps]
    body = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + ", then " + phrases[-1]
    return f"Take x, {body}, and return the result."


def prompt_text(task: Task) -> str:
    """What the model reads and the graded program starts with: def line and docstring."""
    return f'def f(x):\n    """{spec(task)}"""\n'


def _apply(expr: str, step: Step, nested: bool) -> str:
    """`expr` with one step applied, parenthesised when it is already compound."""
    inner = f"({expr})" if nested else expr
    if step.op == "square":
        return f"{inner} * {inner}" if not nested else f"{inner} ** 2"
    if step.op == "neg":
        return f"-{inner}"
    return f"{inner} {OPS[step.op][1]} {step.n}"


def solution(task: Task, style: str) -> str:
    """The function body in one style; every style computes the same values."""
    if style == "expression":
        expr = "x"
        for i, step in enumerate(task.steps):
            expr = _apply(expr, step, nested=i > 0)
        return f"    return {expr}\n"
    var = "y" if style == "temp" else "x"
    lines = ["    y = x"] if style == "temp" else []
    for step in task.steps:
        if step.op in ("square", "neg"):
            lines.append(f"    {var} = {_apply(var, step, nested=False)}")
        elif style == "inplace":
            lines.append(f"    {var} {OPS[step.op][1]}= {step.n}")
        else:
            lines.append(f"    {var} = {_apply(var, step, nested=False)}")
    return "\n".join([*lines, f"    return {var}"]) + "\n"


def _step_value(step: Step, v: int) -> int:
    if step.op == "square":
        return v * v
    if step.op == "neg":
        return -v
    n = step.n
    return {"add": v + n, "sub": v - n, "mul": v * n, "mod": v % n, "div": v // n}[step.op]


def evaluate(task: Task, x: int) -> int:
    """The reference value f(x), computed directly (not through generated code)."""
    for step in task.steps:
        x = _step_value(step, x)
    return x


def check_code(task: Task) -> str:
    """The hidden test: `check(f)` asserting f on every TEST_INPUTS value."""
    lines = [f"    assert candidate({x}) == {evaluate(task, x)}" for x in TEST_INPUTS]
    return "def check(candidate):\n" + "\n".join(lines) + "\n"


def random_task(rng: random.Random, n_steps: int) -> Task:
    """Steps drawn uniformly; constants 2..9 (mod/div by 1 would be degenerate)."""
    steps = []
    for _ in range(n_steps):
        op = rng.choice(list(OPS))
        steps.append(Step(op, rng.randint(2, 9) if OPS[op][2] else 0))
    return Task(tuple(steps))


def _unique_tasks(
    n: int, seed: int, exclude: Iterable[str] = (), caps: dict[int, int] | None = None
) -> list[Task]:
    """n distinct tasks, 1/2/3 steps in turn, none whose normalised spec is in `exclude`.

    A step count that reaches its cap in `caps`, or whose specs run out (1 step has only 42), is
    dropped from the rotation, so a large set is mostly medium and hard.
    """
    rng, seen, tasks = random.Random(seed), {normalize(s) for s in exclude}, []
    cycle, misses, drawn = [1, 2, 3], 0, dict.fromkeys((1, 2, 3), 0)
    caps = caps or {}
    while len(tasks) < n:
        if not cycle:
            raise ValueError(f"cannot draw {n} distinct tiny-code tasks (seed {seed})")
        steps = cycle[len(tasks) % len(cycle)]
        task = random_task(rng, steps)
        key = normalize(spec(task))
        if key in seen:
            misses += 1
            if misses > 500:  # this step count is exhausted
                cycle.remove(steps)
                misses = 0
            continue
        seen.add(key)
        tasks.append(task)
        drawn[steps] += 1
        misses = 0
        if drawn[steps] == caps.get(steps):
            cycle.remove(steps)
    return tasks


def normalize(text: str) -> str:
    """The disjointness key: whitespace runs collapsed (as ssd.data.normalize_question)."""
    return " ".join(text.split())


def to_problem(task: Task, pid: str) -> Problem:
    """A HumanEval-style Problem: the graded program is prompt + completion + check(f)."""
    return Problem(
        id=pid,
        question=prompt_text(task),
        difficulty=task.difficulty,
        testtype="check",
        metadata={
            "test": check_code(task),
            "entry_point": "f",
            "spec": spec(task),
            "steps": [[s.op, s.n] for s in task.steps],  # the task itself, JSON-friendly
        },
    )


def task_of(problem: Problem) -> Task:
    """The task a tinycode Problem was made from."""
    return Task(tuple(Step(op, n) for op, n in problem.metadata["steps"]))


def make_problems(n: int, seed: int, max_easy: int | None = None) -> list[Problem]:
    """The evaluation set: n tasks, easy/medium/hard in turn until `max_easy` one-step tasks are
    drawn, then medium/hard (deterministic in seed)."""
    tasks = _unique_tasks(n, seed, caps={1: max_easy} if max_easy else None)
    return [to_problem(t, f"tinycode/{i}") for i, t in enumerate(tasks)]


def make_tasks(n: int, seed: int, exclude: Iterable[str]) -> list[Task]:
    """Distinct tasks for the SSD pool, none sharing a normalised spec with `exclude`."""
    return _unique_tasks(n, seed, exclude)


def sample_tasks(n: int, seed: int, exclude: Iterable[str]) -> list[Task]:
    """n tasks drawn with replacement (the pretraining corpus), never one in `exclude`."""
    rng, banned, tasks = random.Random(seed), {normalize(s) for s in exclude}, []
    while len(tasks) < n:
        task = random_task(rng, rng.choice((1, 2, 3)))
        if normalize(spec(task)) not in banned:
            tasks.append(task)
    return tasks


# The fixed release: like a benchmark version, the problem set is a constant, so the eval stage's
# cache key (which hashes eval.benchmark) names it exactly; the pool is data.limit-capped.
# 144 problems: 24 easy, 60 medium, 60 hard. A run's eval.selection=validation splits them into
# 48 that choose T_eval (and checkpoints) and 96 that are reported. Only 42 one-step specs exist:
# holding out at most 24 leaves 18 for pretraining and the SSD pool.
EVAL_PROBLEMS = 144
EVAL_MAX_EASY = 24
EVAL_SEED = 1
POOL_SIZE = 2048  # most are medium/hard (few one-step specs are left); data.limit takes a prefix
POOL_SEED = 2  # a different stream from EVAL_SEED, and eval specs excluded on top


def eval_problems() -> list[Problem]:
    """The whole release (both splits), in its fixed order."""
    return make_problems(EVAL_PROBLEMS, EVAL_SEED, EVAL_MAX_EASY)


def load_tinycode(difficulty: Iterable[str] | None = None) -> list[Problem]:
    """The tinycode benchmark (eval.benchmark.name=tinycode), optionally one difficulty."""
    problems = eval_problems()
    keep = {str(getattr(d, "value", d)) for d in difficulty} if difficulty else None
    return [p for p in problems if keep is None or p.difficulty in keep]


def pool_texts() -> list[tuple[str, str]]:
    """(id, prompt text) of the SSD prompt pool (data.kind=tinycode): no spec of the benchmark."""
    exclude = [p.metadata["spec"] for p in eval_problems()]
    tasks = make_tasks(POOL_SIZE, POOL_SEED, exclude)
    return [(f"tinycode-pool/{i}", prompt_text(t)) for i, t in enumerate(tasks)]


def _load(bench: BenchmarkConfig) -> list[Problem]:
    return load_tinycode(bench.difficulty)


# Generated, so no files and no hub: the release constants above name the problem set.
TINYCODE = CodeBenchmark("tinycode", _load, "task_id", True, default_timeout_s=3.0)
