"""Upgrades keep keys: a schema field added with `added(default)` leaves every pinned key where it was.

The rule (ssd.cache.identity): a RESULT field declared with `ssd.config.schema.added` is left out
of every key while it holds its default, which must reproduce the behaviour from before the field
existed; any other value enters the keys of the stages that read it. Here two fields a later
version might add (a sampling min-p, a fine-tuning label smoothing) are grafted onto the schema
and every config of tests/golden/stage_keys.json must still give exactly its pinned keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace

import pytest
from helpers.golden_keys import PINNED, compose_pinned
from helpers.support import GOLDEN

from ssd.config.schema import FinetuneConfig, SamplingConfig, added
from ssd.pipeline import typed as _TYPED

PINNED_KEYS = json.loads((GOLDEN / "stage_keys.json").read_text())


@dataclass
class _Sampling(SamplingConfig):
    min_p: float = added(0.0)  # 0.0: no min-p filter, what sampling did before the field


@dataclass
class _Finetune(FinetuneConfig):
    label_smoothing: float = added(0.0)  # 0.0: plain cross-entropy, as before


@dataclass
class _SamplingPlain(SamplingConfig):
    min_p: float = 0.0  # the same field added without the rule


def _graft(kind, base, **values):
    return kind(**{f.name: getattr(base, f.name) for f in fields(base)}, **values)


def _keys(monkeypatch, overrides, sampling=_Sampling, **values) -> dict[str, str]:
    from ssd import pipeline

    def upgraded(cfg):
        config = _TYPED(cfg)
        s_values = {k: v for k, v in values.items() if k == "min_p"}
        f_values = {k: v for k, v in values.items() if k == "label_smoothing"}
        return replace(
            config,
            sampling=_graft(sampling, config.sampling, **s_values),
            finetune=_graft(_Finetune, config.finetune, **f_values),
        )

    monkeypatch.setattr(pipeline, "typed", upgraded)
    return pipeline.stage_keys(compose_pinned(overrides))


@pytest.mark.parametrize("name", sorted(PINNED))
def test_fields_added_at_their_default_move_no_pinned_key(monkeypatch, name):
    assert _keys(monkeypatch, PINNED[name]) == PINNED_KEYS[name]


def test_an_added_field_set_to_another_value_moves_the_stages_that_read_it(monkeypatch):
    smoke = PINNED_KEYS["smoke"]
    hotter = _keys(monkeypatch, PINNED["smoke"], min_p=0.05)
    assert hotter["base"] == smoke["base"]
    assert {name for name in smoke if hotter[name] != smoke[name]} == set(smoke) - {
        "base",
        "evaluate/base",
        "evaluate/ssd_as_decoder",
    }
    smoothed = _keys(monkeypatch, PINNED["smoke"], label_smoothing=0.1)
    assert smoothed["sample"] == smoke["sample"] and smoothed["filter"] == smoke["filter"]
    assert smoothed["finetune"] != smoke["finetune"] and smoothed["run"] != smoke["run"]


def test_a_field_added_without_the_rule_would_move_every_key_downstream(monkeypatch):
    """What the rule prevents: the same field declared plainly moves every key that hashes it."""
    plain = _keys(monkeypatch, PINNED["smoke"], sampling=_SamplingPlain)
    assert plain["sample"] != PINNED_KEYS["smoke"]["sample"]
    assert plain["run"] != PINNED_KEYS["smoke"]["run"]
