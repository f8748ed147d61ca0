"""Overrides of a run on a local HF model folder and a one-prompt JSONL pool: enough for
`validate()` and `stage_keys()` (nothing loads the model), as a benchmark's config tests need."""

from __future__ import annotations

from pathlib import Path


def local_run_overrides(tmp_path: Path) -> list[str]:
    """`model=local` on a folder with a config.json, `data=jsonl` on a one-question pool."""
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text('{"model_type": "qwen3"}')
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"question": "Add two numbers."}\n')
    return ["model=local", f"model.path={model}", "data=jsonl", f"data.path={pool}"]
