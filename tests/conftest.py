"""Shared fixtures: composed Hydra configs pointed at per-test folders, offline and on CPU."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from helpers.support import compose_run
from matplotlib.image import imread
from omegaconf import DictConfig, OmegaConf

from ssd.config.schema import register_configs
from ssd.report import plots

REPO = Path(__file__).resolve().parent.parent

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
register_configs()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One stage cache for the whole session: tests that share a config share its stages."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def make_cfg(tmp_path: Path, session_cache: Path) -> Callable[..., DictConfig]:
    """Compose `conf/config.yaml` with overrides; outputs under tmp_path, the session's cache."""

    def _make(*overrides: str, cache: Path | None = None) -> DictConfig:
        return compose_run(*overrides, cache=cache or session_cache, out=tmp_path / "run")

    return _make


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random Qwen3 with the toy tokenizer, its output layer scaled so it is peaked."""
    import torch

    from ssd.config.schema import ModelConfig, ToyTaskConfig
    from ssd.models import build_tiny_model, save_model
    from ssd.toy.task import ToyTask
    from ssd.toy.tokenizer import build_word_tokenizer

    task = ToyTask(OmegaConf.structured(ToyTaskConfig))
    tokenizer = build_word_tokenizer(task.vocabulary())
    model = build_tiny_model(tokenizer, OmegaConf.structured(ModelConfig), seed=0)
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(
            3.0
        )  # tied head: peaked, varied next-token distributions
    path = tmp_path_factory.mktemp("tiny") / "model"
    save_model(model, tokenizer, path)
    return path


@pytest.fixture(scope="session")
def tiny_code_model_dir(tmp_path_factory) -> Path:
    """A stand-in for a real chat code model: 2-layer Qwen3 (head_dim 64), byte-level BPE trained
    on tests/assets/code_corpus.txt, ChatML template; fit for a few seconds so it writes code-like
    text and ends its turn with <|im_end|>. Built once per session (~5 s on 2 cores)."""
    from helpers.code_model import build_tiny_code_model

    path = tmp_path_factory.mktemp("tiny_code") / "model"
    return build_tiny_code_model(path, REPO / "tests" / "assets" / "code_corpus.txt")


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine spinning threads cost 10x."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def pipeline_outputs(tmp_path_factory):
    """Real pipeline outputs for the report and selection tests, made once per session.

    `run`: an `experiment=smoke` run (2 seeds). `sweep`: a 2x2 grid, T_train {1.0, 1.5} x
    T_eval {0.7, 1.0}, one seed a cell, laid out as a multirun (cells 0..3). All on one stage
    cache (`cache`), so the T_train=1.0 cells reuse the smoke run's training; ~30 s on 2 cores.
    """
    # Imported here: this fixture is appended, and the module's header stays as it was.
    import contextlib
    import io
    from types import SimpleNamespace

    from ssd.pipeline import run

    root = tmp_path_factory.mktemp("pipeline_outputs")
    printed = io.StringIO()

    def run_into(out: Path, *overrides: str) -> Path:
        cfg = compose_run("experiment=smoke", *overrides, cache=root / "cache", out=out)
        with contextlib.redirect_stdout(printed):  # the run's table: kept, not printed
            run(cfg, out)
        return out

    smoke = run_into(root / "smoke", "replicates=2")
    grid = [(t_train, t_eval) for t_train in (1.0, 1.5) for t_eval in (0.7, 1.0)]
    for cell, (t_train, t_eval) in enumerate(grid):
        overrides = [f"sampling.temperature={t_train}", f"eval.temperature={t_eval}"]
        run_into(root / "sweep" / str(cell), "replicates=1", *overrides)
    return SimpleNamespace(
        run=smoke, sweep=root / "sweep", cache=root / "cache", printed=printed.getvalue()
    )


# -- figures the reports draw, and what their PNGs hold (report, sweep and CLI tests) -----------

PNG_DPI = 110  # ssd.report.plots.save_png


@pytest.fixture
def recorded_figures(monkeypatch) -> dict:
    """Every Figure handed to `ssd.report.plots.save_png`, by file name; still saved."""
    figures: dict = {}
    save = plots.save_png

    def record(fig, path):
        figures[Path(path).name] = fig
        return save(fig, path)

    monkeypatch.setattr(plots, "save_png", record)
    return figures


@pytest.fixture
def check_png():
    """Assert that a written PNG has its figure's pixel size and is not blank."""

    def check(path: Path, fig=None, size_inches: tuple[float, float] | None = None) -> np.ndarray:
        image = imread(path)
        width, height = size_inches or fig.get_size_inches()
        assert (
            abs(image.shape[1] - width * PNG_DPI) <= 1
            and abs(image.shape[0] - height * PNG_DPI) <= 1
        )
        rgb = image[..., :3]
        drawn = (rgb < 0.95).any(axis=-1).mean()  # share of pixels that are not (near) white
        assert 0.01 < drawn < 0.9, f"{path.name}: {drawn:.3f} of the pixels drawn"
        assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50  # colours, text, antialiasing
        return image

    return check
