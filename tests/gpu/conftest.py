"""The GPU tier's one table: tests add rows to the session's `gpu_table`, and it is printed at
the end of `make gpu-check` (each row also appended to $GPU_TABLE when set), beside the goals of
issue 19. Also orders the tier's files so the real-size measurements run first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HEADER = ("what", "ours", "reference", "ours/ref", "goal")


class Table(list):
    """Rows of (what, ours, reference, ratio, goal) strings; each one is also appended to
    $GPU_TABLE at once, so a run cut by its time bound keeps the rows it made."""

    def append(self, row: tuple[str, ...]) -> None:
        super().append(row)
        if os.environ.get("GPU_TABLE"):
            with open(os.environ["GPU_TABLE"], "a") as out:
                out.write(" | ".join(row) + "\n")


_ROWS = Table()
# Cheapest-to-lose last: if `make gpu-check`'s time bound cuts the run, the sizes' figures exist.
ORDER = ("test_scale.py", "test_gpu.py", "test_end_to_end.py")


@pytest.fixture(scope="session")
def gpu_table() -> Table:
    """The session's table: tests append rows of strings."""
    return _ROWS


def pytest_collection_modifyitems(items: list) -> None:
    """Order a run of this tier alone (a wider run keeps its own order)."""
    here = Path(__file__).parent
    if any(Path(str(item.fspath)).parent != here for item in items):
        return
    rank = {name: i for i, name in enumerate(ORDER)}
    items.sort(key=lambda item: rank.get(Path(str(item.fspath)).name, len(ORDER)))


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
