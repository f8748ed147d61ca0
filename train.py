"""Run the SSD pipeline with Hydra: `python train.py [overrides]`, or a grid with `-m`.

A switchboard only: compose the config, hand it to `ssd.pipeline.run`, return its objective.
Invalid configs exit with code 2 and one line naming the key (see ssd/cli/run.py); Ctrl-C exits
130 and SIGTERM 143 at once, keeping every finished stage (see ssd/signals.py).
"""

import hydra
from omegaconf import DictConfig

from ssd.cli.run import exit_code_for_config_errors, exits_2_on_config_error, job_output_dir
from ssd.config.schema import register_configs
from ssd.pipeline import run
from ssd.signals import exits_on_signals

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
@exits_2_on_config_error
def main(cfg: DictConfig) -> float | None:
    summary = run(cfg, job_output_dir(cfg))
    return summary["best"]["ssd"]["pass@1"] if summary else None


if __name__ == "__main__":
    exits_on_signals(lambda: exit_code_for_config_errors(main))()
