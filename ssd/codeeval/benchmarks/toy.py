"""The fork/lock toy as a benchmark (`eval.benchmark.name=toy`): exact pass@1, no sandbox.

Its problems are the toy language's instances (`toy.*`), which only the toy model (stage `base`)
speaks and only the toy pool names; pass@1 is exact, by teacher forcing (ssd/toy/evaluate.py), and
pass@k is sampled. `TOY` is the spec the benchmark table maps the name to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ssd.config.schema import BenchmarkConfig, require
from ssd.results import EvalRequest


class ToyBenchmark:
    """`BenchmarkSpec` of the toy language."""

    id_key = None  # samples of the toy are token sequences, not programs: no `ssd grade`
    completes_prompt = True
    analyze_by_default = True
    default_timeout_s = 0.0
    toy_language = True

    def label(self, bench: Mapping[str, Any]) -> str:
        return "toy"

    def check(self, cfg: Any) -> None:
        t = cfg.toy
        needed = t.n_forks * (1 + t.locks_per_fork) + 1
        require(
            cfg.sampling.max_new_tokens >= needed and cfg.eval.max_new_tokens >= needed,
            "sampling.max_new_tokens",
            cfg.sampling.max_new_tokens,
            f"the toy's solutions need {needed} tokens (and eval.max_new_tokens too)",
        )
        require(
            cfg.eval.selection != "validation" or t.n_instances >= 2,
            "toy.n_instances",
            t.n_instances,
            "eval.selection=validation needs >= 2 problems (one per split at least)",
        )

    def hub_dataset(self, bench: BenchmarkConfig) -> None:
        return None

    def task_settings(self, config: Any) -> Any:
        return config.toy

    def questions(self, bench: BenchmarkConfig, task: Any) -> dict[str, str]:
        # ssd.toy.evaluate names instance i "P{i}", exactly as the toy pool does
        return {f"toy-{i}": f"P{i}" for i in range(task.n_instances)}

    def evaluate(self, request: EvalRequest) -> Any:
        from ssd.toy.evaluate import evaluate_toy  # lazy: imports torch

        return evaluate_toy(request)

    def problem_record(self, settings: Any, task: Any, result: Any) -> dict[str, Any]:
        ids = [f"toy-{i}" for i in range(task.n_instances)]
        return {
            "benchmark": "toy",
            "n_problems": len(ids),
            "ids_sha256": hashlib.sha256(json.dumps(sorted(ids)).encode()).hexdigest(),
            "prompts": [f"P{i}" for i in range(task.n_instances)],
            "extraction": "toy: completion tokens read one to one; passes iff every token is "
            "valid and the sequence ends with EOS at the solution's length",
            "pass@1": "exact: sum over all valid sequences of their probability under the decoder",
            "pass@k": f"unbiased estimator over eval.n_samples={settings.n_samples} samples per "
            "problem",
        }


TOY = ToyBenchmark()
