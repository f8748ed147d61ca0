"""The GPU tier's one table: tests add rows to the session's `gpu_table`, and it is printed at
the end of `make gpu-check` (and written to $GPU_TABLE when set), beside the goals of issue 19."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HEADER = ("what", "ours", "reference", "ours/ref", "goal")
_ROWS: list[tuple[str, ...]] = []


@pytest.fixture(scope="session")
def gpu_table() -> list[tuple[str, ...]]:
    """Append (what, ours, reference, ratio, goal) rows of strings."""
    return _ROWS


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [HEADER, *rows]
    ]
    return "\n".join([lines[0], "-+-".join("-" * w for w in widths), *lines[1:]])


def pytest_terminal_summary(terminalreporter) -> None:
    if not _ROWS:
        return
    text = format_table(_ROWS)
    terminalreporter.write_sep("=", "GPU tier")
    terminalreporter.write_line(text)
    if os.environ.get("GPU_TABLE"):
        Path(os.environ["GPU_TABLE"]).write_text(text + "\n")
