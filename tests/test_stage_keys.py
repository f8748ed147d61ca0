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
