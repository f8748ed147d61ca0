"""Grading speed and verdict agreement: each grader mode beside the official tool it mirrors.

    python benchmarks/bench_grading.py --ml-ssd /work/ext/apple+ml-ssd \\
        --lcb /work/ext/LiveCodeBench+LiveCodeBench --workers 2 [--official-python PY]

An LCB-shaped workload (20 problems x 30 private tests + 1 public, stdin and functional, correct
and wrong answers, some large inputs; `workload()`) is graded in each mode (strict, ml_ssd, lcb)
and, when the official code is given by path (nothing of it is vendored here), by apple/ml-ssd's
evaluator and LiveCodeBench's lcb_runner, with the same worker count, in one run. Prints, per
mode: programs/s, tests/s, the official tool's programs/s, the ratio and the verdict agreement.
`--problems/--samples` grade given LCB-schema files instead. The official tools run in a child
process (`--run-official`), with `--official-python` (default: this interpreter; they need numpy,
pandas and tqdm), timed from their first grading call to their last verdict.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# --- the workload ----------------------------------------------------------------------------

N_PRIVATE = 30
FENCE = "```"


def _row(qid: str, title: str, tests: list[tuple[str, str]], testtype: str, func=None) -> dict:
    public, private = tests[:1], tests[1:]

    def enc(ts):
        return json.dumps([{"input": i, "output": o, "testtype": testtype} for i, o in ts])

    return {
        "question_title": title,
        "question_content": f"{title}: a benchmark problem.",
        "platform": "leetcode" if func else "atcoder",
        "question_id": qid,
        "contest_id": qid.split("_")[0],
        "contest_date": "2025-03-01T00:00:00",
        "starter_code": f"class Solution:\n    def {func}(self, nums):\n        " if func else "",
        "difficulty": "medium",
        "public_test_cases": enc(public),
        "private_test_cases": enc(private),
        "metadata": json.dumps({"func_name": func} if func else {}),
    }


def _block(code: str) -> str:
    return f"Here is my solution.\n{FENCE}python\n{code}\n{FENCE}\n"


def workload(seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(problem rows, sample rows): 10 stdin + 10 functional problems, 31 tests each (the last
    few of some with 2e5 numbers), and per problem 6 correct and 4 wrong answers."""
    rng = random.Random(seed)
    rows, samples = [], []
    for p in range(10):  # stdin: sum of a list, k-th variant multiplies by k
        k = p + 1
        tests = []
        for t in range(N_PRIVATE + 1):
            n = 200_000 if t >= N_PRIVATE - 2 and p % 3 == 0 else rng.randint(1, 50)
            xs = [rng.randint(-1000, 1000) for _ in range(n)]
            tests.append((f"{n}\n{' '.join(map(str, xs))}\n", f"{k * sum(xs)}\n"))
        qid = f"abc{500 + p}_a"
        rows.append(_row(qid, f"Scaled sum {k}", tests, "stdin"))
        right = [
            f"n = int(input())\nprint({k} * sum(map(int, input().split())))",
            f"import sys\ndata = sys.stdin.read().split()\nprint({k} * sum(map(int, data[1:])))",
            f"def main():\n    n = int(input())\n    xs = list(map(int, input().split()))\n"
            f"    print({k} * sum(xs))\n\nif __name__ == '__main__':\n    main()",
        ]
        wrong = [
            f"n = int(input())\nprint({k} * sum(map(int, input().split())) + 1)",
            "n = int(input())\nprint(n)",
        ]
        for code in right * 2 + wrong * 2:
            samples.append({"question_id": qid, "completion": _block(code)})
    for p in range(10):  # functional: running maximum plus k
        k = p
        tests = []
        for t in range(N_PRIVATE + 1):
            n = 100_000 if t >= N_PRIVATE - 1 and p % 3 == 0 else rng.randint(1, 40)
            xs = [rng.randint(-(10**6), 10**6) for _ in range(n)]
            out, best = [], None
            for x in xs:
                best = x if best is None else max(best, x)
                out.append(best + k)
            tests.append((json.dumps(xs), json.dumps(out)))
        qid = f"{3600 + p}"
        rows.append(_row(qid, f"Running max {k}", tests, "functional", "runningMax"))
        right = [
            "class Solution:\n    def runningMax(self, nums):\n        out, best = [], None\n"
            "        for x in nums:\n            best = x if best is None else max(best, x)\n"
            f"            out.append(best + {k})\n        return out",
            "from itertools import accumulate\nclass Solution:\n"
            f"    def runningMax(self, nums):\n        return [m + {k} for m in accumulate(nums, max)]",
            "class Solution:\n    def runningMax(self, nums: List[int]) -> List[int]:\n"
            f"        res = []\n        for i, x in enumerate(nums):\n"
            f"            res.append(x + {k} if i == 0 else max(res[-1], x + {k}))\n        return res",
        ]
        wrong = [
            "class Solution:\n    def runningMax(self, nums):\n"
            f"        return [x + {k} for x in nums]",
            "class Solution:\n    def runningMax(self, nums):\n        return sorted(nums)",
        ]
        for code in right * 2 + wrong * 2:
            samples.append({"question_id": qid, "completion": _block(code)})
    return rows, samples


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


