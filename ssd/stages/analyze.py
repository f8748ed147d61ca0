"""Stage `analyze`: fork/lock statistics of an SSD model against its base, on its own kept samples.

Each position of the first `analyze.max_contexts` kept samples, teacher-forced through both models
(ssd/analysis/stream.py), is a lock or a fork by the size of the base's (T_train, top-k, top-p)
support; the T_eval grid and eval truncation are the run's. Keyed on both models, the kept samples
and the settings, not on the device or batch shape. Writes analysis.json and, with
`analyze.plots`, the PNGs of ssd/analysis/report.py.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ssd.analysis import report as analysis_report
from ssd.analysis.forklock import AnalysisSettings
from ssd.analysis.stream import analyze_models
from ssd.artifacts import ModelRef, atomic_write_json, read_jsonl
from ssd.cache import Cache, StageOutput
from ssd.config.schema import AnalyzeConfig, EvalConfig, ModelConfig, SamplingConfig


def analysis_settings(sampling: SamplingConfig, evaluation: EvalConfig) -> AnalysisSettings:
    """The run's SSD sampling decoding and its whole T_eval grid (shared by every sweep cell)."""
    return AnalysisSettings(
        train_temperature=float(sampling.temperature),
        train_top_k=int(sampling.top_k),
        train_top_p=float(sampling.top_p),
        eval_temperatures=tuple(float(t) for t in evaluation.temperatures),
        eval_top_k=int(evaluation.top_k),
        eval_top_p=float(evaluation.top_p),
    )


def analyze(
    base: ModelRef,
    ssd: ModelRef,
    kept: StageOutput,
    settings: AnalyzeConfig,
    analysis: AnalysisSettings,
    model_cfg: ModelConfig,
    cache: Cache,
) -> StageOutput:
    """Run (or reuse) the fork/lock analysis of `ssd` vs `base` on the first kept SSD samples."""

    def compute(out: Path) -> dict[str, Any]:
        rows = read_jsonl(kept.path / "kept.jsonl")[: settings.max_contexts]
        result = analyze_models(
            base.path, ssd.path, rows, analysis, settings.device, model_cfg.dtype,
            settings.batch_size, settings.chunk_tokens, settings.max_tokens,
            model_cfg.trust_remote_code, source="kept.jsonl",
        )  # fmt: skip
        atomic_write_json(out / "analysis.json", result)
        if settings.plots:
            analysis_report.write_plots(result, out)
        return analysis_report.flat_summary(result)

    args = {"settings": asdict(analysis), "dtype": model_cfg.dtype}
    inputs = {"base": base.key, "ssd": ssd.key, "contexts": kept.key}
    return cache.run("analyze", compute, {"analyze": settings}, args, inputs)
