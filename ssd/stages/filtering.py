"""Stage `filter`: SSD's only data cleaning, dropping empty and stub outputs. No tests, no verifier.

`apply_filter(rows, settings)` is pure and says why each dropped row went. Rules, in order: `empty`
(blank after stripping), `stub` (at most `stub_max_lines` non-blank lines; the paper's single-line
stubs), `degenerate` (`drop_degenerate`: a repetition loop or a length-capped output, flagged per
sample by ssd.generation.sampler.generate_rows), `duplicate` (`dedup`: the same completion text, stripped, already kept for the
same prompt: with n_per_prompt > 1 it would only up-weight that answer; across prompts identical
text is a different training pair and stays), then `shortest` (the official code's shortest P% by
characters). `filter_samples` wraps it as a cached stage whose manifest counts kept and dropped
rows by reason. The zero-signal guard stops a run whose kept fraction is below
`filter.min_kept_fraction` instead of training on nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssd.artifacts import read_jsonl, write_jsonl
from ssd.cache import Cache, StageOutput
from ssd.config.schema import FilterConfig


class ZeroSignalError(RuntimeError):
    """Too few samples survived the filter to train on."""


def _drop_reason(row: dict[str, Any], cfg: FilterConfig) -> str | None:
    text = row["completion"].strip()
    if cfg.drop_empty and not text:
        return "empty"
    if (
        cfg.stub_max_lines > 0
        and len([ln for ln in text.splitlines() if ln.strip()]) <= cfg.stub_max_lines
    ):
        return "stub"
    if cfg.drop_degenerate and (row["length_capped"] or row["repetition_loop"]):
        return "degenerate"  # flags every sample row carries (generate_rows sets them)
    return None


def apply_filter(
    rows: list[dict[str, Any]], cfg: FilterConfig
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Return the kept rows and the number dropped for each reason."""
    kept, dropped, seen = [], {}, set()
    for row in rows:
        reason = _drop_reason(row, cfg)
        if reason is None and cfg.dedup:
            pair = (row.get("prompt_id", row["id"]), row["completion"].strip())
            reason = "duplicate" if pair in seen else None
            seen.add(pair)
        if reason is None:
            kept.append(row)
        else:
            dropped[reason] = dropped.get(reason, 0) + 1
    if cfg.shortest_percent > 0 and kept:
        # The official code's rule: after empties, drop the shortest P% by characters.
        n_drop = int(len(kept) * cfg.shortest_percent / 100)
        by_length = sorted(
            range(len(kept)), key=lambda i: (len(kept[i]["completion"]), kept[i]["id"])
        )
        shortest = set(by_length[:n_drop])
        kept = [row for i, row in enumerate(kept) if i not in shortest]
        dropped["shortest"] = n_drop
    return kept, dropped


def filter_samples(samples: StageOutput, settings: FilterConfig, cache: Cache) -> StageOutput:
    """Run (or reuse) the filter stage on a finished sample stage."""

    def compute(out: Path) -> dict[str, Any]:
        rows = read_jsonl(samples.path / "samples.jsonl")
        kept, dropped = apply_filter(rows, settings)
        fraction = len(kept) / max(len(rows), 1)
        if fraction < settings.min_kept_fraction:
            raise ZeroSignalError(
                f"filter: kept {len(kept)}/{len(rows)} samples ({fraction:.1%}) < "
                f"filter.min_kept_fraction={settings.min_kept_fraction}; dropped {dropped}. "
                "Refusing to train on (almost) nothing: check sampling.temperature and the model."
            )
        write_jsonl(out / "kept.jsonl", kept)
        return {
            "n_in": len(rows),
            "n_kept": len(kept),
            "kept_fraction": fraction,
            "dropped": dropped,
        }

    inputs = {"samples": samples.key}
    return cache.run("filter", compute, {"filter": settings}, inputs=inputs)
