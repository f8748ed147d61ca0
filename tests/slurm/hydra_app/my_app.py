"""Toy Hydra app that tests/test_slurm.py sweeps through conf/hydra/launcher/*.yaml on a real SLURM.

Writes result.json (x, y, x*y and the SLURM ids it ran under) into its Hydra output dir from task 0,
and task<N>.json (what task N of a multi-task job saw: its rank, task count and GPUs) from every
task, so a test can check the shape a GPU launcher gives each task.
Run from the repo root: `python tests/slurm/hydra_app/my_app.py -m hydra/launcher=slurm x=1,2 y=3,4`.
"""

import json
import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


def _write(out: Path, data: dict) -> None:
    out.with_suffix(".tmp").write_text(json.dumps(data, indent=2))
    out.with_suffix(".tmp").rename(out)


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> int:
    result = {
        "x": cfg.x,
        "y": cfg.y,
        "product": cfg.x * cfg.y,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "slurm_array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
        "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
    }
    rank = os.environ.get("SLURM_PROCID", "0")
    task = {
        name: os.environ.get(name)
        for name in ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES")
    }
    folder = Path(HydraConfig.get().runtime.output_dir)
    _write(folder / f"task{rank}.json", task)
    if rank == "0":
        _write(folder / "result.json", result)
    return result["product"]


if __name__ == "__main__":
    main()