# --- the official tools, run from their checkouts --------------------------------------------


def _stub(name: str, **attrs) -> None:
    """Their modules import heavy packages they need only for generation (datasets, vllm)."""
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module


def official_ml_ssd(root: str, rows: list[dict], samples: list[dict], workers: int):
    """apple/ml-ssd: benchmark.py's evaluate() inner loop (has_code, then
    evaluate_single_example per completion in a ThreadPoolExecutor, 32 workers there; here
    `workers`). Returns (verdict per sample, seconds)."""
    _stub("datasets", Dataset=object, concatenate_datasets=None, load_dataset=None)
    _stub("vllm", SamplingParams=None)
    sys.path.insert(0, root)
    from evaluation.benchmark import LiveCodeBenchV6, has_code
    from evaluation.livecodebench_utils import map_to_example, translate_private_test_cases

    bench = LiveCodeBenchV6.__new__(LiveCodeBenchV6)
    bench.logger = logging.getLogger("ml-ssd")
    examples = {}
    for row in rows:
        row = dict(row)
        try:
            row["private_test_cases"] = json.loads(row["private_test_cases"])
        except ValueError:
            row["private_test_cases"] = translate_private_test_cases(row["private_test_cases"])
        examples[row["question_id"]] = map_to_example(row)
    jobs = []
    for sample in samples:
        example = dict(examples[sample["question_id"]])
        example["model_output"] = sample["completion"]
        example["model_answer"] = has_code(sample["completion"])
        jobs.append(example)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(bench.evaluate_single_example, jobs))
    return [r["correctness"] is True for r in results], time.perf_counter() - start


def official_lcb(root: str, rows: list[dict], samples: list[dict], workers: int):
    """LiveCodeBench: codegen_metrics' path (extract_code for a chat model, then
    evaluate_generations over every (problem, generation) with `workers` processes; 16 there
    by default), verdict = all(result > 0) as pass_k_utils.py:34. (verdicts, seconds)."""
    _stub("datasets", load_dataset=None)
    sys.path.insert(0, root)
    import numpy as np
    from lcb_runner.benchmarks.code_generation import CodeGenerationProblem
    from lcb_runner.evaluation.compute_code_generation_metrics import evaluate_generations
    from lcb_runner.lm_styles import LMStyle
    from lcb_runner.utils.extraction_utils import extract_code

    problems = {row["question_id"]: CodeGenerationProblem(**row) for row in rows}
    linear = [problems[s["question_id"]].get_evaluation_sample() for s in samples]
    generations = [[extract_code(s["completion"], LMStyle.OpenAIChat)] for s in samples]
    start = time.perf_counter()
    results, _ = evaluate_generations(linear, generations, num_process_evaluate=workers, timeout=6)
    wall = time.perf_counter() - start
    verdicts = [bool(np.all(np.array(results[i][0]) > 0)) for i in range(len(samples))]
    return verdicts, wall


