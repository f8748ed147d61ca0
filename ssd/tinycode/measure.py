"""Base pass@1 of a tiny code model per T_eval, measured by the pipeline's own evaluator.

`pass_at_1(model_dir, temperatures, n)` runs the tinycode benchmark's spec (the evaluate stage's
code path: hf sampling, raw prompts, extraction none, sandbox grading) with n samples per problem
at each T (eval top-p 1, top-k 0) and returns {T: pass@1}. Used by pretrain.py for the manifest
and the learning curve, so the manifest's numbers are the ones a run would report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ssd.artifacts import ModelRef
from ssd.codeeval.benchmarks import benchmark_of
from ssd.config.choices import Benchmark, ModelKind
from ssd.config.schema import BenchmarkConfig, EvalConfig, ModelConfig, PromptConfig
from ssd.generation.decoding import Decoder
from ssd.generation.sampler import Generation
from ssd.results import EvalRequest

MAX_NEW_TOKENS = 32  # the longest reference body is ~22 tokens


def pass_at_1(
    model_dir: Path, temperatures: list[float], n: int, seed: int = 0
) -> dict[float, float]:
    """Mean over the tinycode problems of the share of n samples that pass, for each T_eval."""
    spec = benchmark_of(Benchmark.tinycode)
    settings = EvalConfig(
        n_samples=n,
        k=[1],
        max_new_tokens=MAX_NEW_TOKENS,
        benchmark=BenchmarkConfig(name=Benchmark.tinycode),
    )
    model = ModelConfig(name="tinycode", kind=ModelKind.hf, path=str(model_dir))
    generation = Generation(model, PromptConfig(), batch_size=256)
    with tempfile.TemporaryDirectory() as out:
        request = EvalRequest(
            ModelRef(Path(model_dir), "measure"),
            Decoder(0.0),
            [float(t) for t in temperatures],
            seed,
            settings,
            generation,
            None,
            Path(out),
            "base",
        )
        result = spec.evaluate(request)
    return {row.t_eval: row.pass_at_1 for row in result.rows}
