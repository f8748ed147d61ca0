"""The multi-device training worker: `python -m ssd.sft.worker JOB.json`, run on every rank.

Lightning's launcher re-executes this small script per rank instead of the whole pipeline; the
finetune stage writes JOB.json (see `ssd.sft.loop.run_job`) and reads back train_metrics.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger

from ssd.artifacts import read_json
from ssd.sft.loop import run_job
from ssd.signals import exits_on_signals


def main(argv: list[str] | None = None) -> None:
    job = read_json(Path((argv or sys.argv[1:])[0]))
    run_job(job, [CSVLogger(save_dir=str(Path(job["out"]) / "logs"), name="", version="")])


if __name__ == "__main__":
    exits_on_signals(main)()  # a signalled rank exits 130/143 too, not Lightning's 0 or 1
