"""End to end on the toy: `experiment=smoke` through every stage, W&B offline, then again from cache."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from helpers.support import GOLDEN

from ssd.generation.decoding import Decoder
from ssd.pipeline import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One smoke run (W&B offline) and its rerun on the same cache."""
    from helpers.support import CONF
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    root = tmp_path_factory.mktemp("smoke")

    def cfg_for(run_dir):
        with initialize_config_dir(str(CONF), version_base="1.3"):
            cfg = compose(
                "config",
                overrides=[
                    "experiment=smoke",
                    f"paths.cache_dir={root / 'cache'}",
                    f"paths.output_dir={run_dir}",
                    "logger.name=wandb",
                    "logger.mode=offline",
                ],
            )
        OmegaConf.set_readonly(cfg, False)
        return cfg

    first = run(cfg_for(root / "run1"), root / "run1")
    second = run(cfg_for(root / "run2"), root / "run2")
    return root, first, second, cfg_for(root / "run3")


def test_results_json_records_numbers_and_provenance(smoke):
    root, summary, _, cfg = smoke
    results = json.loads((root / "run1" / "results.json").read_text())
    assert results["seeds"] == [0, 1]
    assert (
        results["problem_set"]["n_problems"] == 4
        and len(results["problem_set"]["ids_sha256"]) == 64
    )
    assert results["decoding"]["train"] == {"temperature": 1.0, "top_k": 0, "top_p": 0.8}
    assert (root / "run1" / "pass_at_1.png").stat().st_size > 10_000
    curves = results["summary"]["curves"]
    for label in ("base", "ssd_as_decoder", "ssd"):
        assert [row["t_eval"] for row in curves[label]] == [0.5, 1.0]
        for row in curves[label]:
            assert 0 <= row["pass@1_min"] <= row["pass@1"] <= row["pass@1_max"] <= 1
            assert row["sampled"]["pass@1"] <= row["sampled"]["pass@2"]
    for rep in results["replicates"]:
        stages = rep["stages"]
        assert stages["sample"]["n_samples"] == 4 * 16 and stages["filter"]["n_in"] == 64
        assert stages["finetune"]["steps"] == 20 and stages["finetune"]["final_loss"] > 0
        # the base's exact pass@1 does not depend on the seed; sampled pass@k does
        assert (
            rep["base"]["rows"][0]["pass@1"]
            == results["replicates"][0]["base"]["rows"][0]["pass@1"]
        )
    keys = [rep["stages"]["sample"]["key"] for rep in results["replicates"]]
    assert len(set(keys)) == 2
    best = max(curves["ssd"], key=lambda row: row["pass@1"])
    assert summary["best"]["ssd"]["pass@1"] == pytest.approx(best["pass@1"])


GOLDEN_SMOKE = GOLDEN / "smoke.json"
# Runs with 1 and 2 torch threads agree to the last bit on one install; the tolerance absorbs
# another install's float rounding: a fresh install on 2026-12-04 (transformers 5.19.0, lightning
# 2.6.6, numpy 2.4.6, torch 2.13.0) moved one SSD pass@1 by 3.1e-6 with the code of the pinned run.
# A different sample or training step moves these by > 1e-3.
TOLERANCE = 1e-5


def test_smoke_numbers_match_the_pinned_run(smoke):
    """The seeded smoke run's numbers are pinned: a refactor must not move one silently.

    Regenerate tests/golden/smoke.json only with a deliberate, documented behaviour change.
    """
    root, summary, _, _ = smoke
    golden = json.loads(GOLDEN_SMOKE.read_text())
    results = json.loads((root / "run1" / "results.json").read_text())
    got = {
        label: {str(row["t_eval"]): row for row in curve}
        for label, curve in results["summary"]["curves"].items()
    }
    assert set(got) == set(golden["curves"])
    for label, rows in golden["curves"].items():
        assert set(got[label]) == set(rows), label
        for t_eval, want in rows.items():
            row = got[label][t_eval]
            assert row["pass@1_per_seed"] == pytest.approx(want["pass@1_per_seed"], abs=TOLERANCE)
            assert row["sampled"] == pytest.approx(want["sampled"], abs=TOLERANCE), (label, t_eval)
    for label, diag in golden["diagnostics"].items():
        assert results["summary"]["diagnostics"][label] == pytest.approx(diag, abs=TOLERANCE)
    assert results["summary"]["verdicts"] == golden["verdicts"]
    stages = results["replicates"][0]["stages"]
    for stage, metrics in golden["stage_metrics"].items():
        for name, value in metrics.items():
            assert stages[stage][name] == pytest.approx(value, abs=TOLERANCE), (stage, name)


