"""Damage a file the ways storage and people do, for the cache integrity tests."""

from __future__ import annotations

from pathlib import Path

WAYS = ("truncate_line", "tear", "zero", "delete")


def damage(path: Path, how: str) -> None:
    """Cut at a line end (half the lines), tear mid-line, zero a run of bytes at the end (size
    unchanged: up to 5,000 bytes, as in issue 18's safetensors), or delete."""
    data = path.read_bytes()
    if how == "truncate_line":
        lines = data.splitlines(keepends=True)
        path.write_bytes(b"".join(lines[: max(len(lines) // 2, 1)]))
    elif how == "tear":
        path.write_bytes(data[: len(data) // 2 + 3])
    elif how == "zero":
        n = min(len(data) // 4 + 1, 5000)
        path.write_bytes(data[:-n] + b"\0" * n)
    elif how == "delete":
        path.unlink()
    else:
        raise ValueError(how)
