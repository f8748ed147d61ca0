"""The toy evaluator: typed rows, exact pass@1 within [0, 1], and no lock/fork diagnostics of its
own (the analyze stage is their only source)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ssd.artifacts import ModelRef
from ssd.generation.sampler import generation_settings
from ssd.pipeline import typed
from ssd.replicate import decoders
from ssd.results import EvalRequest, EvalResult, EvalRow
from ssd.selection import apply_selection
from ssd.toy.evaluate import evaluate_toy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_results(pipeline_outputs) -> dict:
    return json.loads((pipeline_outputs.run / "results.json").read_text())


def test_evaluate_toy_reproduces_the_pipelines_base_evaluation(
    smoke_results, pipeline_outputs, make_cfg, tmp_path
):
    config = typed(make_cfg("experiment=smoke", cache=pipeline_outputs.cache))
    plain, _ = decoders(config)
    base = ModelRef(smoke_results["base_model"]["path"], smoke_results["base_model"]["key"])
    grid = [float(t) for t in config.eval.temperatures]
    c = config
    generation = generation_settings(c.model, c.data.prompt, c.sampling, c.eval.batch_size)
    request = EvalRequest(base, plain, grid, 0, c.eval, generation, c.toy, tmp_path, "base")
    result = evaluate_toy(request)
    assert isinstance(result, EvalResult) and all(isinstance(r, EvalRow) for r in result.rows)
    assert result.benchmark is None and result.checkpoint_step is None
    data = result.to_json()
    assert set(data) == {"label", "decoder", "rows"}  # no lock/fork keys any more
    # Seeded: the same numbers the run stored for seed 0 (selection on test adds pass@1_select).
    stored = smoke_results["replicates"][0]["base"]
    selected = apply_selection(result, None, config.eval.n_samples, 0)
    assert json.loads(json.dumps(selected.to_json())) == stored
    for row in result.rows:
        exact = np.array(row.pass_at_1_per_problem)
        assert ((exact >= 0) & (exact <= 1)).all() and row.pass_at_1 == pytest.approx(exact.mean())
        assert len(row.n_correct_per_problem) == config.toy.n_instances
        assert max(row.n_correct_per_problem) <= config.eval.n_samples
        assert list(row.sampled) == [f"pass@{k}" for k in config.eval.k]
