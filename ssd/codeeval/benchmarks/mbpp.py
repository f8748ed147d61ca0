"""MBPP (Austin et al. 2021): benchmarks `mbpp` (the full release) and `mbpp_sanitized`.

`load_mbpp(path, sanitized)` reads a release as Google publishes it (google-research/mbpp):
`mbpp.jsonl`, one row a line with text, code, task_id, test_setup_code, test_list and
challenge_test_list; or `sanitized-mbpp.json`, one JSON array of rows with source_file, task_id,
prompt, code, test_imports and test_list. Without a path it reads the hub copy
(`google-research-datasets/mbpp`, configs full / sanitized, split test), same fields.

Matched: the test split is task_ids 11-510 (the README's "used for evaluation": 500 problems
full, 257 sanitized); a problem passes when its `test_list` asserts all hold after the answer,
with the setup code / test imports run first, as the paper's execution does. The statement is the
paper's prompt without its few-shot frame: the description, then "Your code should pass these
tests:" and the asserts (they name the function and its signature).
Differs: the answer is a fenced code block (the grader mode's extraction), not text between
[BEGIN] and [DONE]; the challenge tests are kept in metadata but not graded (as the paper's
numbers); the whole program has one time limit (`eval.benchmark.timeout_s`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ssd.codeeval.benchmarks.base import CodeBenchmark, hub_rows, jsonl_rows
from ssd.codeeval.problem import Problem
from ssd.config.schema import BenchmarkConfig

HF_DATASET = "google-research-datasets/mbpp"
TEST_IDS = range(11, 511)  # the README's evaluation split: task_ids 11-510
FULL = ("text", "code", "task_id", "test_setup_code", "test_list", "challenge_test_list")
SANITIZED = ("source_file", "task_id", "prompt", "code", "test_imports", "test_list")


class MBPPFormatError(ValueError):
    """A row that does not follow the published schema; says where it is."""


def iter_array(path: Path) -> Iterator[tuple[str, object]]:
    """("file:line [row i]", row) for each element of a JSON array such as `sanitized-mbpp.json`
    (Google's copy is one line, so the row index says which)."""
    text = Path(path).read_text(encoding="utf-8")
    decoder, pos = json.JSONDecoder(), _skip(text, 0)
    try:
        if text[pos : pos + 1] != "[":
            raise ValueError("expected a JSON array")
        pos, i = _skip(text, pos + 1), 0
        while text[pos : pos + 1] != "]":
            row, end = decoder.raw_decode(text, pos)
            yield f"{path}:{text.count(chr(10), 0, pos) + 1} [row {i}]", row
            pos, i = _skip(text, end), i + 1
            if text[pos : pos + 1] == ",":
                pos = _skip(text, pos + 1)
            elif text[pos : pos + 1] != "]":
                raise ValueError("expected ',' or ']'")
    except ValueError as exc:  # JSONDecodeError included
        raise MBPPFormatError(f"{path}:{text.count(chr(10), 0, pos) + 1}: not JSON: {exc}") from exc


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _strings(row: dict, key: str, where: str) -> list[str]:
    value = row[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MBPPFormatError(f"{where}: {key} must be a list of strings")
    return value


def parse_row(row: object, where: str, sanitized: bool) -> Problem:
    """One published row -> Problem (testtype "check": the answer, then setup and asserts).

    Raises:
        MBPPFormatError: A field is missing or of the wrong type.
    """
    if not isinstance(row, dict):
        raise MBPPFormatError(f"{where}: expected a JSON object, got {type(row).__name__}")
    required = SANITIZED if sanitized else FULL
    missing = [k for k in required if k not in row]
    if missing:
        raise MBPPFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    if not isinstance(row["task_id"], int) or isinstance(row["task_id"], bool):
        raise MBPPFormatError(f"{where}: task_id must be an integer")
    tests = _strings(row, "test_list", where)
    if not tests:
        raise MBPPFormatError(f"{where}: empty test_list")
    text = row["prompt"] if sanitized else row["text"]
    setup = "\n".join(_strings(row, "test_imports", where)) if sanitized else row["test_setup_code"]
    if not all(isinstance(v, str) for v in (text, setup, row["code"])):
        raise MBPPFormatError(f"{where}: text/prompt, code and setup must be strings")
    question = f"{text}\nYour code should pass these tests:\n\n" + "\n".join(tests)
    extra = {"source_file": row["source_file"]} if sanitized else {}
    if not sanitized:
        extra["challenge_test_list"] = _strings(row, "challenge_test_list", where)
    return Problem(
        id=str(row["task_id"]),
        question=question,
        testtype="check",
        metadata={
            **extra,
            # the answer is the whole program: nothing before it, the asserts check by themselves
            "program_prefix": "",
            "test": (setup.strip() + "\n" if setup.strip() else "") + "\n".join(tests),
            "test_call": "",
            "canonical_solution": row["code"],
            "source": where,
        },
    )


def load_mbpp(path: str | Path | None = None, sanitized: bool = False) -> list[Problem]:
    """Load the test split (task_ids 11-510) of MBPP.

    Args:
        path: `mbpp.jsonl` (full) or `sanitized-mbpp.json` (sanitized); None reads the hub.
        sanitized: Which release (and so which schema) `path` holds.

    Raises:
        MBPPFormatError: A malformed row or a duplicate task_id (the message names file and line).
        FileNotFoundError: `path` does not exist.
    """
    if path is None:
        rows = hub_rows(HF_DATASET, "sanitized" if sanitized else "full")  # pragma: no cover
    else:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"MBPP data not found: {path}")
        rows = iter_array(path) if sanitized else jsonl_rows(path, MBPPFormatError)
    problems: dict[str, Problem] = {}
    for where, row in rows:
        problem = parse_row(row, where, sanitized)
        if int(problem.id) not in TEST_IDS:
            continue  # few-shot prompts, training and validation rows
        if problem.id in problems:
            raise MBPPFormatError(f"{where}: duplicate task_id {problem.id}")
        problems[problem.id] = problem
    return list(problems.values())


def _load_full(bench: BenchmarkConfig) -> list[Problem]:
    return load_mbpp(bench.path, sanitized=False)


def _load_sanitized(bench: BenchmarkConfig) -> list[Problem]:
    return load_mbpp(bench.path, sanitized=True)


# Whole programs in fenced blocks (completes_prompt False): the grader mode's extraction applies.
MBPP = CodeBenchmark("mbpp", _load_full, "task_id", False, HF_DATASET)
MBPP_SANITIZED = CodeBenchmark("mbpp_sanitized", _load_sanitized, "task_id", False, HF_DATASET)
