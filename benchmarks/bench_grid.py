"""How much a sweep costs beyond its unique stages, and what a finished sweep costs to run again.

    python benchmarks/bench_grid.py                       # 2 T_train x 3 T_eval toy grid
    python benchmarks/bench_grid.py --t-train 0.5,1.0,1.5 --t-eval 0.6,1.0

Prints (1) the grid's first wall time against the sum of its unique stages' compute times (each
stage's manifest records the wall time it took on its own) — goal <= 1.1x; (2) the rerun's wall
time as a fraction of the first — goal <= 5%; and (3) what users would otherwise do, each cell as
its own job with its own cache (nothing shared), measured in the same run, and the ratio.
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
    """One Python start with the pipeline's imports: a cost every run pays once, stages or not."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import ssd.pipeline, ssd.finetune, ssd.evaluate, ssd.sample"],
        check=True,
        cwd=REPO,
    )
    return time.perf_counter() - started


def stage_seconds(cache: Path) -> dict[str, float]:
    totals: dict[str, float] = {}
    for manifest in cache.glob("*/*/manifest.json"):
        data = json.loads(manifest.read_text())
        totals[data["stage"]] = totals.get(data["stage"], 0.0) + data["wall_s"]
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t-train", default="0.7,1.2", help="comma-separated T_train values")
    parser.add_argument("--t-eval", default="0.6,0.9,1.2", help="comma-separated T_eval values")
    parser.add_argument(
        "--skip-naive", action="store_true", help="skip the one-cache-per-cell comparison"
    )
    parser.add_argument(
        "--experiment",
        default="smoke",
        help="experiment preset for every cell (smoke, or null for the default)",
    )
    args = parser.parse_args(argv)
    extra = [f"experiment={args.experiment}", "replicates=1", "logger=none"]
    cells = [(a, b) for a in args.t_train.split(",") for b in args.t_eval.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first = run_grid(root / "cache", root / "grid1", args.t_train, args.t_eval, extra)
        unique = stage_seconds(root / "cache")
        rerun = run_grid(root / "cache", root / "grid2", args.t_train, args.t_eval, extra)
        print(
            f"grid: {len(args.t_train.split(','))} T_train x {len(args.t_eval.split(','))} T_eval = {len(cells)} jobs"
        )
        print(
            f"unique stage compute (s): {json.dumps({k: round(v, 2) for k, v in sorted(unique.items())})}"
        )
        total_unique = sum(unique.values())
        print(
            f"first run wall: {first:.1f} s | unique stages alone: {total_unique:.1f} s | ratio {first / total_unique:.2f}x (goal <= 1.1x)"
        )
        print(f"rerun wall: {rerun:.1f} s = {100 * rerun / first:.1f}% of the first (goal <= 5%)")
        start = startup_seconds()
        print(
            f"excluding one process start ({start:.1f} s, measured now): first {first - start:.1f} s = "
            f"{(first - start) / total_unique:.2f}x the unique stages; rerun {rerun - start:.1f} s = "
            f"{100 * (rerun - start) / (first - start):.1f}% of the first"
        )
        if not args.skip_naive:
            naive = sum(
                run_grid(root / f"naive{i}", root / f"naive{i}-run", a, b, extra)
                for i, (a, b) in enumerate(cells)
            )
            print(
                f"one job + own cache per cell (nothing shared): {naive:.1f} s | shared-cache grid is {naive / first:.2f}x faster"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
