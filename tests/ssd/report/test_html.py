"""report.html, opened in headless Chromium: a run's page and a sweep's page render their sections
and figures with no network, and the run PNG draws one panel when T_train = 1.

Chromium is Debian's package (`make system-deps` installs it as root); without it these tests
fail rather than skip, so CI cannot pass without rendering the pages. One launch per page both
dumps the DOM and takes the screenshot.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from ssd.cli.report import main as report
from ssd.report.html import NOT_RUN, run_page
from ssd.report.run import plot
from ssd.results import RunSummary

pytestmark = pytest.mark.slow  # reads the session's pipeline outputs

RUN_IDS = {"curves", "best-table", "forklock", "config", "problem-set"}
URL = re.compile(rb"https?://", re.IGNORECASE)
WINDOW = (1280, 2400)  # tall enough that the first figures are in the screenshot


class _Page(HTMLParser):
    """The ids, image sources and text of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.sources: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        if tag == "img":
            self.sources.append(found.get("src") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "chromium is missing: `make system-deps` installs Debian's chromium (as root; "
            "elsewhere apt-get install chromium); the report pages are tested in it"
        )
    return found


def _render(page: Path, tmp_path: Path) -> tuple[_Page, np.ndarray]:
    """One headless Chromium launch: the DOM it built and a screenshot, with name lookups off."""
    shot = tmp_path / f"{page.parent.name}.png"
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers' /dev/shm is small
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # a page that reached out would get nothing
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={shot}",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = _Page()
    dom.feed(done.stdout)
    return dom, imread(shot)


def _check_offline(page: Path) -> None:
    """No URL anywhere in the file, nor inside its inlined PNGs, and every image inlined."""
    data = page.read_bytes()
    assert not URL.search(data), URL.search(data)
    for png in re.findall(rb"data:image/png;base64,([A-Za-z0-9+/=]+)", data):
        assert not URL.search(base64.b64decode(png))
    assert b"<script" not in data and b"<link" not in data
    sources = re.findall(rb'(?:src|href)="([^"]*)"', data)
    assert sources and all(s.startswith(b"data:image/png;base64,") for s in sources)


def _check_screenshot(image: np.ndarray) -> None:
    """Not blank: the page drew text and figures, not one flat colour."""
    rgb = image[..., :3]
    assert rgb.shape[:2] == (WINDOW[1], WINDOW[0])
    assert rgb.std() > 0.05, f"pixel std {rgb.std():.4f}: a blank page"
    assert 0.02 < (rgb < 0.9).any(axis=-1).mean() < 0.9
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 100  # the figures' colours


def test_the_run_page_renders_every_section_offline(pipeline_outputs, tmp_path):
    page = pipeline_outputs.run / "report.html"
    _check_offline(page)
    dom, image = _render(page, tmp_path)
    assert dom.ids >= RUN_IDS
    assert len(dom.sources) == 1 and dom.sources[0].startswith("data:image/png;base64,")
    text = " ".join(dom.text)
    for shown in ("SSD-as-decoder", "SSD best vs base best", "95% CI", "lock distractor mass"):
        assert shown in text, shown
    results = json.loads((pipeline_outputs.run / "results.json").read_text())
    assert results["problem_set"]["ids_sha256"] in text and "copies_per_instance" in text
    _check_screenshot(image)


def test_the_sweep_page_renders_every_section_offline(pipeline_outputs, tmp_path, capsys):
    out = tmp_path / "report"
    assert report([str(pipeline_outputs.sweep), "--out", str(out)]) == 0
    assert f"page: {out / 'report.html'}" in capsys.readouterr().out
    page = out / "report.html"
    _check_offline(page)
    dom, image = _render(page, tmp_path)
    assert RUN_IDS | {"heatmap"} <= dom.ids
    assert len(dom.sources) == 4  # T_eval curves, T_eff, heatmap, best vs baselines
    text = " ".join(dom.text)
    assert "What varies across the 4 cells" in text and "sampling.temperature" in text
    assert "SSD best vs SSD-as-decoder best" in text  # the best cell's paired comparisons
    _check_screenshot(image)


def test_a_run_without_the_analyze_stage_says_not_run(pipeline_outputs):
    results = json.loads((pipeline_outputs.run / "results.json").read_text())
    results["summary"]["diagnostics"] = {}
    for rep in results["replicates"]:
        rep.pop("fork_lock", None)
    page = run_page(results, pipeline_outputs.run / "pass_at_1.png")
    forklock = page[page.index('id="forklock"') : page.index('id="config"')]
    assert "not run" in NOT_RUN and NOT_RUN.split(" (")[0] in forklock
    assert "lock distractor mass" not in forklock


def test_the_run_png_has_one_panel_when_t_train_is_1(pipeline_outputs, recorded_figures, tmp_path):
    results = json.loads((pipeline_outputs.run / "results.json").read_text())
    summary = RunSummary.from_json(results["summary"])
    assert summary.t_train == 1.0  # the smoke run: T_eff = T_eval, a second panel would repeat it
    plot(summary, tmp_path / "one.png")
    (panel,) = recorded_figures["one.png"].axes
    assert (
        panel.get_xlabel() == "T_eval"
        and "T_eff = T_eval" in recorded_figures["one.png"].get_suptitle()
    )
    plot(replace(summary, t_train=1.5), tmp_path / "two.png")
    first, second = recorded_figures["two.png"].axes
    assert second.get_xlabel().startswith("T_eff")


def test_a_url_in_the_data_is_shown_but_not_linked(pipeline_outputs):
    """A config or record value that holds a URL keeps no "scheme://" in the file (it reads the
    same in the browser: the colon is an entity), so no browser or scanner takes it for a link."""
    results = json.loads((pipeline_outputs.run / "results.json").read_text())
    results["config"]["data"]["hf_dataset"] = "https://example.org/data"
    results["problem_set"]["source"] = "http://example.org/problems"
    page = run_page(results, pipeline_outputs.run / "pass_at_1.png")
    assert not URL.search(page.encode())
    assert "https&#58;//example.org/data" in page and "http&#58;//example.org/problems" in page
