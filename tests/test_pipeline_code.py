"""The pipeline on a code model and a code benchmark: tiny chat model, LCB-schema fixtures, sandbox."""

from __future__ import annotations

import json

import pytest
from helpers.support import REPO

from ssd.codeeval.benchmarks.lcb import load_lcb
from ssd.codeeval.problem import ids_sha256
from ssd.pipeline import run

pytestmark = pytest.mark.slow
PROBLEMS = REPO / "tests" / "assets" / "lcb" / "problems.jsonl"


def test_code_model_end_to_end_records_the_grading_choices(make_cfg, tiny_code_model_dir, tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"Print {i} plus one."}) + "\n" for i in range(8)
        )
    )
    cfg = make_cfg(
        "model=local", f"model.path={tiny_code_model_dir}", "model.dtype=float32",
        "data=jsonl", f"data.path={pool}", "filter=none", "replicates=1", "analyze.enabled=false",
        "sampling.max_new_tokens=48", "sampling.temperature=1.0", "finetune.max_steps=2",
        "finetune.batch_size=4", "finetune.global_batch_size=4", "finetune.warmup_steps=1",
        "eval.benchmark.name=jsonl", f"eval.benchmark.path={PROBLEMS}", "eval.benchmark.timeout_s=2",
        "eval.temperatures=[0.7]", "eval.n_samples=2", "eval.k=[1,2]", "eval.max_new_tokens=48",
        cache=tmp_path / "cache",
    )  # fmt: skip
    summary = run(cfg, tmp_path / "run")
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    problems = load_lcb(PROBLEMS, "all")
    recorded = results["problem_set"]
    assert recorded["problem_ids_sha256"] == ids_sha256(problems) and recorded["n_problems"] == len(
        problems
    )
    assert recorded["extraction"] == "last" and recorded["tests_graded"] == "private"
    assert recorded["grader"] == "strict" and recorded["tests"] is None  # None: the grader's rule
    assert recorded["isolation"]["level"] in ("bwrap", "rlimits")
    for label in ("base", "ssd_as_decoder", "ssd"):
        (row,) = results["replicates"][0][label]["rows"]
        assert row["t_eval"] == 0.7 and sum(row["fractions"].values()) == pytest.approx(1.0)
        passed = sum(row["n_correct_per_problem"])
        assert row["pass@1"] == pytest.approx(passed / (2 * len(problems)))
        assert row["fractions"]["passed"] == pytest.approx(passed / (2 * len(problems)))
        assert set(row["by_difficulty"]) <= {"easy", "medium", "hard"}
    stage = tmp_path / "cache" / "evaluate"
    samples = sorted(stage.glob("*/samples_t0.7.jsonl"))
    assert len(samples) == 3
    first = json.loads(samples[0].read_text().splitlines()[0])
    assert {"prompt", "completion", "code", "status", "reason"} <= set(first)
    assert summary["best"]["ssd"]["t_eval"] == 0.7
