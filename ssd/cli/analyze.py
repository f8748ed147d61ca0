"""`ssd analyze`: fork/lock analysis of any HF base vs SSD model pair on shared contexts.

    ssd analyze --base BASE_DIR --ssd SSD_DIR --contexts samples.jsonl --t-train 1.6 --top-k 20 \
        --top-p 0.8 --eval-top-k 20 --eval-top-p 0.8 --out outputs/analyze [--device cuda \
        --dtype bfloat16 --batch-size 8] [--logger wandb]

Contexts are JSONL rows: the SSD samples format (prompt_ids + completion_ids; kept.jsonl or
samples.jsonl of a sample stage), prompt + completion text, or plain text. Writes analysis.json,
fork_lock.png and eval_truncation.png under --out and prints a summary table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from omegaconf import OmegaConf

from ssd.analysis import report as analyze_report
from ssd.analysis.forklock import AnalysisSettings
from ssd.analysis.stream import analyze_models
from ssd.artifacts import atomic_write_json
from ssd.config.schema import ConfigError
from ssd.tracking import make_tracker

DEFAULT_EVAL_TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Models and contexts, the training and eval decodings, where it runs, where it writes."""
    io = parser.add_argument_group("models and contexts")
    io.add_argument("--base", required=True, metavar="DIR", help="base model (HF dir or id)")
    io.add_argument("--ssd", required=True, metavar="DIR", help="SSD model (HF dir or id)")
    io.add_argument("--contexts", required=True, metavar="FILE", help="JSONL of contexts")
    io.add_argument("--max-contexts", type=int, default=None, metavar="N",
                    help="use the first N rows (default: all)")  # fmt: skip
    io.add_argument("--max-tokens", type=int, default=4096, metavar="N",
                    help="cut each context to N tokens (default: %(default)s)")  # fmt: skip
    io.add_argument("--out", default="outputs/analyze", metavar="DIR",
                    help="folder for analysis.json and the PNGs (default: %(default)s)")  # fmt: skip
    io.add_argument("--json", action="store_true", help="print the full analysis JSON on stdout")
    dec = parser.add_argument_group("decoding (T_train defines each position's support S_s)")
    dec.add_argument("--t-train", type=float, required=True, metavar="T", help="T_train")
    dec.add_argument("--top-k", type=int, default=0, metavar="K", help="training top-k (0 = off)")
    dec.add_argument("--top-p", type=float, default=1.0, metavar="P", help="training top-p")
    dec.add_argument("--eval-temperatures", type=float, nargs="+", metavar="T",
                     default=list(DEFAULT_EVAL_TEMPERATURES),
                     help="T_eval grid (default: %(default)s)")  # fmt: skip
    dec.add_argument("--eval-top-k", type=int, default=0, metavar="K", help="eval top-k")
    dec.add_argument("--eval-top-p", type=float, default=1.0, metavar="P", help="eval top-p")
    run = parser.add_argument_group("where it runs")
    run.add_argument("--device", default="auto", help="auto (cuda if available) | cpu | cuda:N")
    run.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    run.add_argument("--batch-size", type=int, default=8, metavar="N", help="contexts per forward")
    run.add_argument("--chunk-tokens", type=int, default=256, metavar="N",
                     help="positions per logits chunk; memory ~ N x vocab x 8 bytes x ~8")  # fmt: skip
    run.add_argument("--trust-remote-code", action="store_true")
    log = parser.add_argument_group("tracking")
    log.add_argument("--logger", default="none", choices=["none", "wandb", "csv"])
    log.add_argument("--wandb-project", default="ssd-sweeps")
    log.add_argument("--wandb-mode", default="auto", choices=["auto", "offline", "online"])
    log.add_argument("--run-name", default="analyze")


def settings_from_args(args: argparse.Namespace) -> AnalysisSettings:
    """Validated settings; a bad value exits with one line (exit code 2)."""
    problems = []
    for name, t in [("--t-train", args.t_train)] + [("--eval-temperatures", t) for t in args.eval_temperatures]:  # fmt: skip
        if t < 0:
            problems.append(f"{name} must be >= 0, got {t}")
    for name, p in (("--top-p", args.top_p), ("--eval-top-p", args.eval_top_p)):
        if not 0 < p <= 1:
            problems.append(f"{name} must be in (0, 1], got {p}")
    for name, n in (("--batch-size", args.batch_size), ("--chunk-tokens", args.chunk_tokens),
                    ("--max-tokens", args.max_tokens)):  # fmt: skip
        if n < 1:
            problems.append(f"{name} must be >= 1, got {n}")
    if min(args.top_k, args.eval_top_k) < 0:
        problems.append("--top-k and --eval-top-k must be >= 0 (0 = off)")
    if problems:
        raise ConfigError(f"ssd analyze: {problems[0]}")
    return AnalysisSettings(
        train_temperature=args.t_train, train_top_k=args.top_k, train_top_p=args.top_p,
        eval_temperatures=tuple(args.eval_temperatures), eval_top_k=args.eval_top_k,
        eval_top_p=args.eval_top_p,
    )  # fmt: skip


def read_contexts(path: str, limit: int | None) -> list[dict]:
    """JSONL rows; a line that is not a JSON object stops with file:line."""
    rows = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ConfigError(f"ssd analyze: {path}:{number}: not JSON ({err.msg})") from err
            if not isinstance(row, dict):
                raise ConfigError(f"ssd analyze: {path}:{number}: a row must be a JSON object")
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _tracker(args: argparse.Namespace, out: Path, config: dict):
    logger = OmegaConf.create(
        {"name": args.logger, "project": args.wandb_project, "mode": args.wandb_mode,
         "group": "analyze"}
    )  # fmt: skip
    return make_tracker(logger, out, args.run_name, config)


def cli(args: argparse.Namespace) -> int:
    """Analyze, write JSON + PNGs, print the summary, log to the tracker when asked."""
    settings = settings_from_args(args)
    if not Path(args.contexts).is_file():
        raise ConfigError(f"ssd analyze: --contexts {args.contexts}: no such file")
    rows = read_contexts(args.contexts, args.max_contexts)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tracker = _tracker(args, out, {"analyze": vars(args)})
    exit_code = 1
    try:
        try:
            result = analyze_models(
                args.base, args.ssd, rows, settings, args.device, args.dtype, args.batch_size,
                args.chunk_tokens, args.max_tokens, args.trust_remote_code, progress=True,
                source=args.contexts,
            )  # fmt: skip
        except ValueError as err:
            raise ConfigError(f"ssd {err}") from err
        files = analyze_report.write_plots(result, out)
        result["files"] = {"analysis": str(out / "analysis.json"), **files}
        atomic_write_json(out / "analysis.json", result)
        tracker.summary({f"analyze/{k}": v for k, v in analyze_report.flat_summary(result).items()})
        for name, png in files.items():
            tracker.image(f"analyze/{name}", Path(png))
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(analyze_report.format_summary(result))
            print(f"wrote {', '.join(result['files'].values())}")
        exit_code = 0
    finally:
        tracker.finish(exit_code)
    return 0
