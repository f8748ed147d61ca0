"""The shipped tiny code model: it loads from its package path, generates a function body, its
tokenizer round-trips every solution style, and its manifest records how it was made."""

from __future__ import annotations

import json

import pytest
import torch

from ssd.artifacts import local_path
from ssd.codeeval.benchmarks.tinycode import STYLES, load_tinycode, solution, task_of
from ssd.models import load_model

WEIGHTS = local_path("pkg:ssd.tinycode/weights")


@pytest.fixture(scope="module")
def shipped():
    return load_model(WEIGHTS)


def test_package_path_resolves_to_the_shipped_directory():
    assert (WEIGHTS / "config.json").is_file() and (WEIGHTS / "model.safetensors").is_file()


def test_tokenizer_round_trips_prompts_and_every_style(shipped):
    _, tokenizer = shipped
    for problem in load_tinycode()[::8]:
        texts = [problem.question] + [solution(task_of(problem), s) for s in STYLES]
        for text in texts:
            ids = tokenizer(text)["input_ids"]
            assert tokenizer.decode(ids) == text
            assert tokenizer.unk_token_id not in ids


def test_greedy_completion_is_an_indented_body(shipped):
    model, tokenizer = shipped
    prompt = load_tinycode()[0].question
    ids = torch.tensor([tokenizer(prompt)["input_ids"]])
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=30, do_sample=False)
    body = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
    assert body.startswith("    ") and "return" in body


def test_manifest_records_seed_steps_curve_and_pass_at_1():
    manifest = json.loads((WEIGHTS / "manifest.json").read_text())
    assert {"settings", "loss_curve", "pass_at_1_curve", "base_pass_at_1"} <= set(manifest)
    assert manifest["settings"]["seed"] == 0 and manifest["settings"]["steps"] > 0
    assert all(0.0 <= v <= 1.0 for v in manifest["base_pass_at_1"].values())


@pytest.mark.slow
def test_the_manifest_pass_at_1_is_what_the_pipelines_evaluator_measures():
    """measure.py runs the evaluate stage's code path (the tinycode spec), so the manifest's
    base pass@1 at T 0.6 (8 samples per problem, seed 0) is reproduced by it to the digit."""
    from ssd.tinycode.measure import pass_at_1

    manifest = json.loads((WEIGHTS / "manifest.json").read_text())
    measured = pass_at_1(WEIGHTS, [0.6], 8)
    assert round(measured[0.6], 4) == manifest["base_pass_at_1"]["0.6"]
