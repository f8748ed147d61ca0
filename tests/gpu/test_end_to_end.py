"""`experiment=smoke` and `experiment=tinycode` end to end with a CUDA GPU: train.py in a fresh
process, fine-tuning on the GPU in bf16-mixed (tinycode's preset pins the CPU: overridden here;
one replicate to fit the tier's time). Wall time and the SSD best pass@1 go to the tier's table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers.support import REPO

NO_CUDA = "needs a CUDA GPU: torch.cuda.is_available() is False"
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)]

ON_GPU = ["finetune.accelerator=gpu", "finetune.precision=bf16-mixed", "logger=csv"]


@pytest.mark.parametrize(
    "experiment, overrides",
    [("smoke", []), ("tinycode", ["replicates=1"])],
)
def test_experiment_end_to_end_with_gpu_fine_tuning(
    experiment: str, overrides: list, tmp_path: Path, gpu_table: list
) -> None:
    run, cache = tmp_path / "run", tmp_path / "cache"
    cmd = [
        sys.executable, str(REPO / "train.py"), f"experiment={experiment}", *ON_GPU, *overrides,
        f"paths.cache_dir={cache}", f"hydra.run.dir={run}",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=480)
    wall = time.perf_counter() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    best = json.loads((run / "results.json").read_text())["summary"]["best"]
    manifests = [json.loads(p.read_text()) for p in cache.glob("finetune/*/manifest.json")]
    assert manifests and {m["metrics"]["precision"] for m in manifests} == {"bf16-mixed"}
    gpu_table.append(
        (
            f"experiment={experiment} {' '.join(overrides)} end to end (GPU fine-tuning)",
            f"{wall:.0f} s, SSD best pass@1 {best['ssd']['pass@1']:.3f}",
            f"base {best['base']['pass@1']:.3f}",
            "-",
            "runs",
        )
    )
