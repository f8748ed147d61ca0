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
from helpers.support import compose_run

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


def curves(out):
    return json.loads((out / "results.json").read_text())["summary"]["curves"]


def stage_key(out, stage):
    stages = json.loads((out / "results.json").read_text())["replicates"][0]["stages"]
    return stages[stage]["key"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean cache of CLEAN, and the numbers of MORE_T computed on a copy of it."""
    root = tmp_path_factory.mktemp("damage")
    run(compose_run(*CLEAN, cache=root / "cache", out=root / "clean"), root / "clean")
    shutil.copytree(root / "cache", root / "ref-cache")
    run(compose_run(*MORE_T, cache=root / "ref-cache", out=root / "ref"), root / "ref")
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
    run(compose_run(*MORE_T, cache=cache, out=tmp_path / "out"), tmp_path / "out")
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
        run(
            compose_run(*CLEAN, *split, "sampling.shard_id=0", cache=cache, out=tmp_path / "t0"),
            tmp_path / "t0",
        )
        is None
    )
    shards = sorted((cache / "sample" / f"{key}.partial" / "shards").glob("shard-*.jsonl"))
    assert len(shards) == 2
    damage(shards[0], how)
    last = run(
        compose_run(*CLEAN, *split, "sampling.shard_id=1", cache=cache, out=tmp_path / "t1"),
        tmp_path / "t1",
    )
    if how == "delete":  # a missing shard is task 0's to write: task 1 waits, task 0's rerun merges
        assert last is None
        run(
            compose_run(*CLEAN, *split, "sampling.shard_id=0", cache=cache, out=tmp_path / "t1"),
            tmp_path / "t1",
        )
    assert curves(tmp_path / "t1") == curves(clean / "clean")
    assert _manifest_files(cache, "sample", key) == want_files


def test_with_recompute_off_a_damaged_stage_stops_the_run_in_one_line(clean, tmp_path):
    from ssd.cache_integrity import DamagedStage

    cache = tmp_path / "cache"
    shutil.copytree(clean / "cache", cache)
    key = stage_key(clean / "clean", "finetune")
    damage(cache / "finetune" / key / "model" / "model.safetensors", "truncate_line")
    cfg = compose_run(*MORE_T, "paths.recompute_damaged=false", cache=cache, out=tmp_path / "out")
    with pytest.raises(DamagedStage) as err:
        run(cfg, tmp_path / "out")
    text = str(err.value)
    assert "\n" not in text and "model/model.safetensors" in text and key in text
    assert "finetune" in text and not (cache / DAMAGED_DIR).exists()


# ---------------------------------------------------------------------------------------------
# `ssd cache` on the same real cache


def ssd_cache(capsys, *argv: str) -> tuple[int, str]:
    from ssd.cli.main import main

    code = main(["cache", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("action", ["ls", "verify", "gc", "rm"])
def test_every_cache_action_has_help(capsys, action):
    from ssd.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["cache", action, "--help"])
    assert done.value.code == 0 and f"usage: ssd cache {action}" in capsys.readouterr().out


def test_ls_lists_every_stage_with_its_size_and_the_runs_that_used_it(clean, capsys):
    code, out = ssd_cache(
        capsys, "ls", "--cache-dir", str(clean / "cache"), "--outputs", str(clean / "clean")
    )
    record = json.loads((clean / "clean" / "results.json").read_text())["run"]["key"]
    rows = [line.split() for line in out.splitlines()[1:-1]]
    assert code == 0 and {row[0] for row in rows} == {
        "base",
        "sample",
        "filter",
        "finetune",
        "analyze",
        "evaluate",
        "run",
    }
    finetune = stage_key(clean / "clean", "finetune")
    line = next(line for line in out.splitlines() if finetune in line)
    assert " ok " in line and "KiB" in line and f"run {record} ({clean / 'clean'})" in line


def test_verify_reports_damage_and_repair_moves_it_aside(clean, tmp_path, capsys):
    cache = tmp_path / "cache"
    shutil.copytree(clean / "cache", cache)
    code, out = ssd_cache(capsys, "verify", "--cache-dir", str(cache), "--full")
    assert code == 0 and "0 damaged" in out
    key = stage_key(clean / "clean", "finetune")
    damage(cache / "finetune" / key / "model" / "model.safetensors", "zero")
    code, out = ssd_cache(capsys, "verify", "--cache-dir", str(cache), "--full")
    assert code == 1 and f"damaged: finetune {key}: model/model.safetensors" in out
    assert (cache / "finetune" / key).is_dir()  # reported, not touched
    code, out = ssd_cache(capsys, "verify", "--cache-dir", str(cache), "--repair", "--full")
    assert code == 0 and not (cache / "finetune" / key).exists()
    assert len(list((cache / DAMAGED_DIR / "finetune").iterdir())) == 1


def test_gc_is_a_dry_run_until_yes_and_keeps_what_kept_runs_need(clean, tmp_path, capsys):
    import os

    cache = tmp_path / "cache"
    shutil.copytree(clean / "cache", cache)
    orphan = cache / "sample" / "0123456789abcdef"  # a stage no run record names
    (orphan / "x").mkdir(parents=True)
    (orphan / "x" / "rows.jsonl").write_text("{}\n" * 1000)
    (orphan / MANIFEST).write_text("{}")
    old = 1_000_000_000  # 2001: older than any --min-age
    os.utime(orphan, (old, old))
    before = sorted(p.name for p in cache.rglob("*"))
    code, out = ssd_cache(capsys, "gc", "--cache-dir", str(cache))
    assert code == 0 and "would go: sample 0123456789abcdef" in out and "dry run: 1 folders" in out
    assert sorted(p.name for p in cache.rglob("*")) == before
    code, out = ssd_cache(capsys, "gc", "--cache-dir", str(cache), "--yes")
    assert code == 0 and not orphan.exists() and "freed" in out
    code, out = ssd_cache(capsys, "verify", "--cache-dir", str(cache))
    assert code == 0 and "0 damaged" in out  # what a kept run needs is all still there

    # keeping no run: everything may go, but only what was not used within --min-age
    code, out = ssd_cache(capsys, "gc", "--cache-dir", str(cache), "--keep", str(tmp_path / "none"))
    assert "dry run: 0 folders" in out  # all used just now
    code, out = ssd_cache(
        capsys, "gc", "--cache-dir", str(cache), "--keep", "--min-age", "0", "--yes"
    )
    assert code == 0 and not [p for p in cache.glob("*/*") if p.is_dir()]


def test_gc_keeps_what_a_kept_sweep_needs_and_removes_the_old_rest(clean, tmp_path, capsys):
    import os

    cache = tmp_path / "cache"
    shutil.copytree(clean / "cache", cache)
    old = 1_000_000_000
    for folder in cache.glob("*/*"):
        os.utime(folder, (old, old))
    code, out = ssd_cache(
        capsys, "gc", "--cache-dir", str(cache), "--keep", str(clean / "clean"), "--yes"
    )
    assert code == 0 and "freed 0 B (0 folders)" in out  # the kept run needs every stage
    code, out = ssd_cache(capsys, "gc", "--cache-dir", str(cache), "--older-than", "30", "--yes")
    assert code == 0 and not [p for p in cache.glob("*/*") if p.is_dir()]


def test_rm_removes_one_stage_by_key_and_an_unknown_key_is_one_line(clean, tmp_path, capsys):
    cache = tmp_path / "cache"
    shutil.copytree(clean / "cache", cache)
    key = stage_key(clean / "clean", "filter")
    code, out = ssd_cache(capsys, "rm", key, "--cache-dir", str(cache))
    assert code == 0 and f"removed: filter {key}" in out and not (cache / "filter" / key).exists()
    code, out = ssd_cache(capsys, "rm", "ffffffffffffffff", "--cache-dir", str(cache))
    assert code == 2 and out.strip().count("\n") == 0 and "KEY='ffffffffffffffff'" in out
