"""exits_on_signals in process: 128 + N whatever the unwinding made of the interrupt; others' handlers kept."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from ssd import signals


@pytest.fixture(autouse=True)
def restore_handlers():
    """Each test starts with Python's defaults and none recorded, and leaves them so."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for signum, default in signals._DEFAULTS.items():
        signal.signal(signum, default)
    signals._received.clear()
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)
    signals._received.clear()


def lightning_like(signum: int) -> None:
    """What Lightning 2.x does with an interrupted fit: catch KeyboardInterrupt, sys.exit(1)."""
    try:
        os.kill(os.getpid(), signum)
        signal.sigtimedwait([], 0.1)  # the handler runs before the next bytecode
        raise AssertionError("the signal did not interrupt")
    except KeyboardInterrupt:
        sys.exit(1)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_signal_not_the_library_decides_the_exit_code(signum, code, capsys):
    with pytest.raises(SystemExit) as stop:
        signals.exits_on_signals(lambda: lightning_like(signum))()
    assert stop.value.code == code
    assert signal.Signals(signum).name in capsys.readouterr().err


def test_without_a_signal_exits_and_errors_pass_through():
    with pytest.raises(SystemExit) as stop:
        signals.exits_on_signals(lambda: sys.exit(2))()
    assert stop.value.code == 2
    with pytest.raises(ValueError):
        signals.exits_on_signals(lambda: (_ for _ in ()).throw(ValueError("boom")))()
    assert signals.exits_on_signals(lambda: 7)() == 7


def test_a_handler_someone_else_installed_is_left_alone():
    def bypass(*_):  # submitit's SIGTERM bypass inside a SLURM job
        return None

    signal.signal(signal.SIGTERM, bypass)
    assert signals.install() == [signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) is bypass
