"""How much a sweep costs beyond its unique stages, and what a finished sweep costs to run again.

    python benchmarks/bench_grid.py                       # 2 T_train x 3 T_eval, the default toy
    python benchmarks/bench_grid.py --t-train 0.5,1.0,1.5 --t-eval 0.6,1.0 --experiment smoke

Prints (1) the grid's first wall time against its unique stages run alone: the sum of their
compute times (each stage's manifest records the wall time it took) plus the one process start
(Python + torch/Lightning/transformers imports) that running them at all costs, measured now —
goal <= 1.1x; the ratio against the compute alone is printed too; (2) the rerun's wall time as a
fraction of the first — goal <= 5%; (3) what users would otherwise do, each cell as its own job
with its own cache (nothing shared), measured in the same run, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_grid(cache: Path, sweep_dir: Path, t_train: str, t_eval: str, extra: list[str]) -> float:
    command = [
        sys.executable,
        str(REPO / "train.py"),
        "-m",
        f"sampling.temperature={t_train}",
        f"eval.temperature={t_eval}",
        f"paths.cache_dir={cache}",
        f"hydra.sweep.dir={sweep_dir}",
        *extra,
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
    return time.perf_counter() - started


def startup_seconds() -> float:
    """One Python start with the stages' imports: what running any stage at all costs first."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import ssd.pipeline, ssd.sft.loop, ssd.stages.evaluate, ssd.stages.sample",
        ],
        check=True,
        cwd=REPO,
    )
    return time.perf_counter() - started


def stage_seconds(cache: Path) -> dict[str, float]:
    """Compute seconds per stage, from the manifests. `run` records wrap the other stages (their
    wall time contains them), so they are not stages of their own here."""
    totals: dict[str, float] = {}
    for manifest in cache.glob("*/*/manifest.json"):
        data = json.loads(manifest.read_text())
        if data["stage"] != "run":
            totals[data["stage"]] = totals.get(data["stage"], 0.0) + data["wall_s"]
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--t-train", default="0.7,1.2", help="comma-separated T_train values")
    parser.add_argument("--t-eval", default="0.6,0.9,1.2", help="comma-separated T_eval values")
    parser.add_argument(
        "--experiment",
        default="toy",
        help="experiment preset for every cell: toy (the fork/lock toy), smoke, tinycode, ...",
    )
    parser.add_argument("--replicates", type=int, default=3, help="seeds per cell")
    parser.add_argument(
        "--skip-naive", action="store_true", help="skip the one-cache-per-cell comparison"
    )
    args = parser.parse_args(argv)
    preset = [f"experiment={args.experiment}"]
    extra = [*preset, f"replicates={args.replicates}", "logger=none"]
    n_train, n_eval = len(args.t_train.split(",")), len(args.t_eval.split(","))
    cells = [(a, b) for a in args.t_train.split(",") for b in args.t_eval.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(
            f"grid: {n_train} T_train x {n_eval} T_eval = {len(cells)} jobs, {args.replicates} seeds"
        )
        first = run_grid(root / "cache", root / "grid1", args.t_train, args.t_eval, extra)
        unique = stage_seconds(root / "cache")
        rerun = run_grid(root / "cache", root / "grid2", args.t_train, args.t_eval, extra)
        start = startup_seconds()
        compute = sum(unique.values())
        alone = compute + start
        print(
            f"unique stage compute (s): {json.dumps({k: round(v, 2) for k, v in sorted(unique.items())})}"
        )
        print(
            f"first run wall: {first:.1f} s | unique stages run alone: {alone:.1f} s "
            f"({compute:.1f} s compute + {start:.1f} s process start) | ratio {first / alone:.2f}x "
            f"(goal <= 1.1x); vs compute alone {first / compute:.2f}x"
        )
        print(f"rerun wall: {rerun:.2f} s = {100 * rerun / first:.1f}% of the first (goal <= 5%)")
        if not args.skip_naive:
            naive = sum(
                run_grid(root / f"naive{i}", root / f"naive{i}-run", a, b, extra)
                for i, (a, b) in enumerate(cells)
            )
            print(
                f"one job + own cache per cell (nothing shared): {naive:.1f} s | "
                f"shared-cache grid is {naive / first:.2f}x faster"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
