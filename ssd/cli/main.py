"""The `ssd` console script: one subcommand per tool, each living beside the stage it serves.

Each subcommand module exposes ``add_arguments(parser)`` and ``cli(args) -> int``; they are imported
only when chosen so that ``ssd --help`` stays fast (torch is never imported for it).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ssd.config.schema import ConfigError

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "ssd.cli.run",
        "run the SSD pipeline (same as `python train.py`; Hydra overrides follow)",
    ),
    "report": ("ssd.cli.report", "collect a run or multirun directory into tables and PNGs"),
    "toy": ("ssd.cli.toy", "the paper's fork/lock toy in closed form (`ssd toy paper`)"),
    "grade": (
        "ssd.cli.grade",
        "grade code samples made anywhere against HumanEval or LiveCodeBench",
    ),
    "analyze": (
        "ssd.cli.analyze",
        "fork/lock analysis of a base vs SSD model pair on shared contexts",
    ),
    "cache": ("ssd.cli.cache", "list, verify, clean up the stage cache (ls, verify, gc, rm)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="ssd",
        description="ssd-sweeps: Simple Self-Distillation sweeps. "
        "Pipeline runs go through Hydra: `ssd run [overrides]` or `python train.py [overrides]`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUBCOMMANDS:
        parser.parse_args(argv or ["--help"])
        return 0
    module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
    if hasattr(module, "run_passthrough"):
        return int(module.run_passthrough(argv[1:]) or 0)
    command_parser = argparse.ArgumentParser(
        prog=f"ssd {argv[0]}", description=SUBCOMMANDS[argv[0]][1]
    )
    module.add_arguments(command_parser)
    args = command_parser.parse_args(argv[1:])
    try:
        return int(module.cli(args) or 0)
    except ConfigError as err:  # bad input: one line, exit 2, as for `ssd run` and train.py
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
