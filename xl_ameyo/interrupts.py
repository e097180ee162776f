"""Ctrl-C, SIGTERM and a closed terminal (SIGHUP; Windows: Ctrl-C, Ctrl-Break) end an upload
run cleanly, whatever moment they hit (SPEC §5).

Python turns only SIGINT into an exception by default; SIGTERM and SIGHUP kill the process
with no clean-up at all. :func:`catching` makes all of them raise :class:`Interrupted` in the
main thread. Around the record of an upload (its ledger claim, the POST, the answer's
record) the pipeline enters :func:`holding`: a signal is only noted there, except inside
:func:`raising` (the network call itself, which it cuts short), so that the ledger and the
Log always learn what happened to a POST that started. Outside :func:`catching` (another
thread, the Excel add-in) these contexts do nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["Interrupted", "catching", "holding", "raising", "take_pending"]

#: the signals that end a run: Ctrl-C, kill's default, a closed terminal, Windows' Ctrl-Break
_NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")


class Interrupted(BaseException):
    """A signal ended the run (a BaseException, like KeyboardInterrupt: no ``except
    Exception`` on the way swallows it)."""

    def __init__(self, signum: int, *, before_sending: bool = False):
        self.signum = signum
        try:
            self.name = signal.Signals(signum).name
        except ValueError:
            self.name = f"signal {signum}"
        #: raised as a network call was about to start: nothing of it was sent
        self.before_sending = before_sending
        super().__init__(self.name)


class _State:
    installed = False
    holding = False
    pending: int | None = None


_state = _State()


def _handler(signum: int, frame: object) -> None:
    if _state.holding:
        if _state.pending is None:
            _state.pending = signum
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def catching() -> Iterator[None]:
    """Every signal that ends a run raises :class:`Interrupted` (main thread only)."""
    if _state.installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for name in _NAMES:
        number = getattr(signal, name, None)
        if number is None:
            continue
        with contextlib.suppress(OSError, ValueError):
            previous[number] = signal.signal(number, _handler)
    _state.installed, _state.holding, _state.pending = True, False, None
    try:
        yield
    finally:
        _state.installed, _state.holding, _state.pending = False, False, None
        for number, handler in previous.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(number, handler)


@contextlib.contextmanager
def holding() -> Iterator[None]:
    """Signals are noted, not raised (see :func:`take_pending`)."""
    if not _state.installed:
        yield
        return
    before = _state.holding
    _state.holding = True
    try:
        yield
    finally:
        _state.holding = before


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """Inside :func:`holding`: signals raise again (a blocking network call is cut short);
    one noted before raises at once, before the call starts."""
    if not _state.installed:
        yield
        return
    pending = take_pending()
    if pending is not None:
        raise Interrupted(pending, before_sending=True)
    before = _state.holding
    _state.holding = False
    try:
        yield
    finally:
        _state.holding = before


def take_pending() -> int | None:
    """The signal noted while holding, if any (forgotten once taken)."""
    pending, _state.pending = _state.pending, None
    return pending
