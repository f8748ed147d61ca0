"""Evaluation on code benchmarks: sample `eval.n_samples` programs per problem, grade them in the sandbox.

`evaluate_code(spec, request)` is what every sandbox-graded benchmark's spec
(ssd/codeeval/benchmarks/base.py::CodeBenchmark) runs for the evaluate stage. Its rows are the toy's
`EvalRow`s (ssd/results.py; pass@1 is then the unbiased estimate, not an exact sum) plus
per-difficulty pass@k and failure fractions, and the result's `benchmark` block holds everything
needed to reproduce the grading: grader mode, problem-id hash, data-file hashes, tests used,
extraction rule, isolation level. A loaded problem set that does not match
`eval.benchmark.expected_problems` / `expected_difficulty` stops the run (ConfigError).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from ssd.artifacts import write_jsonl
from ssd.cache import identity
from ssd.codeeval.benchmarks import CodeBenchmark, benchmark_of
from ssd.codeeval.grading import Verdict, grade_many
from ssd.codeeval.problem import Problem, ids_sha256
from ssd.codeeval.rules import GradingRules, rules_for
from ssd.codeeval.summary import summarize
from ssd.config.schema import BenchmarkConfig, ConfigError, EvalConfig
from ssd.generation.prompts import Prompt
from ssd.generation.sampler import generate_rows, make_sampler
from ssd.results import EvalRequest, EvalResult, EvalRow
from ssd.sandbox.execution import isolation_info


def load_benchmark(bench: BenchmarkConfig) -> list[Problem]:
    """The problems named by `eval.benchmark`, every test included (the grader's rules select)."""
    return benchmark_of(bench.name).load(bench)


def grading_rules(bench: BenchmarkConfig) -> GradingRules:
    """`eval.benchmark.grader`'s rules, with `tests` and `extract` where they are set; a
    benchmark whose completion continues the prompt grades it as is (extraction none)."""
    spec = benchmark_of(bench.name)
    return rules_for(bench.grader, spec.completes_prompt, bench.tests, bench.extract)


def check_expected(bench: BenchmarkConfig, problems: list[Problem]) -> None:
    """Stop before compute when the loaded problem set is not the one the config expects (a
    different dataset snapshot or window would make pass@1 incomparable to the paper's)."""
    found = len(problems)
    if bench.expected_problems is not None and found != bench.expected_problems:
        raise ConfigError(
            f"eval.benchmark.expected_problems: loaded {found} problems, expected "
            f"{bench.expected_problems}"
        )
    if bench.expected_difficulty is not None:
        counts = dict(Counter(p.difficulty for p in problems))
        want = dict(bench.expected_difficulty)
        if counts != want:
            raise ConfigError(
                f"eval.benchmark.expected_difficulty: loaded {counts}, expected {want}"
            )


def problem_prompt(problem: Problem) -> Prompt:
    """What the model reads: the statement and starter code (rendered per data.prompt)."""
    return Prompt(problem.id, problem.question, problem.starter_code)


def _grade_rows(
    rows: list[dict[str, Any]],
    problems: dict[str, Problem],
    bench: Any,
    known: dict[tuple[str, str | None], Verdict] | None = None,
) -> tuple[list[str | None], list[Verdict]]:
    """Extract and grade every row's program; identical programs of one problem are graded once.

    A sampled program's verdict is a function of the program and the problem's tests (graders
    give it no other input), so duplicates, common at low T_eval, share one sandbox run: about
    half of a tinycode run's samples are repeats. `known` carries verdicts across calls (one
    evaluation's T_eval points) and is updated with the new ones.
    """
    rules = grading_rules(bench)
    known = {} if known is None else known
    codes = [rules.extract_code(row["completion"]) for row in rows]
    pairs = [(row["prompt_id"], code) for row, code in zip(rows, codes, strict=True)]
    todo = [pair for pair in dict.fromkeys(pairs) if pair not in known]
    verdicts = grade_many(
        [(problems[pid], code) for pid, code in todo],
        bench.timeout_s,
        bench.memory_mb,
        bench.isolation,
        bench.workers,
        rules=rules,
    )
    known.update(zip(todo, verdicts, strict=True))
    return codes, [known[pair] for pair in pairs]


def _row(
    t_eval: float,
    summary: dict[str, Any],
    correct: list[int],
    settings: EvalConfig,
    problems: list[Problem],
) -> EvalRow:
    """One T_eval's row from the grading summary (ssd/codeeval/summary.py) and correct counts."""
    return EvalRow(
        t_eval=t_eval,
        pass_at_1=summary["pass@k"]["pass@1"],
        pass_at_1_ci95=tuple(summary["pass@k_ci95"]["pass@1"]),
        pass_at_1_per_problem=[c / settings.n_samples for c in correct],
        n_correct_per_problem=correct,
        sampled={k: v for k, v in summary["pass@k"].items() if int(k.split("@")[1]) in settings.k},
        by_difficulty=summary.get("by_difficulty", {}),
        fractions=summary["fractions"],
        # kept per problem so a validation split can report levels on its own problems
        difficulty_per_problem=[p.difficulty for p in problems]
        if any(p.difficulty for p in problems)
        else None,
    )


def _benchmark_block(bench: BenchmarkConfig, problems: list[Problem]) -> dict[str, Any]:
    """What was scored and how: enough to know two results are comparable."""
    rules = grading_rules(bench)
    return {
        **identity(bench, drop=frozenset()),
        "n_problems": len(problems),
        "problem_ids_sha256": ids_sha256(problems),
        "files_sha256": benchmark_of(bench.name).data_files(bench),
        "grader": str(bench.grader.value),
        "tests_graded": rules.tests,
        "extraction": rules.extract,
        "estimator": "unbiased pass@k, 1 - C(n-c,k)/C(n,k), 95% bootstrap CI over problems",
        "isolation": isolation_info(bench.isolation),
    }


def _record(
    t_eval: float,
    rows: list[dict[str, Any]],
    codes: list[str | None],
    verdicts: list[Verdict],
    problems: list[Problem],
    settings: EvalConfig,
    out: Any,
) -> EvalRow:
    """One T_eval's samples with their verdicts on disk, and its row."""
    for row, code, verdict in zip(rows, codes, verdicts, strict=True):
        row.update(
            {
                "code": code,
                "passed": verdict.passed,
                "status": verdict.status,
                "reason": verdict.reason,
            }
        )
    write_jsonl(out / f"samples_t{t_eval:g}.jsonl", rows)
    summary = summarize(problems, [r["prompt_id"] for r in rows], verdicts)
    correct = [sum(r["passed"] for r in rows if r["prompt_id"] == p.id) for p in problems]
    return _row(t_eval, summary, correct, settings, problems)


def evaluate_code(spec: CodeBenchmark, request: EvalRequest) -> EvalResult:
    """Generate, grade and summarize at each T_eval; per-sample verdicts land in `request.out`."""
    settings, generation, seed = request.settings, request.generation, request.seed
    bench = settings.benchmark
    problems = spec.load(bench)
    check_expected(bench, problems)  # before the model loads
    backend, tokenizer = make_sampler(generation, request.model.path)
    by_id = {p.id: p for p in problems}
    prompts = [problem_prompt(p) for p in problems]
    # Grading T_eval i runs in a thread (its sandbox workers in their own processes) while the
    # model generates T_eval i+1: the two use different cores. Verdicts are shared across points.
    known: dict[tuple[str, str | None], Verdict] = {}
    graded = []
    with ThreadPoolExecutor(1, thread_name_prefix="grading") as grader:
        for t_eval in request.temperatures:
            rule = replace(request.decoder, temperature=t_eval)
            rows = generate_rows(
                backend, tokenizer, prompts, generation, rule, settings.n_samples,
                settings.max_new_tokens, seed, progress=f"eval T={t_eval}",
            )  # fmt: skip
            graded.append((t_eval, rows, grader.submit(_grade_rows, rows, by_id, bench, known)))
        rows_out = [
            _record(t_eval, rows, *future.result(), problems, settings, request.out)
            for t_eval, rows, future in graded
        ]
    decoder = request.decoder.as_dict()
    return EvalResult(request.label, decoder, rows_out, _benchmark_block(bench, problems))
