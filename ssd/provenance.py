"""Provenance of a cached stage: the package versions and the git commit of the code that made it.

Recorded in every stage manifest (ssd/cache.py) so a result can be traced to the code that made
it; kept apart so the cache module stays about reuse and integrity.
"""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def versions() -> dict[str, str]:
    """Python and the installed versions of the packages that shape a stage's output."""
    found = {"python": platform.python_version()}
    for package in ("ssd-sweeps", "torch", "transformers", "lightning", "hydra-core", "vllm"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def git_sha() -> str | None:
    """The commit of the code that ran, if it runs from a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
