"""Ctrl-C and SIGTERM end a run at once with 130 / 143, so a shell or a scheduler sees the stop.

`exits_on_signals(main)` wraps an entry point: SIGINT and SIGTERM raise KeyboardInterrupt in the
main thread (what every library already unwinds on: Lightning tears down, pools terminate, a stage
without its manifest stays unfinished), and the run exits 128 + the signal number, whatever the
unwinding turned the interrupt into (Lightning 2.x ends an interrupted fit with `sys.exit(1)`, its
SIGTERM path with a SystemExit of code None, i.e. 0). A handler someone else installed (submitit's
SIGTERM bypass inside a SLURM job, whose USR2 requeue path must keep its meaning) is left alone.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

_DEFAULTS = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
_received: list[int] = []  # the signals that interrupted this process, first one first


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    """Record the signal, then unwind the way Ctrl-C does."""
    _received.append(signum)
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")


def install() -> list[int]:
    """Route SIGINT and SIGTERM to `_raise_interrupt` where no one else claimed them.

    Returns:
        The signals now handled here.
    """
    claimed = []
    for signum, default in _DEFAULTS.items():
        if signal.getsignal(signum) is default:
            signal.signal(signum, _raise_interrupt)
            claimed.append(signum)
    return claimed


def received() -> int | None:
    """The first signal that interrupted this process, or None."""
    return _received[0] if _received else None


def exit_code(signum: int) -> int:
    """The shell's convention for "ended by signal N": 128 + N (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


def exits_on_signals(main: Callable[[], Any]) -> Callable[[], Any]:
    """Wrap an entry point: install the handlers, then exit 128 + N once signal N unwound it."""

    def wrapped() -> Any:
        install()
        try:
            return main()
        except BaseException:
            signum = received()
            if signum is None:
                raise
            print(f"interrupted by {signal.Signals(signum).name}", file=sys.stderr, flush=True)
            raise SystemExit(exit_code(signum)) from None

    return wrapped
