"""Fixtures for the report tests: the figures the reports draw, and what their PNGs hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from ssd.report import plots

DPI = 110  # ssd.report.plots.save_png


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
        assert abs(image.shape[1] - width * DPI) <= 1 and abs(image.shape[0] - height * DPI) <= 1
        rgb = image[..., :3]
        drawn = (rgb < 0.95).any(axis=-1).mean()  # share of pixels that are not (near) white
        assert 0.01 < drawn < 0.9, f"{path.name}: {drawn:.3f} of the pixels drawn"
        assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50  # colours, text, antialiasing
        return image

    return check
