"""Each filter on a hand-made sample set, and the zero-signal guard."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from ssd.config import FilterConfig
from ssd.filtering import ZeroSignalError, apply_filter, filter_samples
from ssd.sample import write_jsonl

ROWS = [
    {"id": "a", "completion": ""},
    {"id": "b", "completion": "   \n "},
    {"id": "c", "completion": "pass"},
    {"id": "d", "completion": "def f():\n    return 1"},
    {"id": "e", "completion": "import sys\nprint(sum(map(int, sys.stdin.read().split())))\n"},
    {"id": "f", "completion": "x = 1\ny = 2\nprint(x + y)"},
]


def cfg(**changes):
    return OmegaConf.merge(OmegaConf.structured(FilterConfig), changes)


def ids(rows):
    return [r["id"] for r in rows]


def test_paper_filter_drops_empty_and_single_line_stubs():
    kept, dropped = apply_filter(ROWS, cfg(stub_max_lines=1))
    assert ids(kept) == ["d", "e", "f"] and dropped == {"empty": 2, "stub": 1}


def test_official_filter_drops_empty_then_the_shortest_ten_percent():
    rows = ROWS + [{"id": f"long{i}", "completion": "x" * (10 + i)} for i in range(16)]
    kept, dropped = apply_filter(rows, cfg(shortest_percent=10.0))
    assert dropped == {"empty": 2, "shortest": 2}  # 20 non-empty rows -> 2 shortest
    assert "c" not in ids(kept) and "long0" not in ids(kept) and "long1" in ids(kept)


def test_none_filter_keeps_everything():
    kept, dropped = apply_filter(ROWS, cfg(drop_empty=False))
    assert ids(kept) == ids(ROWS) and dropped == {}


def test_zero_signal_guard_stops_before_training_on_nothing(make_cfg, tmp_path):
    from ssd.cache import StageOutput

    samples_dir = tmp_path / "samples"
    write_jsonl(
        samples_dir / "samples.jsonl", [{"id": str(i), "completion": ""} for i in range(10)]
    )
    run_cfg = make_cfg(cache=tmp_path / "cache")
    samples = StageOutput("sample", "k", samples_dir, {}, reused=True)
    with pytest.raises(ZeroSignalError, match="min_kept_fraction"):
        filter_samples(run_cfg, samples)
    assert not list((tmp_path / "cache" / "filter").glob("*/manifest.json"))
