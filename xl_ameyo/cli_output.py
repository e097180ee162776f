"""How the command line speaks: human lines, ``--json``'s one object, progress on a terminal.

With ``--json`` the JSON object is the only thing on stdout and the human lines go to
stderr; progress is shown only when stderr is a terminal and ``--json`` is off, so a
scheduler's log or a pipe gets nothing extra (SPEC §4).

Printing never raises: on a closed terminal (SIGHUP) or a pipe nobody reads, a write fails
with EIO or EPIPE, and that must not change the exit status or stop the Log row being
written; what happened is in the Log and the upload ledger.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any, NoReturn

import click

from xl_ameyo.errors import XlAmeyoError
from xl_ameyo.report import base_report, set_error


def say(text: str, *, err: bool = False, nl: bool = True) -> None:
    """``click.echo``, except that a line the terminal cannot take is dropped."""
    stream = sys.stderr if err else sys.stdout
    try:
        click.echo(text, err=err, nl=nl)
        if stream is not None:
            stream.flush()
    except (OSError, ValueError):  # ValueError: the stream was closed
        _to_devnull(stream)


def _to_devnull(stream) -> None:
    """The stream's file descriptor points at the null device from now on, so that what is
    still buffered (flushed when Python exits) cannot fail and turn the exit status into
    120."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)


class Output:
    """One command's output: ``line`` for people, ``report`` for ``--json``."""

    def __init__(self, command: str, book: object, *, json_mode: bool = False) -> None:
        self.json = json_mode
        self.report: dict[str, Any] = base_report(command, str(book))
        self.tty = not json_mode and sys.stderr.isatty()

    def line(self, text: str) -> None:
        say(text, err=self.json)

    def warn(self, text: str) -> None:
        say(f"warning: {text}", err=True)
        self.report["warnings"].append(text)

    def emit(self) -> None:
        """Print the JSON object (``--json`` only)."""
        if self.json:
            say(json.dumps(self.report, ensure_ascii=False))

    def fail(self, error: XlAmeyoError) -> NoReturn:
        """One line on stderr (and the JSON object), then the error's exit status."""
        say(f"error: {error}", err=True)
        set_error(self.report, str(error), error.exit_code)
        self.emit()
        sys.exit(error.exit_code)

    def finish(self) -> None:
        self.emit()
        sys.exit(self.report["exit_code"])

    @contextlib.contextmanager
    def stage(self, label: str) -> Iterator[None]:
        """``label...`` then ``done (N s)`` on a terminal; nothing elsewhere."""
        if not self.tty:
            yield
            return
        began = time.monotonic()
        say(f"{label}...", err=True, nl=False)
        try:
            yield
        except BaseException:
            say("", err=True)
            raise
        say(f" done ({time.monotonic() - began:.1f} s)", err=True)

    def bar(self, label: str, length: int):
        """A click progress bar on stderr (a terminal only), else None."""
        if not self.tty:
            return None
        return click.progressbar(length=max(1, length), label=label, file=sys.stderr,
                                 show_pos=True)
