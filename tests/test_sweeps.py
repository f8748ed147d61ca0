"""Named sweeps in dry run: each composes, expands to the documented number of jobs, unique runs."""

from __future__ import annotations

import pytest
from helpers.sweeps import CONF, SWEEPS, expand_sweep, sweep_names
from hydra import compose, initialize_config_dir

from ssd.artifacts import stable_hash

DOCUMENTED_JOBS = {
    "toy_teff": 30,
    "teff_grid": 5,
    "truncation": 12,
    "stress": 1,
    "seeds": 3,
    "rounds": 3,
    "paper_recipe": 6,
    "tinycode_teff": 60,
    "tinycode_stress": 1,
    "tinycode_recipe": 48,
}


def test_every_sweep_file_is_known_and_opens_with_its_command():
    assert set(sweep_names()) == set(DOCUMENTED_JOBS)  # a new sweep states its job count here
    for name in sweep_names():
        text = (SWEEPS / f"{name}.yaml").read_text()
        header = "\n".join(text.splitlines()[1:5])
        assert text.startswith("# @package _global_\n") and f"sweep={name}" in header


@pytest.mark.parametrize("name", sorted(DOCUMENTED_JOBS))
def test_sweep_expands_to_the_documented_jobs_with_unique_identities(name):
    jobs = expand_sweep(name)
    assert len(jobs) == DOCUMENTED_JOBS[name]
    identities = set()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        for job in jobs:
            cfg = compose("config", overrides=job)
            identities.add(stable_hash({k: v for k, v in cfg.items() if k != "paths"}))
    assert len(identities) == len(jobs)


def test_command_line_axes_replace_the_file_axes():
    jobs = expand_sweep("toy_teff", ["eval.temperature=0.5,1.0"])
    assert len(jobs) == 10 and {j[1] for j in jobs} == {
        "eval.temperature=0.5",
        "eval.temperature=1.0",
    }


def test_stress_sweep_turns_every_filter_off():
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=["sweep=stress"])
    assert cfg.filter.name == "none" and not cfg.filter.drop_empty
    assert (cfg.sampling.temperature, cfg.sampling.top_k, cfg.sampling.top_p) == (2.0, 0, 1.0)
