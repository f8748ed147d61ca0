"""The contamination guard: refuse, before compute, a prompt pool that holds evaluation problems.

SSD trains on the model's own samples for every prompt of the pool; a pool that contains the
benchmark's problems (rStar-Coder and LiveCodeBench share contest sources) turns the reported
pass@1 into a measure of memorising the test set. Public SSD pipelines have done so by accident;
here the run stops unless `data.allow_eval_overlap=true` says it is meant. The match is on
normalised text (case and whitespace runs ignored), which catches copies, not paraphrases.

The toy language is the one pool that names the evaluated instances by design (the paper's toy
fits its student on the states it is scored on), so `allow_eval_overlap=None` allows it there
and nowhere else. The benchmark's spec (ssd/codeeval/benchmarks) gives its problems' statements.
No torch here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ssd.codeeval.benchmarks import benchmark_of
from ssd.config.schema import BenchmarkConfig, ConfigError, DataConfig, ToyTaskConfig
from ssd.generation.prompts import Prompt


def normalise(text: str) -> str:
    """The comparison key: lower case, whitespace runs collapsed, ends stripped."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Overlap:
    """Which pool prompts repeat an evaluation problem's text, and whether that was allowed."""

    n_prompts: int
    n_problems: int
    pairs: tuple[tuple[str, str], ...]  # (prompt id, problem id), in pool order
    allowed: bool

    @property
    def n_shared_problems(self) -> int:
        return len({problem for _, problem in self.pairs})

    def to_json(self) -> dict:
        return {
            "n_prompts": self.n_prompts,
            "n_problems": self.n_problems,
            "n_overlapping_prompts": len(self.pairs),
            "n_shared_problems": self.n_shared_problems,
            "allowed": self.allowed,
            "match": "normalised text (case, whitespace)",
        }


def find_overlap(prompts: Iterable[Prompt], problems: Mapping[str, str]) -> list[tuple[str, str]]:
    """(prompt id, problem id) for every prompt whose question equals a problem's statement.

    Args:
        prompts: the SSD prompt pool.
        problems: problem id -> the statement the model is shown when evaluated.
    """
    by_text = {normalise(text): problem_id for problem_id, text in problems.items()}
    hits = ((p.id, by_text.get(normalise(p.question))) for p in prompts)
    return [(prompt_id, problem_id) for prompt_id, problem_id in hits if problem_id is not None]


def evaluation_questions(bench: BenchmarkConfig, toy: ToyTaskConfig) -> dict[str, str]:
    """Problem id -> statement for the problems `eval.benchmark` scores (a snapshot that does
    not match `expected_problems` stops here, not after training)."""
    return benchmark_of(bench.name).questions(bench, toy)


def check_pool(
    prompts: list[Prompt], data: DataConfig, bench: BenchmarkConfig, toy: ToyTaskConfig
) -> Overlap:
    """The pool's overlap with the evaluation set; raises ConfigError unless it is allowed.

    Raises:
        ConfigError: one line naming the pool, the benchmark, how many problems they share, an
            example pair and the override that allows it.
    """
    problems = evaluation_questions(bench, toy)
    pairs = tuple(find_overlap(prompts, problems))
    allowed = data.allow_eval_overlap
    if allowed is None:
        allowed = data.kind == "toy" and benchmark_of(bench.name).toy_language
    overlap = Overlap(len(prompts), len(problems), pairs, bool(allowed))
    if pairs and not overlap.allowed:
        prompt_id, problem_id = pairs[0]
        raise ConfigError(
            f"data={data.name} shares {overlap.n_shared_problems} of {len(problems)} evaluation "
            f"problems with eval.benchmark.name={bench.name} ({len(pairs)} of {len(prompts)} "
            f"prompts, e.g. prompt {prompt_id!r} = problem {problem_id!r}): training on them "
            "inflates pass@1; use a disjoint pool or set data.allow_eval_overlap=true"
        )
    return overlap
