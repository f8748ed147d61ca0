"""Paths shared by tests that cannot take fixtures (module-scoped set-ups)."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "conf"
