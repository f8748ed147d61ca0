"""Headless matplotlib and atomic PNG writes, shared by every report that draws.

`pyplot()` selects the Agg backend first (cluster nodes and tests have no display);
`save_png(fig, path)` writes a temporary file beside `path` and renames it, so a reader never
sees half a PNG, and the PNG carries no URL in its metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported here: the backend must be set first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    # No "Software" chunk: matplotlib's names its website, and report.html inlines these PNGs
    # under the promise that no URL is anywhere in the page (ssd/report/html.py).
    fig.savefig(tmp, dpi=110, metadata={"Software": None})
    pyplot().close(fig)
    tmp.replace(path)
    return path
