"""`ssd analyze`: its options, a real run on the session's tiny model, and one-line input errors.

The real run analyzes the tiny model against itself: every statistic of the "SSD" side must then
equal the base's, and the position count is worked out from the contexts by hand.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from helpers.support import read_wandb_run
from matplotlib.image import imread

from ssd.cli import analyze as analyze_cli
from ssd.cli.main import main

OPTIONS = (
    "--base", "--ssd", "--contexts", "--max-contexts", "--max-tokens", "--out", "--json",
    "--t-train", "--top-k", "--top-p", "--eval-temperatures", "--eval-top-k", "--eval-top-p",
    "--device", "--dtype", "--batch-size", "--chunk-tokens", "--trust-remote-code", "--logger",
    "--wandb-project", "--wandb-mode", "--run-name",
)  # fmt: skip


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["analyze", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: ssd analyze")
    for option in OPTIONS:
        assert option in text, option
    for group in ("models and contexts", "decoding", "where it runs", "tracking"):
        assert group in text


def write_contexts(path: Path, model_dir: Path) -> int:
    """Four rows of the three formats; with --max-contexts 3 the last is never read.

    Returns the positions of the first three by hand: 3 completion ids, 2 completion words,
    and a text of 4 words whose first token has nothing predicting it (4 - 1).
    """
    from ssd.models import load_tokenizer

    ids = load_tokenizer(model_dir)("P1 t2 t5 t7 t1", add_special_tokens=False)["input_ids"]
    rows = [
        {"prompt_ids": ids[:2], "completion_ids": ids[2:]},
        {"prompt": "P2", "completion": "t3 t3"},
        {"text": "P3 t1 t4 t9"},
        {"text": "P0 " + "t1 " * 50},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return 3 + 2 + 3


def wandb_run(out: Path, summary_keys: set[str]) -> dict:
    """The offline run under `out`, read once it holds `summary_keys` (W&B's writer may flush
    the `.wandb` file a moment after `finish()` returns), or fail after 30 s."""
    deadline, run = time.monotonic() + 30.0, None
    while time.monotonic() < deadline:
        try:
            (run_dir,) = (out / "wandb").glob("offline-run-*")
            run = read_wandb_run(run_dir)
            if summary_keys <= run["summary"]:
                return run
        except Exception:  # noqa: BLE001 - not there yet, or a record cut off mid-write
            pass
        time.sleep(0.05)
    raise AssertionError(f"the W&B run under {out} never recorded {summary_keys}: {run}")


def check_png(path: Path, height: int, width: int) -> None:
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].var() > 0  # drawn on, not a blank canvas


@pytest.mark.slow  # 3-6 s: tiny models loaded twice, two figures drawn, an offline W&B run
def test_a_real_run_writes_analysis_json_and_the_pngs(
    tiny_model_dir, tmp_path, capsys, monkeypatch, one_thread
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    contexts = tmp_path / "contexts.jsonl"
    n_positions = write_contexts(contexts, tiny_model_dir)
    out = tmp_path / "out"
    argv = ["analyze", "--base", str(tiny_model_dir), "--ssd", str(tiny_model_dir),
            "--contexts", str(contexts), "--max-contexts", "3", "--t-train", "1.2",
            "--top-p", "0.9", "--eval-temperatures", "0.6", "1.0", "--eval-top-p", "0.8",
            "--device", "cpu", "--dtype", "float32", "--batch-size", "2", "--out", str(out),
            "--logger", "wandb", "--wandb-mode", "offline", "--run-name", "pair"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    result = json.loads((out / "analysis.json").read_text())
    summary = result["summary"]
    assert summary["n_positions"] == n_positions
    assert result["settings"]["eval_temperatures"] == [0.6, 1.0]
    assert result["settings"]["train_temperature"] == 1.2
    assert summary["base"] == summary["ssd"]  # the model against itself
    assert result["models"]["base"] == result["models"]["ssd"]
    assert result["files"] == {
        "analysis": str(out / "analysis.json"),
        "fork_lock": str(out / "fork_lock.png"),
        "eval_truncation": str(out / "eval_truncation.png"),
    }
    check_png(out / "fork_lock.png", 935, 1320)  # 12 x 8.5 in at 110 dpi
    check_png(out / "eval_truncation.png", 528, 1760)  # 16 x 4.8 in at 110 dpi
    assert f"{n_positions} positions" in printed
    assert printed.strip().splitlines()[-1].startswith(f"wrote {out / 'analysis.json'}, ")
    run = wandb_run(out, {"analyze/n_positions", "analyze/ssd/fork_entropy_bits"})
    assert run["group"] == "analyze"
    assert any(key.startswith("analyze/fork_lock/") for key in run["summary"])  # the image
    assert {"analyze.t_train", "analyze.base"} <= run["config"]
    # --json prints exactly what analysis.json holds, and nothing else
    assert main([*argv[:-6], "--logger", "none", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["summary"] == summary and printed["files"] == result["files"]


def common(tmp_path: Path, contexts: Path) -> list[str]:
    return ["analyze", "--base", "b", "--ssd", "s", "--contexts", str(contexts), "--t-train",
            "1.0", "--out", str(tmp_path / "out")]  # fmt: skip


def refused(argv: list[str], capsys) -> str:
    """`ssd ...` refuses the input: exit code 2 and exactly one line on stderr, returned."""
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_input_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    missing = tmp_path / "missing.jsonl"
    line = refused(common(tmp_path, missing), capsys)
    assert line == f"error: ssd analyze: --contexts {missing}: no such file"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "P1 t1"}\n\n{not json\n')
    assert re.search(
        r"^error: ssd analyze: .*bad.jsonl:3: not JSON \(", refused(common(tmp_path, bad), capsys)
    )
    bad.write_text('{"text": "P1 t1"}\n[1, 2]\n')
    assert refused(common(tmp_path, bad), capsys).endswith(
        "bad.jsonl:2: a row must be a JSON object"
    )
    line = refused([*common(tmp_path, bad), "--eval-top-p", "0"], capsys)
    assert line.endswith("--eval-top-p must be in (0, 1], got 0.0")
    argv = [*common(tmp_path, bad)[:-4], "--t-train", "-1", "--out", str(tmp_path / "out")]
    assert refused(argv, capsys).endswith("--t-train must be >= 0, got -1.0")
    assert refused([*common(tmp_path, bad), "--top-p", "2"], capsys).endswith(
        "--top-p must be in (0, 1], got 2.0"
    )
    assert not (tmp_path / "out").exists()


def test_read_contexts_stops_at_the_limit(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "a"}\n\n{"text": "b"}\n{"text": "c"}\n')
    assert analyze_cli.read_contexts(str(rows), 2) == [{"text": "a"}, {"text": "b"}]
    assert len(analyze_cli.read_contexts(str(rows), None)) == 3