def run_official(tool: str, root: str, problems: Path, samples: Path, workers: int, python: str):
    """Run one official tool in a child process; (verdicts, seconds)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [python, __file__, "--run-official", tool, "--dir", root, "--problems"]
        cmd += [str(problems), "--samples", str(samples), "--workers", str(workers)]
        subprocess.run(
            [*cmd, "--out", out.name],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
        )
        result = json.loads(Path(out.name).read_text())
    return result["verdicts"], result["wall_s"]


def _official_main(args: argparse.Namespace) -> None:
    rows, samples = read_jsonl(args.problems), read_jsonl(args.samples)
    run = official_ml_ssd if args.run_official == "ml_ssd" else official_lcb
    verdicts, wall = run(args.dir, rows, samples, args.workers)
    Path(args.out).write_text(json.dumps({"verdicts": verdicts, "wall_s": wall}))


# --- the project's modes ---------------------------------------------------------------------


def grade_mode(mode: str, problems: Path, samples: list[dict], workers: int, isolation):
    """The project's verdicts under `mode`, (verdicts, seconds, tests run)."""
    from ssd.codeeval.benchmarks.lcb import load_lcb
    from ssd.codeeval.grading import grade_many
    from ssd.codeeval.rules import RULES
    from ssd.config.choices import Grader

    rules = RULES[Grader(mode)]
    loaded = {p.id: p for p in load_lcb(problems, version="all", tests="public+private")}
    pairs = [(loaded[s["question_id"]], rules.extract_code(s["completion"])) for s in samples]
    start = time.perf_counter()  # sandbox start-up included, as the official tools' spawns are
    verdicts = grade_many(pairs, isolation=isolation, workers=workers, progress=False, rules=rules)
    wall = time.perf_counter() - start
    ran = sum(v.tests_passed + (0 if v.passed or v.status == "no_code" else 1) for v in verdicts)
    return verdicts, wall, ran


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with --run-official, one official tool for the parent)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ml-ssd", help="checkout of apple-aiml-research/ml-ssd")
    parser.add_argument("--lcb", help="checkout of LiveCodeBench/LiveCodeBench")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="strict,ml_ssd,lcb")
    parser.add_argument("--problems", type=Path, help="LCB-schema JSONL (default: the workload)")
    parser.add_argument("--samples", type=Path, help="rows: question_id, completion")
    parser.add_argument("--official-python", default=sys.executable)
    parser.add_argument("--isolation", default=None, choices=["bwrap", "rlimits", "auto"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--run-official", choices=["ml_ssd", "lcb"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_official:
        _official_main(args)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        if args.problems is None:
            rows, sample_rows = workload()
            args.problems = write_jsonl(Path(tmp) / "problems.jsonl", rows)
            args.samples = write_jsonl(Path(tmp) / "samples.jsonl", sample_rows)
        samples = read_jsonl(args.samples)
        official = {"ml_ssd": args.ml_ssd, "lcb": args.lcb}
        n = len(samples)
        print(f"{n} programs, {args.workers} workers, cpu_count {os.cpu_count()}")
        header = "mode     programs/s  tests/s  official programs/s  ratio   agreement"
        print(header)
        figures = {}
        for mode in args.modes.split(","):
            verdicts, wall, ran = grade_mode(
                mode, args.problems, samples, args.workers, args.isolation
            )
            row = {"programs_s": n / wall, "tests_s": ran / wall, "wall_s": wall}
            row["pass_rate"] = sum(v.passed for v in verdicts) / n
            line = f"{mode:8} {row['programs_s']:11.2f} {row['tests_s']:8.1f}"
            if official.get(mode):
                theirs, their_wall = run_official(
                    mode, official[mode], args.problems, args.samples, args.workers,
                    args.official_python,
                )  # fmt: skip
                same = sum(v.passed == t for v, t in zip(verdicts, theirs, strict=True))
                row.update(official_programs_s=n / their_wall, official_wall_s=their_wall)
                row.update(ratio=their_wall / wall, agreement=f"{same}/{n}")
                line += f" {n / their_wall:20.2f} {their_wall / wall:6.2f}x  {same}/{n}"
            figures[mode] = row
            print(line, flush=True)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
