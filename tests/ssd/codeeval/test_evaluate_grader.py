"""The evaluate stage's grading choices: the grader's rules from config, the benchmark block that
records them (grader, file hashes), the expected problem counts, and the paper presets' grader."""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers.support import ASSETS
from omegaconf import OmegaConf

from ssd.codeeval.evaluate import (
    _benchmark_block,
    _grade_rows,
    check_expected,
    grading_rules,
    load_benchmark,
)
from ssd.config.choices import Grader
from ssd.config.schema import BenchmarkConfig, ConfigError
from ssd.validation import validate

EDGE = ASSETS / "lcb" / "edge_problems.jsonl"
SAMPLES = [
    json.loads(line) for line in (ASSETS / "lcb" / "edge_samples.jsonl").read_text().splitlines()
]


def bench(**fields) -> BenchmarkConfig:
    return BenchmarkConfig(**{"name": "jsonl", "path": str(EDGE), "timeout_s": 2.0, **fields})


def test_rules_follow_the_grader_unless_overridden():
    assert (grading_rules(bench()).tests, grading_rules(bench()).extract) == ("private", "last")
    assert grading_rules(bench(grader=Grader.ml_ssd)).extract == "ml_ssd"
    assert grading_rules(bench(grader=Grader.lcb)).tests == "public+private"
    assert grading_rules(bench(grader=Grader.lcb, tests="private")).tests == "private"
    assert grading_rules(bench(grader=Grader.ml_ssd, extract="first")).extract == "first"
    assert grading_rules(BenchmarkConfig(name="humaneval")).extract == "none"


def test_expected_counts_stop_a_different_problem_set():
    problems = load_benchmark(bench())
    check_expected(bench(expected_problems=4), problems)
    check_expected(bench(expected_difficulty={"easy": 1, "medium": 2, "hard": 1}), problems)
    with pytest.raises(ConfigError) as err:
        check_expected(bench(expected_problems=131), problems)
    assert str(err.value) == "eval.benchmark.expected_problems: loaded 4 problems, expected 131"
    with pytest.raises(ConfigError, match=r"expected_difficulty: loaded .*'medium': 2.*expected"):
        check_expected(bench(expected_difficulty={"easy": 1, "medium": 1, "hard": 2}), problems)


def test_benchmark_block_records_grader_tests_and_file_hashes():
    config = bench(grader=Grader.lcb)
    block = _benchmark_block(config, load_benchmark(config))
    assert (block["grader"], block["tests_graded"], block["extraction"]) == (
        "lcb",
        "public+private",
        "lcb",  # lcb_runner's own extraction: the lines between the last two ``` lines
    )
    assert block["files_sha256"] == {str(EDGE): hashlib.sha256(EDGE.read_bytes()).hexdigest()}


@pytest.mark.parametrize("mode", [m.value for m in Grader])
def test_stage_grading_uses_the_grader(mode):
    config = bench(grader=Grader(mode))
    problems = {p.id: p for p in load_benchmark(config)}
    rows = [{"prompt_id": r["question_id"], "completion": r["completion"]} for r in SAMPLES]
    _, verdicts = _grade_rows(rows, problems, config)
    assert [v.passed for v in verdicts] == [r["expect"][mode] for r in SAMPLES]


@pytest.mark.parametrize("preset", ["paper_qwen3_4b_instruct", "official_repo"])
def test_paper_presets_grade_as_the_papers_evaluator(make_cfg, preset):
    cfg = make_cfg(f"experiment={preset}")
    b = cfg.eval.benchmark
    assert (b.grader, b.expected_problems, b.tests, b.version) == ("ml_ssd", 131, None, "v6")
    validate(cfg)
    assert OmegaConf.select(make_cfg(), "eval.benchmark.grader") == "strict"
