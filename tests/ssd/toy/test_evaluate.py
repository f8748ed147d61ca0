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


def test_the_toy_samples_through_the_backend_table_with_the_runs_settings(
    make_cfg, tiny_model_dir, tmp_path, monkeypatch
):
    """The toy's sampled pass@k builds its engine by `make_sampler`, like every other stage, so
    `sampling.backend` and its settings (`sampling.vllm.*`) reach it. A spy wraps the real hf
    builder in the table (the vllm engine itself cannot load the toy's head_dim-16 model on CPU):
    it records the Generation it was handed, then builds the real backend."""
    from ssd.config.choices import Backend
    from ssd.generation.backends import BACKENDS, hf

    seen = []

    def spy(generation, model_dir):
        seen.append(generation)
        return hf.build(generation, model_dir)

    monkeypatch.setitem(BACKENDS, Backend.hf, spy)
    c = config = typed(make_cfg("sampling.vllm.max_num_seqs=7", "eval.n_samples=2", "eval.k=[1]"))
    generation = generation_settings(c.model, c.data.prompt, c.sampling, c.eval.batch_size)
    plain, _ = decoders(config)
    model = ModelRef(tiny_model_dir, "tiny")
    result = evaluate_toy(
        EvalRequest(model, plain, [1.0], 0, c.eval, generation, c.toy, tmp_path, "base")
    )
    assert [g.sampling.vllm.max_num_seqs for g in seen] == [7]
    assert seen[0].batch_size == c.eval.batch_size
    assert [r.t_eval for r in result.rows] == [1.0]
