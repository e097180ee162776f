"""Talking to the analyst in Excel: message boxes, confirmations and the status bar.

Everything goes through xlwings' ``app.alert`` (a ``MsgBox`` on desktop Excel, an ``alert``
action on the remote engine) and ``app.status_bar``. :class:`ExcelUI` is the one seam between
the upload and the dialogs: tests give a subclass that answers confirmations (after calling
the real ``app.alert``, so the dialog is still recorded by xlwings).

The remote engine (xlwings Server/Lite) cannot answer an alert: ``app.alert`` returns None
there, which counts as "Cancel" (nothing is sent without an answer). It has no status bar:
``app.status_bar`` raises ``NotImplementedError``, and progress is simply not shown.
"""

from __future__ import annotations

import contextlib

TITLE = "Ameyo"
#: a MsgBox shows about 1,024 characters
MAX_PROMPT = 1000


def _prompt(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_PROMPT:
        text = text[: MAX_PROMPT - 3].rstrip() + "..."
    return text


class ExcelUI:
    """Dialogs and status bar of the Excel that runs ``book``."""

    def __init__(self, book):
        self.book = book

    @property
    def app(self):
        return self.book.app

    def message(self, text: str, *, title: str = TITLE, critical: bool = False) -> None:
        """One message box with an OK button."""
        self.app.alert(_prompt(text), title=title, buttons="ok",
                       mode="critical" if critical else "info")

    def ask(self, text: str, *, title: str = TITLE, buttons: str = "ok_cancel") -> str | None:
        """A question: the button pressed ("ok", "cancel", "yes", "no"), or None when this
        Excel cannot answer (remote engine)."""
        answer = self.app.alert(_prompt(text), title=title, buttons=buttons, mode="info")
        return answer.lower() if isinstance(answer, str) else None

    def status(self, text: str | None) -> None:
        """Show ``text`` in the status bar (None: give it back to Excel). Engines without a
        status bar are skipped."""
        # NotImplementedError on the remote engine; a status bar is never worth a failure
        with contextlib.suppress(Exception):
            self.app.status_bar = text if text else False
