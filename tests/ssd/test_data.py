"""Prompt pools: rStar-Coder seed_sft records -> prompts (de-dup, ids, errors), loaded offline."""

from __future__ import annotations

import json

import pytest
from helpers.support import ASSETS

from ssd.config.schema import ConfigError
from ssd.data import load_prompts, normalize_question, rstar_prompts
from ssd.validation import validate

FIXTURE = ASSETS / "rstar_seed_sft.jsonl"  # 6 rows in the seed_sft schema, see the comments there


def records():
    lines = FIXTURE.read_text().splitlines()
    return [(i, json.loads(line)) for i, line in enumerate(lines, start=1)]


def test_dedup_keeps_the_first_row_of_each_whitespace_normalized_question():
    prompts = rstar_prompts(records(), dedup=True, where="f")
    # seed_0 twice (two solutions) and seed_2 (same text, other whitespace) collapse into seed_0;
    # seed_3's id is reused by another question, which keeps a unique id.
    assert [p.id for p in prompts] == ["seed_0", "seed_1", "seed_3", "seed_3/6"]
    assert prompts[1].starter_code.startswith("class Solution:")
    assert prompts[0].starter_code == "" and prompts[0].question.startswith("Given two integers")


def test_no_dedup_keeps_every_row_as_the_official_code_does():
    prompts = rstar_prompts(records(), dedup=False, where="f")
    assert [p.id for p in prompts] == [f"{r['question_id']}/{i}" for i, r in records()]


def test_normalization_is_exact_up_to_whitespace_only():
    assert normalize_question(" a \n\tb  c ") == "a b c"
    assert normalize_question("a b") != normalize_question("A b")


@pytest.mark.parametrize(
    "line,message",
    [
        (
            '{"question_id": "x", "question": ""}',
            r"pool.jsonl:2: needs a non-empty string field 'question'",
        ),
        ('{"question_id": "x"}', r"pool.jsonl:2: needs a non-empty string field 'question'"),
        ('{"question": ', r"pool.jsonl:2: not valid JSON"),
    ],
)
def test_a_bad_row_is_a_config_error_naming_file_and_line(make_cfg, tmp_path, line, message):
    pool = tmp_path / "pool.jsonl"
    pool.write_text(FIXTURE.read_text().splitlines()[0] + "\n" + line + "\n")
    cfg = make_cfg("data=rstar_seed", f"data.path={pool}")
    with pytest.raises(ConfigError, match=message):
        load_prompts(cfg.data, cfg.toy)


def test_local_file_in_the_seed_sft_schema_with_limit(make_cfg):
    cfg = make_cfg("data=rstar_seed", f"data.path={FIXTURE}", "data.limit=2")
    assert [p.id for p in load_prompts(cfg.data, cfg.toy)] == ["seed_0", "seed_1"]
    cfg = make_cfg("data=rstar_seed", f"data.path={FIXTURE}", "data.dedup=false")
    assert len(load_prompts(cfg.data, cfg.toy)) == 6


def test_hub_loading_code_runs_on_a_local_snapshot_of_the_dataset(make_cfg, tmp_path):
    """The real `datasets.load_dataset(hf_dataset, "seed_sft")` path, on a directory laid out as
    the hub repository (README configs + seed_sft/*.parquet), since the hub is unreachable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    snapshot = tmp_path / "rStar-Coder"
    (snapshot / "seed_sft").mkdir(parents=True)
    (snapshot / "README.md").write_text(
        "---\nconfigs:\n- config_name: seed_sft\n  data_files:\n  - split: train\n"
        "    path: seed_sft/*.parquet\n---\n"
    )
    rows = [r for _, r in records()]
    for r in rows:
        r["starter_code"] = r["starter_code"] or ""
    pq.write_table(
        pa.Table.from_pylist(rows), snapshot / "seed_sft" / "data-00000-of-00001.parquet"
    )
    cfg = make_cfg("data=rstar_seed", f"data.hf_dataset={snapshot}")
    prompts = load_prompts(cfg.data, cfg.toy)
    # Dataset rows are numbered from 0 (file lines from 1): the collision id says so.
    assert [p.id for p in prompts] == ["seed_0", "seed_1", "seed_3", "seed_3/5"]


def test_validate_needs_no_network_and_checks_local_paths(make_cfg):
    validate(make_cfg("experiment=paper_qwen3_4b_instruct"))  # hub ids are taken as given
    with pytest.raises(ConfigError, match="data.path='/no/file.jsonl' is invalid"):
        validate(make_cfg("experiment=paper_qwen3_4b_instruct", "data.path=/no/file.jsonl"))
