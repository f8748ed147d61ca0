"""Damaged real stages end to end: each kind of artifact of a real `experiment=smoke` cache
(samples, kept rows, weights, tokenizer, manifest, sampling shard), damaged each way (cut at a line
end, torn mid-line, bytes zeroed, deleted), and the rerun's numbers equal a clean run's.

The rerun asks for one more T_eval (as in issue 18: a new evaluation reads the cached model), so
every stage of the chain is looked up; the damaged one is moved aside and made again, to the byte.
Then `ssd cache ls | verify | gc | rm` on the same real cache.
"""

from __future__ import annotations

import json
import shutil

import pytest
from helpers.damage import WAYS, damage
from helpers.support import CONF

from ssd.cache_integrity import DAMAGED_DIR, MANIFEST
from ssd.pipeline import run

pytestmark = pytest.mark.slow

CLEAN = ["experiment=smoke", "replicates=1", "eval.temperatures=[0.5,1.0]"]
MORE_T = ["experiment=smoke", "replicates=1", "eval.temperatures=[0.5,0.7]"]
KINDS = {  # kind -> (stage, file inside the stage)
    "samples": ("sample", "samples.jsonl"),
    "kept": ("filter", "kept.jsonl"),
    "weights": ("finetune", "model/model.safetensors"),
    "tokenizer": ("finetune", "model/tokenizer.json"),
    "manifest": ("finetune", MANIFEST),
}


def compose(cache, out, overrides, *extra):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = hydra_compose(
            "config",
            overrides=[
                *overrides,
                f"paths.cache_dir={cache}",
                f"paths.output_dir={out}",
                "logger=none",
                *extra,
            ],
        )
    OmegaConf.set_readonly(cfg, False)
    return cfg


def curves(out):
    return json.loads((out / "results.json").read_text())["summary"]["curves"]


def stage_key(out, stage):
    stages = json.loads((out / "results.json").read_text())["replicates"][0]["stages"]
    return stages[stage]["key"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean cache of CLEAN, and the numbers of MORE_T computed on a copy of it."""
    root = tmp_path_factory.mktemp("damage")
    run(compose(root / "cache", root / "clean", CLEAN), root / "clean")
    shutil.copytree(root / "cache", root / "ref-cache")
    run(compose(root / "ref-cache", root / "ref", MORE_T), root / "ref")
    return root


def _manifest_files(cache, stage, key):
    """The stage's files and hashes, less train_metrics.json (it records the wall time)."""
    files = json.loads((cache / stage / key / MANIFEST).read_text())["files"]
    return {rel: entry for rel, entry in files.items() if rel != "train_metrics.json"}


@pytest.mark.parametrize("how", WAYS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_damaged_artifact_is_redone_and_the_rerun_matches_a_clean_run(
    clean, tmp_path, capsys, kind, how
):
    stage, rel = KINDS[kind]
    cache = tmp_path / "cache"
    shutil.copytree(clean / "cache", cache)
    key = stage_key(clean / "clean", stage)
    want_files = _manifest_files(cache, stage, key)
    damage(cache / stage / key / rel, how)
    run(compose(cache, tmp_path / "out", MORE_T), tmp_path / "out")
    assert curves(tmp_path / "out") == curves(clean / "ref")
    assert _manifest_files(cache, stage, key) == want_files  # made again, to the byte
    if kind == "manifest" and how == "delete":
        return  # a folder without a manifest was never finished: it is simply made again
    aside = list((cache / DAMAGED_DIR / stage).iterdir())
    assert [p.name.split(".")[0] for p in aside] == [key]
    err = capsys.readouterr().err
    assert f"cache: {stage} {key} is damaged" in err and str(aside[0]) in err


@pytest.mark.parametrize("how", WAYS)
def test_a_damaged_shard_of_an_array_task_is_written_again(clean, tmp_path, how):
    """Task 0 of a 2-task sampling array writes its shards; one is damaged before the last task
    merges them: the merge never reads it, and the numbers equal the clean run's."""
    cache = tmp_path / "cache"
    shutil.copytree(clean / "cache", cache)
    key = stage_key(clean / "clean", "sample")
    want_files = _manifest_files(cache, "sample", key)
    shutil.rmtree(cache / "sample" / key)
    record = json.loads((clean / "clean" / "results.json").read_text())["run"]["key"]
    shutil.rmtree(cache / "run" / record)
    split = ["sampling.shard_size=16", "sampling.num_shards=2"]
    assert (
        run(compose(cache, tmp_path / "t0", CLEAN, *split, "sampling.shard_id=0"), tmp_path / "t0")
        is None
    )
    shards = sorted((cache / "sample" / f"{key}.partial" / "shards").glob("shard-*.jsonl"))
    assert len(shards) == 2
    damage(shards[0], how)
    last = run(
        compose(cache, tmp_path / "t1", CLEAN, *split, "sampling.shard_id=1"), tmp_path / "t1"
    )
    if how == "delete":  # a missing shard is task 0's to write: task 1 waits, task 0's rerun merges
        assert last is None
        run(compose(cache, tmp_path / "t1", CLEAN, *split, "sampling.shard_id=0"), tmp_path / "t1")
    assert curves(tmp_path / "t1") == curves(clean / "clean")
    assert _manifest_files(cache, "sample", key) == want_files


def test_with_recompute_off_a_damaged_stage_stops_the_run_in_one_line(clean, tmp_path):
    from ssd.cache_integrity import DamagedStage

    cache = tmp_path / "cache"
    shutil.copytree(clean / "cache", cache)
    key = stage_key(clean / "clean", "finetune")
    damage(cache / "finetune" / key / "model" / "model.safetensors", "truncate_line")
    cfg = compose(cache, tmp_path / "out", MORE_T, "paths.recompute_damaged=false")
    with pytest.raises(DamagedStage) as err:
        run(cfg, tmp_path / "out")
    text = str(err.value)
    assert "\n" not in text and "model/model.safetensors" in text and key in text
    assert "finetune" in text and not (cache / DAMAGED_DIR).exists()
