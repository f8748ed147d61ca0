"""What a benchmark is to the rest of the project: the `BenchmarkSpec` protocol, and `CodeBenchmark`.

Evaluation, validation, preflight, the contamination guard, `ssd grade` and the reports ask a
benchmark's spec (found through the one table in `ssd.codeeval.benchmarks`) instead of testing its
name. `CodeBenchmark` is the spec of every sandbox-graded benchmark: a module fills in how its
problems load, where they come from and how its name prints; evaluation is the shared code
evaluator. The toy (ssd/codeeval/benchmarks/toy.py) implements the protocol its own way: its pass@1
is exact. Nothing here imports torch; evaluators are imported when called.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ssd.codeeval.problem import Problem
from ssd.config.schema import BenchmarkConfig, require
from ssd.results import EvalRequest


class BenchmarkSpec(Protocol):
    """One benchmark, as every consumer sees it.

    Attributes:
        id_key: The samples-file field naming a problem in `ssd grade` (None: not gradeable there).
        completes_prompt: The completion continues the prompt's code (HumanEval style: graded as
            is, extraction "none"); else the answer is a program in fenced blocks (LCB style).
        analyze_by_default: `analyze.enabled=null` runs the fork/lock analysis.
        default_timeout_s: `ssd grade`'s time limit when `--timeout` is not given.
        toy_language: The problems are instances of the toy language: only the toy model speaks
            it, and only the toy pool names its instances (by design, so no contamination).
    """

    id_key: str | None
    completes_prompt: bool
    analyze_by_default: bool
    default_timeout_s: float
    toy_language: bool

    def label(self, bench: Mapping[str, Any]) -> str:
        """How a result's benchmark block prints in reports (e.g. `lcb/v6`)."""
        ...

    def check(self, cfg: Any) -> None:
        """Validation before compute (ConfigError, one line): paths, windows, companion settings."""
        ...

    def hub_dataset(self, bench: BenchmarkConfig) -> str | None:
        """The hub dataset a run downloads (None: bundled or local): checked by preflight."""
        ...

    def task_settings(self, config: Any) -> Any:
        """The config slice beyond `eval` that defines the problems (the toy's language), or None.
        Part of the evaluate stage's key."""
        ...

    def questions(self, bench: BenchmarkConfig, task: Any) -> dict[str, str]:
        """Problem id -> the statement the model is shown (the contamination guard's input)."""
        ...

    def evaluate(self, request: Any) -> Any:
        """Score one model over a T_eval grid: an `EvalRequest` in, an `EvalResult` out."""
        ...

    def problem_record(self, settings: Any, task: Any, result: Any) -> dict[str, Any]:
        """What was scored and how, for results.json's problem_set (the evaluator's own record)."""
        ...


def jsonl_rows(path: Path, error: type[ValueError]) -> Iterator[tuple[str, object]]:
    """("file:line", parsed row) for each non-blank line of a .jsonl or .jsonl.gz; a line that
    is not JSON raises `error` naming file and line (every benchmark's loader reads rows so)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as stream:
        for lineno, line in enumerate(stream, 1):
            if line.strip():
                try:
                    yield f"{path}:{lineno}", json.loads(line)
                except json.JSONDecodeError as exc:
                    raise error(f"{path}:{lineno}: not JSON: {exc}") from exc


def hub_rows(
    dataset: str, config: str | None = None, split: str = "test"
) -> Iterator[tuple[str, dict]]:  # pragma: no cover - needs the Hugging Face hub
    """("hf:dataset[/config][i]", row) of a hub dataset's split, read with `datasets`."""
    from datasets import load_dataset  # lazy: seconds to import, needed only for the hub

    name = f"{dataset}/{config}" if config else dataset
    for i, row in enumerate(load_dataset(dataset, config, split=split)):
        yield f"hf:{name}[{i}]", dict(row)


def files_sha256(files: list[Path]) -> dict[str, str]:
    """sha256 of each file by path: names the exact data graded (two "test6.jsonl" may differ)."""
    out = {}
    for file in files:
        digest = hashlib.sha256()
        with open(file, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        out[str(file)] = digest.hexdigest()
    return out


@dataclass(frozen=True)
class CodeBenchmark:
    """The spec of a sandbox-graded code benchmark; a module supplies what differs.

    Attributes:
        name: The `eval.benchmark.name` value.
        load: `eval.benchmark` -> problems, every test included (the grader's rules select).
        id_key: Samples-file id field for `ssd grade`.
        completes_prompt: See `BenchmarkSpec`.
        hub: The hub dataset read when `eval.benchmark.path` is unset (None: bundled).
        needs_path: `eval.benchmark.path` is required (a local file is the only source).
        files: `eval.benchmark` -> the local files read (their hashes go into every result);
            None: `eval.benchmark.path` itself, one file.
        versioned: `eval.benchmark.version` picks a release window, so reports print it.
        default_timeout_s: See `BenchmarkSpec`.
    """

    name: str
    load: Callable[[BenchmarkConfig], list[Problem]]
    id_key: str
    completes_prompt: bool
    hub: str | None = None
    needs_path: bool = False
    files: Callable[[BenchmarkConfig], list[Path]] | None = None
    versioned: bool = False
    default_timeout_s: float = 6.0
    analyze_by_default: bool = False
    toy_language: bool = False

    def label(self, bench: Mapping[str, Any]) -> str:
        return f"{self.name}/{bench.get('version', 'v6')}" if self.versioned else self.name

    def check(self, cfg: Any) -> None:
        bench = cfg.eval.benchmark
        custom_window = bench.version != "custom" or bool(bench.start and bench.end)
        require(
            custom_window, "eval.benchmark.start", bench.start, "version=custom needs start and end"
        )
        if self.needs_path or bench.path:
            exists = bool(bench.path) and Path(bench.path).expanduser().exists()
            require(exists, "eval.benchmark.path", bench.path, "an existing file")

    def hub_dataset(self, bench: BenchmarkConfig) -> str | None:
        return None if bench.path else self.hub

    def task_settings(self, config: Any) -> None:
        return None

    def questions(self, bench: BenchmarkConfig, task: Any) -> dict[str, str]:
        from ssd.codeeval.evaluate import check_expected  # lazy: the grader imports the sandbox

        problems = self.load(bench)
        check_expected(bench, problems)  # a wrong snapshot stops here, not after training
        return {problem.id: problem.question for problem in problems}

    def data_files(self, bench: BenchmarkConfig) -> dict[str, str]:
        """sha256 of the local files graded (none for a bundled or hub copy)."""
        if not bench.path:
            return {}
        return files_sha256(self.files(bench) if self.files else [Path(bench.path).expanduser()])

    def evaluate(self, request: EvalRequest) -> Any:
        from ssd.codeeval.evaluate import evaluate_code  # lazy: imports torch

        return evaluate_code(self, request)

    def problem_record(self, settings: Any, task: Any, result: Any) -> dict[str, Any]:
        return dict(result.benchmark)  # the code evaluator recorded ids hash, tests, extraction
