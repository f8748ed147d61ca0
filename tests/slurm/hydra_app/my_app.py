"""Toy Hydra app that tests/test_slurm.py sweeps through conf/hydra/launcher/*.yaml on a real SLURM.

Writes result.json (x, y, x*y and the SLURM ids it ran under) into its Hydra output dir.
Run from the repo root: `python tests/slurm/hydra_app/my_app.py -m hydra/launcher=slurm x=1,2 y=3,4`.
"""

import json
import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


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
    out = Path(HydraConfig.get().runtime.output_dir) / "result.json"
    out.with_suffix(".tmp").write_text(json.dumps(result, indent=2))
    out.with_suffix(".tmp").rename(out)
    return result["product"]


if __name__ == "__main__":
    main()
