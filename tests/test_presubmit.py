"""Sweeps are checked before they start (ssd/presubmit.py): `train.py -m` composes, validates and
preflights every cell in the submitting process and refuses the whole sweep, one line per bad
cell and exit 2, before any job runs. The SLURM version (no sbatch): tests/test_slurm_failures.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.support import ASSETS, REPO

PROBLEMS = ASSETS / "lcb" / "problems.jsonl"
HUB_MODEL = "ssd-tests/not-a-cached-model"


def train(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    """`train.py -m ...` from tmp_path, offline (hub items must be cached), logging to CSV."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    cmd = [
        sys.executable, str(REPO / "train.py"), "-m", "logger=csv",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", f"paths.cache_dir={tmp_path / 'cache'}",
        *overrides,
    ]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def test_every_bad_cell_is_named_on_its_own_line_and_nothing_runs(tmp_path: Path) -> None:
    """A 2x2x2 toy grid: cells with global_batch_size=5 fail validation, cells with
    sampling.backend=bogus fail composition; each bad cell gets one line naming its overrides,
    the key, the value and what is allowed."""
    done = train(
        tmp_path, "experiment=smoke", "sampling.temperature=0.5,1.0",
        "finetune.global_batch_size=32,5", "sampling.backend=hf,bogus",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    lines = error_lines(done)
    assert len(lines) == 6 and len(lines) == len(done.stderr.strip().splitlines()), done.stderr
    for line, num in zip(lines, [1, 2, 3, 5, 6, 7], strict=True):
        assert line.startswith(f"error: sweep not submitted: cell #{num} of 8 [sampling."), line
    assert "[sampling.temperature=0.5 finetune.global_batch_size=5 sampling.backend=hf]" in lines[1]
    assert "finetune.global_batch_size=5 is invalid: must be a multiple of" in lines[1]
    assert "sampling.backend=bogus" in lines[0] and "expected one of [hf, vllm]" in lines[0]
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "cache").exists()


def test_preflight_and_the_contamination_guard_run_for_every_cell(tmp_path: Path) -> None:
    """model.path x data.path: a hub model that is not cached (offline) is refused by preflight,
    a pool that repeats an evaluated problem by the contamination guard; the clean cell passes."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")  # nothing loads it: no cell gets past the checks
    question = json.loads(PROBLEMS.read_text().splitlines()[0])["question_content"]
    clean, leaky = tmp_path / "clean.jsonl", tmp_path / "leaky.jsonl"
    clean.write_text(json.dumps({"id": "p0", "question": "Print the sum of a and b."}) + "\n")
    leaky.write_text(json.dumps({"id": "p1", "question": question}) + "\n")
    done = train(
        tmp_path, "~experiment", "model=local", f"model.path={HUB_MODEL},{model}", "data=jsonl",
        f"data.path={clean},{leaky}", "eval.benchmark.name=jsonl",
        f"eval.benchmark.path={PROBLEMS}",
    )  # fmt: skip
    lines = error_lines(done)
    assert done.returncode == 2 and len(lines) == 3, done.stderr[-3000:]
    assert [ln.split("]", 1)[0].split(" [", 1)[1] for ln in lines] == [
        f"model.path={HUB_MODEL} data.path={clean}",
        f"model.path={HUB_MODEL} data.path={leaky}",
        f"model.path={model} data.path={leaky}",
    ]
    assert all(f"model.path='{HUB_MODEL}' is invalid: HF_HUB_OFFLINE=1" in ln for ln in lines[:2])
    assert "data.allow_eval_overlap=true" in lines[2], lines[2]
    assert not (tmp_path / "sweep").exists()


def test_the_check_can_be_turned_off_for_data_only_compute_nodes_see(tmp_path: Path) -> None:
    """enabled=false: the sweep reaches its launcher, and the bad cell is refused by its own job."""
    done = train(
        tmp_path, "experiment=smoke", "finetune.global_batch_size=5",
        "sampling.temperature=0.5,1.0", "hydra.callbacks.presubmit.enabled=false",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert error_lines(done) == [
        "error: finetune.global_batch_size=5 is invalid: must be a multiple of "
        "batch_size*devices*num_nodes = 32"
    ]
    assert (tmp_path / "sweep" / "multirun.yaml").is_file()  # the sweeper had started


def test_with_the_slurm_launcher_fine_tuning_must_fit_the_allocation_it_asks_for(
    tmp_path: Path,
) -> None:
    """The rule each job applies to its allocation (ssd.validation.validate_allocation), applied
    to the shape the launcher would request: refused before sbatch, so no SLURM is needed here."""
    done = train(
        tmp_path, "hydra/launcher=slurm", "hydra.launcher.gpus_per_node=2", "experiment=smoke",
        "finetune.devices=2", "finetune.batch_size=8", "finetune.accelerator=cpu",
        "finetune.num_nodes=1,2",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert error_lines(done) == [
        "error: sweep not submitted: cell #1 of 2 [finetune.num_nodes=2]: finetune.num_nodes=2 "
        "is invalid: this SLURM job has 1 node(s): request them with hydra.launcher.nodes=2"
    ]
    assert not (tmp_path / "sweep").exists()
