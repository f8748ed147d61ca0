"""The benchmark table: `eval.benchmark.name` -> the module that knows that benchmark.

Every consumer (evaluation, validation, preflight, the contamination guard, `ssd grade`, reports)
asks `benchmark_of(name)` for a `BenchmarkSpec` (ssd/codeeval/benchmarks/base.py) and never tests a
name itself. Adding a benchmark is one module here plus one line in this table and one in
`ssd.config.choices.Benchmark` (the README's "Add a benchmark" walks through it). Importing this
imports no torch.
"""

from __future__ import annotations

from ssd.codeeval.benchmarks import humaneval, humaneval_plus, lcb, mbpp, mbpp_plus, tinycode, toy
from ssd.codeeval.benchmarks.base import BenchmarkSpec, CodeBenchmark
from ssd.config.choices import Benchmark

BENCHMARKS: dict[Benchmark, BenchmarkSpec] = {
    Benchmark.toy: toy.TOY,
    Benchmark.lcb: lcb.LCB,
    Benchmark.humaneval: humaneval.HUMANEVAL,
    Benchmark.jsonl: lcb.JSONL,
    Benchmark.tinycode: tinycode.TINYCODE,
    Benchmark.mbpp: mbpp.MBPP,
    Benchmark.mbpp_sanitized: mbpp.MBPP_SANITIZED,
    Benchmark.humaneval_plus: humaneval_plus.HUMANEVAL_PLUS,
    Benchmark.mbpp_plus: mbpp_plus.MBPP_PLUS,
}

__all__ = ["BENCHMARKS", "BenchmarkSpec", "CodeBenchmark", "benchmark_of", "gradeable"]


def benchmark_of(name: str | Benchmark) -> BenchmarkSpec:
    """The spec of `eval.benchmark.name` (ValueError naming the allowed values otherwise)."""
    try:
        return BENCHMARKS[Benchmark(str(name))]
    except ValueError:
        allowed = ", ".join(b.value for b in BENCHMARKS)
        raise ValueError(f"eval.benchmark.name={name!r}: not one of {allowed}") from None


def gradeable() -> dict[str, CodeBenchmark]:
    """The benchmarks `ssd grade` can grade a samples file against, by name."""
    return {b.value: spec for b, spec in BENCHMARKS.items() if spec.id_key is not None}
