"""What the integrity check costs when a cached stage is reused: sizes vs full hash, warm and cold.

    .venv/bin/python benchmarks/bench_cache_verify.py               # a 2 GiB checkpoint-like stage
    .venv/bin/python benchmarks/bench_cache_verify.py --mib 512 --repeats 5

Writes one stage holding a weights file of --mib MiB (random bytes: nothing compresses) plus the
small files a fine-tuned model folder has, commits it through the cache (the commit hashes the
weights once, as for a safetensors checkpoint), then times `Cache.finished` (what every reuse calls)
with paths.verify=sizes and =full, each from a fresh in-process memo. "cold" drops the page cache
first (needs root; skipped otherwise), as for a checkpoint on shared storage read for the first time
on a node. Not a test: timings are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def _drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=2048, help="size of the weights file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to put the cache (default: a temp dir)")
    args = parser.parse_args()

    from ssd import cache as cache_module
    from ssd.cache import Cache

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        chunk = os.urandom(1 << 20)

        def compute(out: Path) -> dict:
            (out / "model").mkdir()
            with (out / "model" / "model.safetensors").open("wb") as handle:
                for _ in range(args.mib):
                    handle.write(chunk)
            for name, size in (("config.json", 1500), ("tokenizer.json", 30_000)):
                (out / "model" / name).write_bytes(b"x" * size)
            return {}

        write = _timed(lambda: Cache.at(root).run("finetune", compute, args={"a": 1}))
        print(f"stage with a {args.mib} MiB weights file: written + committed in {write:.2f} s")
        rows = []
        for mode in ("sizes", "full"):
            for temperature in ("warm", "cold"):
                times = []
                for _ in range(args.repeats):
                    cache_module._SOUND.clear()
                    if temperature == "cold" and not _drop_caches():
                        break
                    cache = Cache.at(root, verify=mode)
                    times.append(
                        _timed(
                            lambda c=cache: c.finished("finetune", c.key("finetune", args={"a": 1}))
                        )
                    )
                if times:
                    rows.append((mode, temperature, statistics.median(times), min(times)))
        for mode, temperature, median, best in rows:
            rate = f"  ({args.mib / median:.0f} MiB/s)" if mode == "full" else ""
            print(
                f"verify={mode:<5} {temperature}: median {median * 1000:.1f} ms, best {best * 1000:.1f} ms{rate}"
            )


if __name__ == "__main__":
    main()