def test_the_smoke_run_used_exactly_the_pinned_stage_keys(smoke):
    """tests/test_stage_keys.py pins keys derived from the config; the stages use those keys."""
    root, *_ = smoke
    want = json.loads((GOLDEN / "stage_keys.json").read_text())["smoke"]
    results = json.loads((root / "run1" / "results.json").read_text())
    used = {name: info["key"] for name, info in results["replicates"][0]["stages"].items()}
    assert used == {k: v for k, v in want.items() if k not in ("base", "run")}
    assert results["base_model"]["key"] == want["base"]
    assert results["run"]["key"] == want["run"]


def test_rerun_reuses_the_run_record_and_reproduces_the_numbers(smoke):
    root, first, second, _ = smoke
    results = json.loads((root / "run2" / "results.json").read_text())
    assert results["run"]["reused"], results["run"]
    first_run = json.loads((root / "run1" / "results.json").read_text())["run"]
    assert not first_run["reused"] and first_run["key"] == results["run"]["key"]
    assert second["curves"] == first["curves"]
    assert (root / "run2" / "pass_at_1.png").read_bytes() == (
        root / "run1" / "pass_at_1.png"
    ).read_bytes()


def test_without_the_run_record_every_stage_is_reused(smoke):
    """The record is a shortcut, not the only cache: each stage is found again on its own."""
    import shutil

    root, first, _, cfg = smoke
    record = json.loads((root / "run1" / "results.json").read_text())["run"]["record"]
    shutil.rmtree(record)
    third = run(cfg, root / "run3")
    results = json.loads((root / "run3" / "results.json").read_text())
    assert not results["run"]["reused"]
    for rep in results["replicates"]:
        assert all(stage["reused"] for stage in rep["stages"].values()), rep["stages"]
    assert third["curves"] == first["curves"]


def test_wandb_offline_run_is_written_under_the_run_dir(smoke):
    root, *_ = smoke
    runs = list((root / "run1" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))


def test_exact_pass_at_1_agrees_with_monte_carlo(smoke):
    from ssd.generation.sampler import Generation, make_sampler
    from ssd.models import load_model
    from ssd.pipeline import typed
    from ssd.toy.evaluate import sampled_pass, toy_exact_pass, toy_teacher_forcing
    from ssd.toy.task import ToyTask

    root, _, _, cfg = smoke
    config = typed(cfg)
    results = json.loads((root / "run1" / "results.json").read_text())
    model, tokenizer = load_model(results["base_model"]["path"])
    task = ToyTask(config.toy)
    generation = Generation(config.model, config.data.prompt, 256)
    sampler = make_sampler(generation, results["base_model"]["path"])
    forced = toy_teacher_forcing(model, tokenizer, task)
    for rule in (
        Decoder(1.0),
        Decoder(0.7, train_temperature=1.0, train_top_p=0.8),
        Decoder(1.3, top_k=4),
    ):
        exact = toy_exact_pass(forced, task, rule).mean()
        correct = sampled_pass(sampler, task, rule, generation, 600, 16, seed=123)
        estimate = correct.sum() / (600 * task.cfg.n_instances)
        sigma = np.sqrt(max(exact * (1 - exact), 1e-4) / (600 * task.cfg.n_instances))
        assert abs(estimate - exact) < 4 * sigma, (rule, exact, estimate)
    base_at_1 = next(r for r in results["replicates"][0]["base"]["rows"] if r["t_eval"] == 1.0)
    assert toy_exact_pass(forced, task, replace(Decoder(1.0))).mean() == pytest.approx(
        base_at_1["pass@1"], abs=1e-6
    )


def test_an_array_task_with_its_shards_done_exits_quietly_and_the_last_one_finishes(
    make_cfg, tmp_path
):
    common = ["experiment=smoke", "replicates=1", "sampling.shard_size=16", "sampling.num_shards=2"]
    first = run(
        make_cfg(*common, "sampling.shard_id=0", cache=tmp_path / "cache"), tmp_path / "task0"
    )
    assert first is None and not (tmp_path / "task0" / "results.json").exists()
    second = run(
        make_cfg(*common, "sampling.shard_id=1", cache=tmp_path / "cache"), tmp_path / "task1"
    )
    assert second is not None and (tmp_path / "task1" / "results.json").is_file()
