"""Each filter on a hand-made sample set, and the zero-signal guard."""

from __future__ import annotations

import pytest

from ssd.artifacts import write_jsonl
from ssd.config.schema import FilterConfig
from ssd.stages.filtering import ZeroSignalError, apply_filter, filter_samples

ROWS = [
    {"id": "a", "completion": ""},
    {"id": "b", "completion": "   \n "},
    {"id": "c", "completion": "pass"},
    {"id": "d", "completion": "def f():\n    return 1"},
    {"id": "e", "completion": "import sys\nprint(sum(map(int, sys.stdin.read().split())))\n"},
    {"id": "f", "completion": "x = 1\ny = 2\nprint(x + y)"},
]


def cfg(**changes):
    return FilterConfig(**changes)


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


def test_zero_signal_guard_stops_before_training_on_nothing(tmp_path):
    from ssd.cache import Cache, StageOutput

    samples_dir = tmp_path / "samples"
    write_jsonl(
        samples_dir / "samples.jsonl", [{"id": str(i), "completion": ""} for i in range(10)]
    )
    samples = StageOutput("sample", "k", samples_dir, {}, reused=True)
    with pytest.raises(ZeroSignalError, match="min_kept_fraction"):
        filter_samples(samples, FilterConfig(), Cache.at(tmp_path / "cache"))
    assert not list((tmp_path / "cache" / "filter").glob("*/manifest.json"))


def sampled(pid: str, index: int, completion: str, capped=False, loop=False) -> dict:
    """A row as the sample stage writes it (ssd.generation.sampler.generate_rows): the
    degeneracy flags are always there."""
    return {
        "id": f"{pid}#{index}",
        "prompt_id": pid,
        "completion": completion,
        "finish_reason": "length" if capped else "stop",
        "length_capped": capped,
        "repetition_loop": loop,
    }


SAMPLED = [  # two prompts, three samples each
    sampled("p", 0, "x = 1\nprint(x)"),
    sampled("p", 1, "x = 1\nprint(x)\n"),
    sampled("p", 2, "y = 2\nprint(y)"),
    sampled("q", 0, "x = 1\nprint(x)"),
    sampled("q", 1, "for i in x:\n" + "    pass\n" * 40, loop=True),
    sampled("q", 2, "def f():\n    return", capped=True),
]


def test_dedup_drops_repeated_completions_of_one_prompt_only():
    kept, dropped = apply_filter(SAMPLED, cfg(dedup=True))
    # p#1 equals p#0 once stripped; q#0 has the same text but another prompt: a different pair
    assert ids(kept) == ["p#0", "p#2", "q#0", "q#1", "q#2"] and dropped == {"duplicate": 1}


def test_degenerate_filter_drops_loops_and_length_capped_outputs_only_when_asked():
    assert apply_filter(SAMPLED, cfg())[1] == {}  # off by default, as in the paper
    kept, dropped = apply_filter(SAMPLED, cfg(drop_degenerate=True))
    assert ids(kept) == ["p#0", "p#1", "p#2", "q#0"] and dropped == {"degenerate": 2}


def test_the_dedup_preset_is_the_paper_filter_plus_dedup(make_cfg):
    f = make_cfg("filter=dedup").filter
    assert (f.drop_empty, f.stub_max_lines, f.dedup, f.drop_degenerate) == (True, 1, True, False)
