"""Golden stage keys: the cache identity of the default config and of every preset is pinned.

A refactor that changes what a stage's key hashes (a field added, moved or renamed) fails here
instead of silently recomputing, or worse reusing, every cached stage. Change keys deliberately:
bump `STAGE_VERSIONS`, regenerate tests/golden/stage_keys.json with tests/helpers/golden_keys.py and
say why in the commit.
"""

from __future__ import annotations

import json

import pytest
from helpers.golden_keys import PINNED, compose_pinned
from helpers.support import CONF, GOLDEN

GOLDEN = json.loads((GOLDEN / "stage_keys.json").read_text())


@pytest.mark.parametrize("name", sorted(PINNED))
def test_stage_keys_of_each_pinned_config_are_unchanged(name):
    from ssd.pipeline import stage_keys

    assert stage_keys(compose_pinned(PINNED[name])) == GOLDEN[name]


def test_every_preset_is_pinned():
    presets = {p.stem for p in (CONF / "experiment").glob("*.yaml")}
    assert presets <= set(PINNED), presets - set(PINNED)


def _keys(*overrides: str) -> dict[str, str]:
    from ssd.pipeline import stage_keys

    return stage_keys(compose_pinned(["experiment=smoke", *overrides]))


def test_a_cells_t_eval_moves_only_its_own_evaluations_and_the_run():
    """What makes a T_eval sweep cheap: sampling, training and the base's grid are shared."""
    one, other = _keys("eval.temperature=0.7"), _keys("eval.temperature=1.3")
    differ = {name for name in one if one[name] != other[name]}
    assert differ == {"evaluate/ssd", "evaluate/ssd_as_decoder", "evaluate/base_off_grid", "run"}


@pytest.mark.parametrize(
    "override",
    [
        "filter.min_kept_fraction=0.5",  # a guard: it stops a run, never changes what is written
        "sampling.batch_size=7",
        "eval.batch_size=3",
        "analyze.batch_size=1",
        "analyze.device=cpu",
        "finetune.num_workers=1",
        "eval.benchmark.workers=1",
        "logger=csv",
        "name=another",
    ],
)
def test_what_cannot_change_a_number_is_in_no_stage_key(override):
    base, changed = _keys(), _keys(override)
    assert {k: v for k, v in changed.items() if k != "run"} == {
        k: v for k, v in base.items() if k != "run"
    }


def test_work_split_moves_the_run_record_but_no_stage():
    """Array tasks share every stage but must not wait on each other's run record."""
    base, task = _keys(), _keys("sampling.num_shards=2", "sampling.shard_id=1")
    assert task["run"] != base["run"]
    assert {k: v for k, v in task.items() if k != "run"} == {
        k: v for k, v in base.items() if k != "run"
    }


@pytest.mark.parametrize(
    ("override", "moved"),
    [
        ("sampling.top_p=0.9", "sample"),
        ("filter.stub_max_lines=2", "filter"),
        ("finetune.lr=0.01", "finetune"),
        ("analyze.max_contexts=8", "analyze"),
        ("eval.n_samples=8", "evaluate/base"),
        ("toy.seed=7", "base"),
    ],
)
def test_what_changes_a_number_moves_its_stage_key(override, moved):
    assert _keys(override)[moved] != _keys()[moved]
