"""Trackers read back from disk: real offline W&B runs (the `.wandb` file) and the CSV files.

Nothing here reaches the network: every W&B run is offline, written under tmp_path, and the
`auto` mode is checked with HOME pointed at an empty folder (no ~/.netrc) and no API key.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from helpers.support import read_wandb_run

from ssd.pipeline import typed
from ssd.tracking import (
    CsvTracker,
    Tracker,
    WandbTracker,
    flatten,
    group_name,
    make_tracker,
    sweep_group,
    wandb_mode,
)

CONFIG = {"sampling": {"temperature": 1.5, "top_k": 20}, "name": "cell-a", "extra": {}}


def logger_cfg(make_cfg, *overrides: str):
    """The typed `logger` slice, as `ssd.pipeline.run` hands it to `make_tracker`."""
    return typed(make_cfg(*overrides)).logger


def the_run(output_dir: Path) -> Path:
    """The run's folder once its `.wandb` file holds the exit record.

    `finish()` returns when W&B's service has the exit, which may be a moment before its writer
    has flushed the file (seen on a loaded machine), so the file is polled for it.
    """
    deadline = time.monotonic() + 30.0
    while True:
        runs = list((output_dir / "wandb").glob("offline-run-*"))
        try:
            if len(runs) == 1 and exit_code(runs[0]) is not None:
                return runs[0]
        except Exception:  # noqa: BLE001 - a record cut off mid-write: read it again
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no finished W&B run under {output_dir}: {runs}")
        time.sleep(0.05)


def exit_code(run_dir: Path) -> int | None:
    """The exit record's code in the run's `.wandb` file (None until W&B has written it)."""
    return read_wandb_run(run_dir)["exit_code"]


def png(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    fig.savefig(path)
    plt.close(fig)
    return path


def test_flatten_and_group_names():
    assert flatten(CONFIG) == {
        "sampling.temperature": 1.5,
        "sampling.top_k": 20,
        "name": "cell-a",
        "extra": {},  # an empty group stays one key instead of vanishing
    }
    assert group_name("seeds", "/runs/multirun/2025-01-01/12-00-00") == "seeds/12-00-00"
    assert group_name(None, "/runs/multirun/12-00-00") == "12-00-00"
    assert group_name("null", Path("/runs/x")) == "x"  # Hydra's choice of an unset sweep
    assert sweep_group() is None  # not inside a Hydra multirun


def test_wandb_offline_run_records_group_job_type_config_and_summary(make_cfg, tmp_path):
    cfg = logger_cfg(make_cfg, "logger.name=wandb", "logger.mode=offline", "logger.group=g1")
    out = tmp_path / "out"
    tracker = make_tracker(cfg, out, "cell-a", CONFIG)
    assert isinstance(tracker, WandbTracker)
    try:
        tracker.log({"finetune/loss": 2.5}, step=0)
        tracker.summary({"best/ssd/pass@1": 0.25, "eval/n_samples": 4})
        tracker.table("eval/pass_at_1", ["T", "pass@1"], [[0.5, 0.1], [1.0, 0.2]])
        tracker.image("eval/pass_at_1_plot", png(tmp_path / "plot.png"))
    finally:
        tracker.finish()
    run = read_wandb_run(the_run(out))
    assert (run["group"], run["job_type"]) == ("g1", "cell")
    assert {"sampling.temperature", "sampling.top_k", "name", "extra"} <= run["config"]
    assert "sampling" not in run["config"]  # flattened: W&B filters address dotted names
    assert {"finetune/loss", "best/ssd/pass@1", "eval/n_samples"} <= run["summary"]
    assert any(key.startswith("eval/pass_at_1/") for key in run["summary"])  # the table
    assert any(key.startswith("eval/pass_at_1_plot/") for key in run["summary"])  # the image
    assert list((the_run(out) / "files" / "media" / "images").rglob("*.png"))
    assert exit_code(the_run(out)) == 0


def test_finish_with_a_failure_code_closes_the_run(make_cfg, tmp_path):
    import wandb

    cfg = logger_cfg(make_cfg, "logger.name=wandb", "logger.mode=offline")
    tracker = make_tracker(cfg, tmp_path / "failed", "cell-b", CONFIG)
    assert wandb.run is tracker.run
    tracker.finish(1)
    assert wandb.run is None
    assert exit_code(the_run(tmp_path / "failed")) == 1
    # A tracker whose job died before finish(): the next one closes it ("finish_previous").
    stale = make_tracker(cfg, tmp_path / "stale", "cell-c", CONFIG)
    fresh = make_tracker(cfg, tmp_path / "fresh", "cell-d", CONFIG)
    try:
        the_run(tmp_path / "stale")  # it has its exit record
        assert wandb.run is fresh.run and stale.run is not fresh.run
    finally:
        fresh.finish()


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return home


def test_auto_mode_is_offline_without_an_api_key(no_credentials, monkeypatch):
    assert wandb_mode("auto") == "offline"
    (no_credentials / ".netrc").write_text("machine example.org login x password y\n")
    assert wandb_mode("auto") == "offline"  # a netrc for another host is no W&B key
    (no_credentials / ".netrc").write_text("machine api.wandb.ai login user password k\n")
    assert wandb_mode("auto") == "online"
    (no_credentials / ".netrc").unlink()
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert wandb_mode("auto") == "online"
    assert wandb_mode("offline") == "offline" and wandb_mode("disabled") == "disabled"


def test_auto_mode_run_is_written_offline(no_credentials, monkeypatch, make_cfg, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)  # only the tracker decides the mode here
    cfg = logger_cfg(make_cfg, "logger.name=wandb")  # the schema's default mode: auto
    assert cfg.mode == "auto"
    tracker = make_tracker(cfg, tmp_path / "auto", "cell-e", CONFIG)
    try:
        tracker.summary({"best/ssd/pass@1": 0.5})
    finally:
        tracker.finish()
    assert tracker.run.offline
    assert "best/ssd/pass@1" in read_wandb_run(the_run(tmp_path / "auto"))["summary"]


@pytest.mark.slow  # ~5 s: importing Lightning for its CSVLogger
def test_csv_tracker_writes_summary_tables_and_lightning_metrics(make_cfg, tmp_path):
    tracker = make_tracker(logger_cfg(make_cfg, "logger.name=csv"), tmp_path, "cell-f", CONFIG)
    assert isinstance(tracker, CsvTracker)
    tracker.summary({"b/pass@1": 0.5, "a/n": 3})
    tracker.table("eval/pass_at_1", ["T", "pass@1"], [[0.5, 0.1], [1.0, 0.2]])
    tracker.log({"train/loss": 2.0, "trainer/global_step": 1}, step=1)
    tracker.log({"base/loss": 0.5})
    tracker.image("analyze/fork_lock", tmp_path / "fork_lock.png")
    (logger,) = tracker.lightning_loggers()
    logger.log_metrics({"train/loss": 1.25}, step=3)
    logger.save()
    tracker.finish(1)
    with (tmp_path / "csv" / "summary.csv").open() as handle:
        assert list(csv.reader(handle)) == [["key", "value"], ["a/n", "3"], ["b/pass@1", "0.5"]]
    with (tmp_path / "csv" / "eval_pass_at_1.csv").open() as handle:
        assert list(csv.reader(handle)) == [["T", "pass@1"], ["0.5", "0.1"], ["1.0", "0.2"]]
    (metrics,) = (tmp_path / "csv" / "finetune").glob("version_*/metrics.csv")
    with metrics.open() as handle:
        assert [row["train/loss"] for row in csv.DictReader(handle)] == ["1.25"]
    with (tmp_path / "csv" / "metrics.csv").open() as handle:
        assert list(csv.reader(handle)) == [
            ["step", "key", "value"],
            ["1", "train/loss", "2.0"],
            ["1", "trainer/global_step", "1"],
            ["", "base/loss", "0.5"],
        ]
    with (tmp_path / "csv" / "images.csv").open() as handle:
        assert list(csv.reader(handle)) == [["analyze/fork_lock", str(tmp_path / "fork_lock.png")]]


def test_none_logger_writes_nothing(make_cfg, tmp_path):
    tracker = make_tracker(logger_cfg(make_cfg), tmp_path / "none", "cell-g", CONFIG)
    assert type(tracker) is Tracker and tracker.lightning_loggers() is False
    tracker.summary({"a": 1})
    tracker.finish(1)
    assert not (tmp_path / "none").exists()
