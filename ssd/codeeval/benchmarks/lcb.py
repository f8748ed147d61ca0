"""LiveCodeBench (HF `livecodebench/code_generation_lite`): benchmarks `lcb` and `jsonl`.

`load_lcb(path="test6.jsonl", version="v6")` reads local JSONL files of the dataset's schema (a
file, a directory of *.jsonl, or several); `load_lcb()` fetches the dataset with `datasets`.
`parse_record(record, where)` is the pure per-record step, so tests run on small local files.
`LCB` (the release, or a local copy of it) and `JSONL` (any local file in its schema, undated by
default) are the two specs the benchmark table maps to.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ssd.codeeval.benchmarks.base import CodeBenchmark, jsonl_rows
from ssd.codeeval.problem import Problem
from ssd.config.schema import BenchmarkConfig

HF_DATASET = "livecodebench/code_generation_lite"
# The release files: test.jsonl is release_v1, each later file adds the problems of one release.
HF_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")
# Contest-date windows [start, end) as in the SSD paper: v5 = Aug 2024 - Jan 2025 (374 problems),
# v6 = Feb - May 2025 (131 problems). v6 ends at 2025-06-01 because apple/ml-ssd's evaluator keeps
# contest_date[:7] in 2025-02..2025-05, verbatim. Reports of [2025-02-01, 2025-05-01) giving 131
# agree on the release_v6 files, which hold no May 2025 contest; a later snapshot with May problems
# would count more, which the paper preset's expected_problems: 131 refuses instead of hiding.
VERSIONS = {"v5": ("2024-08-01", "2025-02-01"), "v6": ("2025-02-01", "2025-06-01")}
TESTS = ("private", "public+private")
REQUIRED = (
    "question_id",
    "question_content",
    "contest_date",
    "difficulty",
    "starter_code",
    "public_test_cases",
    "private_test_cases",
)


class LCBFormatError(ValueError):
    """A record that does not follow the code_generation_lite schema; says where it is."""


class _StrOnlyUnpickler(pickle.Unpickler):
    # The private tests are a pickled JSON *string*: refuse any global, so that a crafted file
    # cannot run code on the grading host the way a plain pickle.loads would let it.
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def decode_tests(raw: object, where: str) -> list[dict]:
    """Test cases from a JSON string, or from base64(zlib(pickle(JSON string))) as LCB ships them.

    Args:
        raw: The field's value (a JSON string, the compressed form, or an already-parsed list).
        where: "file:line field" for error messages.

    Raises:
        LCBFormatError: Neither form decodes, or a test lacks input/output/testtype.
    """
    tests = raw
    if isinstance(raw, str):
        try:
            tests = json.loads(raw)
        except json.JSONDecodeError:
            try:
                payload = zlib.decompress(base64.b64decode(raw.encode("ascii"), validate=True))
                tests = json.loads(_StrOnlyUnpickler(io.BytesIO(payload)).load())
            except (ValueError, TypeError, zlib.error, pickle.UnpicklingError, EOFError) as exc:
                raise LCBFormatError(
                    f"{where}: neither JSON nor base64/zlib/pickle: {exc}"
                ) from exc
    if not isinstance(tests, list):
        raise LCBFormatError(f"{where}: expected a list of tests, got {type(tests).__name__}")
    for i, test in enumerate(tests):
        if not isinstance(test, dict) or not all(
            isinstance(test.get(k), str) for k in ("input", "output", "testtype")
        ):
            raise LCBFormatError(f"{where}: test {i} needs string input, output and testtype")
        if test["testtype"] not in ("stdin", "functional"):
            raise LCBFormatError(f"{where}: test {i} has testtype {test['testtype']!r}")
    return tests


def parse_record(record: dict, where: str, tests: str = "private") -> Problem:
    """One dataset row -> Problem.

    Args:
        record: A row with the dataset's fields (see REQUIRED; metadata holds func_name).
        where: Location for error messages, e.g. "test6.jsonl:12".
        tests: "private" (the SSD paper's official evaluator) or "public+private".

    Raises:
        LCBFormatError: A field is missing or malformed.
    """
    if not isinstance(record, dict):
        raise LCBFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise LCBFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    if tests not in TESTS:
        raise ValueError(f"tests must be one of {TESTS}, got {tests!r}")
    public = decode_tests(record["public_test_cases"], f"{where}: public_test_cases")
    private = decode_tests(record["private_test_cases"], f"{where}: private_test_cases")
    chosen = private if tests == "private" else public + private
    if not chosen:
        raise LCBFormatError(f"{where}: no {tests} tests")
    kinds = {t["testtype"] for t in public + private}
    if len(kinds) != 1:
        raise LCBFormatError(f"{where}: mixed test types {sorted(kinds)}")
    metadata = record.get("metadata") or "{}"
    try:
        metadata = json.loads(metadata) if isinstance(metadata, str) else dict(metadata)
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise LCBFormatError(f"{where}: metadata is not a JSON object: {exc}") from exc
    testtype = kinds.pop()
    if testtype == "functional" and not metadata.get("func_name"):
        raise LCBFormatError(f"{where}: functional problem without metadata.func_name")
    difficulty = str(record["difficulty"]).lower()
    if difficulty not in ("easy", "medium", "hard"):
        raise LCBFormatError(f"{where}: difficulty {record['difficulty']!r}")
    extra = {k: record.get(k) for k in ("question_title", "platform", "contest_id")}
    return Problem(
        id=str(record["question_id"]),
        question=str(record["question_content"]),
        starter_code=str(record["starter_code"] or ""),
        difficulty=difficulty,
        tests=tuple((t["input"], t["output"]) for t in chosen),
        testtype=testtype,
        func_name=metadata.get("func_name") if testtype == "functional" else None,
        metadata={
            **extra,
            **metadata,
            "contest_date": str(record["contest_date"]),
            "source": where,
            # how many of `tests` lead as public ones (grading selects per grader mode)
            **({"n_public": len(public)} if tests == "public+private" else {}),
        },
    )


def iter_jsonl(paths: Iterable[Path]) -> Iterator[tuple[str, object]]:
    """(location "file:line", parsed row) for each non-blank line of each file."""
    for path in paths:
        yield from jsonl_rows(path, LCBFormatError)


def _files(path: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [path] if isinstance(path, (str, Path)) else list(path)
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            files += sorted(item.glob("*.jsonl"))
        elif item.is_file():
            files.append(item)
        else:
            raise FileNotFoundError(f"LiveCodeBench data not found: {item}")
    if not files:
        raise FileNotFoundError(f"no *.jsonl files in {items}")
    return files


def _hf_rows() -> Iterator[tuple[str, object]]:  # pragma: no cover - needs the Hugging Face hub
    # Dataset scripts are gone from `datasets` >= 4, so read the release files as plain JSON;
    # streaming avoids Arrow's "offset overflow" on the huge private-test strings.
    from datasets import load_dataset  # lazy: seconds to import, needed only for the hub

    rows = load_dataset(HF_DATASET, data_files=list(HF_FILES), split="train", streaming=True)
    for i, row in enumerate(rows):
        yield f"hf:{HF_DATASET}[{i}]", row


def load_lcb(
    path: str | Path | Sequence[str | Path] | None = None,
    version: str = "v6",
    tests: str = "private",
    difficulty: str | Sequence[str] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> list[Problem]:
    """Load LiveCodeBench problems of one contest-date window.

    Args:
        path: JSONL file(s) or a directory of them; None downloads from the Hugging Face hub.
        version: "v6", "v5", "custom" (give start and end) or "all" (no date filter).
        tests: "private" or "public+private".
        difficulty: Keep only these difficulties (e.g. "hard" or ["easy", "medium"]).
        start: First contest date kept, "YYYY-MM-DD" (version "custom").
        end: First contest date no longer kept (exclusive), "YYYY-MM-DD" (version "custom").

    Returns:
        Problems in file order.

    Raises:
        LCBFormatError: A malformed row (the message names file and line); duplicate ids.
        FileNotFoundError: `path` does not exist.
    """
    if version in VERSIONS:
        start, end = VERSIONS[version]
    elif version == "custom":
        if not (start and end):
            raise ValueError('version "custom" needs start and end dates (YYYY-MM-DD)')
    elif version == "all":
        start, end = "0000", "9999"
    else:
        raise ValueError(f"version must be v5, v6, custom or all, got {version!r}")
    keep = {difficulty} if isinstance(difficulty, str) else set(difficulty or ())
    rows = _hf_rows() if path is None else iter_jsonl(_files(path))
    problems: dict[str, Problem] = {}
    for where, row in rows:
        date = str(row.get("contest_date", "")) if isinstance(row, dict) else ""
        if date and not (start <= date[:10] < end):
            continue  # outside the window: skip before decoding its (large) tests
        problem = parse_record(row, where, tests)
        if keep and problem.difficulty not in keep:
            continue
        if problem.id in problems:
            raise LCBFormatError(f"{where}: duplicate question_id {problem.id!r}")
        problems[problem.id] = problem
    return list(problems.values())


def _load(bench: BenchmarkConfig, version: str) -> list[Problem]:
    # both test sets: the grader's rules choose (ssd.codeeval.grading.select_tests)
    difficulty = [str(d) for d in bench.difficulty] if bench.difficulty else None
    return load_lcb(bench.path, version, "public+private", difficulty, bench.start, bench.end)


def _load_release(bench: BenchmarkConfig) -> list[Problem]:
    return _load(bench, str(bench.version))


def _load_file(bench: BenchmarkConfig) -> list[Problem]:
    # A local file has no release window unless one is asked for: the default v6 means "all".
    return _load(bench, "all" if bench.version == "v6" else str(bench.version))


def _bench_files(bench: BenchmarkConfig) -> list[Path]:
    return _files(bench.path)


LCB = CodeBenchmark(
    "lcb", _load_release, "question_id", False, HF_DATASET, files=_bench_files, versioned=True
)
JSONL = CodeBenchmark(
    "jsonl", _load_file, "question_id", False, needs_path=True, files=_bench_files
)
