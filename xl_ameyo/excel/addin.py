"""The ribbon's "Upload leads" button: :func:`main` (``xl_ameyo.main``) and :func:`upload`.

The add-in's VBA runs ``RunPython "import xl_ameyo;xl_ameyo.main()"``; :func:`main` takes the
calling workbook (``xw.Book.caller()``) and hands it to :func:`upload`, which does the work on
any ``xw.Book`` (desktop Excel, or the remote engine in tests) through the same core as the
headless command (:mod:`xl_ameyo.pipeline`).

One click, in order:

1. Settings or Mapping missing (first click on a workbook): they are created (Settings with
   every key, its default and note; Mapping proposed from the data sheet's headers), Settings
   is activated, a message says what to fill in. Nothing is uploaded.
2. The previous run's Issues sheet and highlights are cleared.
3. Settings, Mapping and the rows are read and checked (``plan_upload``). The data sheet is the
   active sheet, unless that is Settings/Mapping/Log/Issues: then ``data_sheet`` from
   Settings or the only other sheet.
4. Invalid rows are listed in the Issues sheet and their offending cells highlighted.
5. Unless it is a dry run: a confirmation names the server, the ids, the rows to send and to
   skip (the ribbon's button asks Yes: upload / No: check only, a dry run / Cancel); for an
   upload, the user name and password are then looked up (environment or the credential
   store, ``xl-ameyo login``; never the workbook). A check needs no password.
6. The upload (``run_upload``), with progress in the status bar where Excel has one; an
   identical earlier upload asks again before anything is sent.
7. The Log rows are appended to the Log sheet, and one message tells the result.

Every failure ends in one message box (what, where, what to do), never a traceback: library
errors (``XlAmeyoError``) show their one line; anything else shows its type and where the
details were written (:func:`error_log_path`, with no password in it).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xl_ameyo.booklock import BookBusy, book_lock
from xl_ameyo.client import AmeyoClient
from xl_ameyo.errors import ReuploadRefused, WorkbookError, XlAmeyoError
from xl_ameyo.excel.firstrun import guess_mapping
from xl_ameyo.excel.sheets import (
    append_log,
    clear_issues,
    create_mapping_sheet,
    create_settings_sheet,
    write_issues,
)
from xl_ameyo.excel.source import WorkbookSource
from xl_ameyo.excel.ui import ExcelUI
from xl_ameyo.ledger import Ledger, LedgerError, ledger_path
from xl_ameyo.logrecord import LogRecord
from xl_ameyo.pipeline import (
    MAPPING_SHEET,
    SETTINGS_SHEET,
    SPECIAL_SHEETS,
    Outcome,
    Plan,
    choose_data_sheet,
    fail_record,
    find_sheet,
    make_client,
    plan_upload,
    read_settings,
    run_upload,
)
from xl_ameyo.settings import Settings

__all__ = ["RunResult", "error_log_path", "main", "upload"]

TITLE = "Ameyo upload"
ERROR_LOG = "xl_ameyo-excel.log"


@dataclass
class RunResult:
    """What one click did (for tests and callers; the analyst sees the message)."""

    # "setup", "cancelled", "uploaded", "dry-run", "failed", "unexpected", "busy" (another
    # upload of this workbook was running: nothing was done)
    status: str
    message: str = ""
    plan: Plan | None = None
    outcome: Outcome | None = None
    error: BaseException | None = None
    created: list[str] = field(default_factory=list)


def error_log_path() -> Path:
    """Where unexpected errors are written (the temp folder: no admin rights needed)."""
    return Path(tempfile.gettempdir()) / ERROR_LOG


_BASIC = re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{4,}")


def _scrub(text: str) -> str:
    """No password and no Authorization value in what is written down."""
    password = os.environ.get("AMEYO_PASSWORD")
    if password:
        text = text.replace(password, "***")
    return _BASIC.sub(r"\1***", text)


def _log_unexpected(exc: BaseException) -> Path | None:
    path = error_log_path()
    stamp = _dt.datetime.now().astimezone().replace(microsecond=0).isoformat()
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"--- {stamp} xl_ameyo add-in\n{_scrub(details)}\n")
    except OSError:
        return None
    return path


def _is_special(name: str) -> bool:
    return name.strip().casefold() in {s.casefold() for s in SPECIAL_SHEETS}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Run:
    def __init__(self, book, ui: ExcelUI, client_factory: Callable[[Settings], AmeyoClient]):
        self.book = book
        self.ui = ui
        self.client_factory = client_factory
        self.source = WorkbookSource(book)
        self.active = book.sheets.active.name
        self._shown = -1
        self.ledger: Ledger | None = None
        self.held = contextlib.ExitStack()
        self.logged = False  # the last Log write went through
        #: lines for the final message about what was written before the run's own work
        self.notes: list[str] = []

    # -- the steps ------------------------------------------------------------------------

    def go(self, dry_run: bool | None) -> RunResult:
        """The click, with the upload ledger open (when one exists: else nothing was ever
        sent from here, and the upload makes it)."""
        self.ui.status("Ameyo: reading the workbook...")
        with contextlib.ExitStack() as self.held:
            if ledger_path().exists():
                self.ledger = self.held.enter_context(Ledger())
                self.write_unlogged()
            return self.steps(dry_run)

    def open_ledger(self) -> None:
        """Before an upload: the ledger its records go to and are marked logged in (if it
        cannot be opened, ``run_upload`` says so in a FAILED row and sends nothing)."""
        if self.ledger is None:
            with contextlib.suppress(LedgerError):
                self.ledger = self.held.enter_context(Ledger())

    def write_unlogged(self) -> None:
        """SPEC §5: the Log rows of earlier runs that ended before writing them (a closed
        Excel, a crash, a Log that could not be written), from the ledger, before anything
        else; as ``xl-ameyo upload`` does (:meth:`Ledger.write_unlogged`)."""
        assert self.ledger is not None

        def write(records: list[LogRecord]) -> None:
            try:
                append_log(self.book, self.source, records)
            except Exception as exc:  # a protected sheet, ...: nothing is sent then
                detail = str(exc) if isinstance(exc, XlAmeyoError) else type(exc).__name__
                raise WorkbookError(
                    "The Log rows of an earlier upload of this workbook (kept in the upload "
                    f"ledger) could not be written ({detail})",
                    hint="Nothing was sent. Make the Log sheet writable, then click again",
                ) from None

        entries = self.ledger.write_unlogged(_workbook_key(self.book), write)
        if entries:
            states = ", ".join(entry.state for entry in entries)
            self.notes.append(f"{_plural(len(entries), 'Log row')} of an earlier run written "
                              f"from the upload ledger ({states}).")

    def steps(self, dry_run: bool | None) -> RunResult:
        names = self.source.sheet_names
        explicit = None if _is_special(self.active) else self.active
        missing = [s for s in (SETTINGS_SHEET, MAPPING_SHEET) if find_sheet(names, s) is None]
        if missing:
            return self.first_run(explicit, missing)

        clear_issues(self.book, self.source)
        settings: Settings | None = None
        try:
            settings = read_settings(self.source)
            self.ui.status("Ameyo: checking the rows...")
            plan = plan_upload(self.source, sheet=explicit, settings=settings)
        except XlAmeyoError as exc:
            record = fail_record(exc, sheet=explicit or "", settings=settings)
            return self.failed(exc, [record])

        report = write_issues(self.book, self.source, plan.data_sheet, plan.invalid)
        blocked = bool(plan.invalid) and plan.settings.on_invalid_rows == "block"
        client: AmeyoClient | None = None
        if plan.rows_to_send and not blocked and dry_run is not True:
            choice = self.confirm(plan, ask_dry_run=dry_run is None)
            if choice is None:
                self.restore_active()
                return RunResult("cancelled", plan=plan)
            dry_run = choice == "dry-run"
            if not dry_run:
                try:  # the user name and password, before anything is sent
                    client = self.client_factory(plan.settings)
                except XlAmeyoError as exc:
                    record = fail_record(exc, sheet=plan.data_sheet, settings=plan.settings)
                    return self.failed(exc, [record], plan=plan)

        def factory(settings: Settings) -> AmeyoClient:
            return client if client is not None else self.client_factory(settings)

        if not dry_run:
            self.open_ledger()
        self.ui.status("Ameyo: uploading..." if not dry_run else "Ameyo: checking...")
        outcome = run_upload(
            plan,
            client_factory=factory,
            dry_run=bool(dry_run),
            confirm_reupload=self.confirm_reupload,
            progress=self.progress,
            ledger=self.ledger,
            workbook=_workbook_key(self.book),
        )
        if isinstance(outcome.error, ReuploadRefused):
            self.reword_refusal(outcome)
        logged = self.log(outcome.records)
        if self.logged and outcome.claims and self.ledger is not None:
            try:  # else the next click writes these rows from the ledger
                self.ledger.mark_logged(outcome.claims)
            except LedgerError as exc:
                outcome.warnings.append(str(exc))
        return self.finish(plan, outcome, logged, highlighted=report.highlighted)

    def first_run(self, explicit: str | None, missing: list[str]) -> RunResult:
        names = self.source.sheet_names
        data = explicit
        if data is None:
            try:
                data = choose_data_sheet(names, explicit=None, configured=None)
            except XlAmeyoError:
                data = None
        rows = self.source.read_sheet(data) if data else []
        headers = rows[0] if rows else []
        added = " and ".join(missing)
        lines = [
            f"This workbook had no {added} sheet, so xl_ameyo added "
            f"{'them' if len(missing) > 1 else 'it'}. Nothing was sent.",
            "",
        ]
        steps: list[str] = []
        if SETTINGS_SHEET in missing:
            create_settings_sheet(self.book, data_sheet=data)
            steps.append(
                "In Settings, fill in base_url, cc_list_id, process_id, lead_id and user_id "
                "(and username, unless AMEYO_USERNAME is set)."
            )
        if MAPPING_SHEET in missing:
            guessed = guess_mapping(headers)
            create_mapping_sheet(self.book, guessed)
            if guessed:
                proposed = ", ".join(f"{f} = '{h}'" for f, h in guessed.items())
                step = f"In Mapping, check the columns proposed from sheet '{data}': {proposed}."
            else:
                where = f"sheet '{data}'" if data else "the data sheet"
                step = (f"In Mapping, type next to each Ameyo field the header of its column "
                        f"in {where}: no column was recognised.")
            if "phone1" not in guessed:
                step += " phone1 is not mapped yet: every lead needs a phone number."
            steps.append(step)
        steps.append("The password never goes into the workbook: run  xl-ameyo login  once in "
                     "a terminal (or set AMEYO_PASSWORD).")
        lines += [f"{n}. {step}" for n, step in enumerate(steps, 1)]
        lines += ["", "Then click Upload leads again."]
        first = SETTINGS_SHEET if SETTINGS_SHEET in missing else MAPPING_SHEET
        self.book.sheets[first].activate()
        message = "\n".join(lines)
        self.ui.message(message, title=f"{TITLE}: set up this workbook")
        return RunResult("setup", message=message, created=list(missing))

    # -- dialogs ---------------------------------------------------------------------------

    def confirm(self, plan: Plan, *, ask_dry_run: bool) -> str | None:
        """"upload", "dry-run" or None (cancelled)."""
        s = plan.settings
        checked = plan.checked
        skipped = len(checked.invalid)
        lines = [
            f"Upload {_plural(plan.rows_to_send, 'row')} from sheet '{plan.data_sheet}' to "
            "Ameyo?",
            "",
            f"Server:     {s.base_url}",
            f"Lead list:  cc_list_id {s.cc_list_id} / process_id {s.process_id} / "
            f"lead_id {s.lead_id}   (user_id {s.user_id})",
            f"Rows:       {plan.rows_to_send} to send, {skipped} to skip",
        ]
        if skipped:
            first = checked.invalid[0]
            lines.append(
                f"            skipped rows are listed in the Issues sheet (first: row "
                f"{first.row}, {first.reason})"
            )
        flags = [n for n in ("update_duplicate", "churn_updated_records", "migrate")
                 if getattr(s, n)]
        if flags:
            lines.append(f"Flags:      {', '.join(flags)}")
        if not s.verify_tls:
            lines.append("Warning:    verify_tls is FALSE: the server's certificate is not "
                         "checked")
        lines.append("")
        if ask_dry_run:
            lines.append("Yes: upload now.   No: check only (dry run, nothing is sent).   "
                         "Cancel: stop.")
            answer = self.ui.ask("\n".join(lines), title=TITLE, buttons="yes_no_cancel")
            return {"yes": "upload", "no": "dry-run"}.get(answer or "")
        lines.append("OK: upload now.   Cancel: stop.")
        answer = self.ui.ask("\n".join(lines), title=TITLE, buttons="ok_cancel")
        return "upload" if answer == "ok" else None

    def confirm_reupload(self, previous: dict) -> bool:
        task = previous.get("task_id")
        what = (f"task id {task}" if task else
                f"{previous.get('status') or '?'}: its outcome is unknown, check the lead "
                "list in Ameyo")
        text = (
            "These rows were already uploaded to this lead list on "
            f"{previous.get('timestamp') or '?'} ({what}).\n\n"
            "Send them again? OK: send again.   Cancel: send nothing."
        )
        return self.ui.ask(text, title=f"{TITLE}: already uploaded", buttons="ok_cancel") == "ok"

    def progress(self, sent: int, total: int) -> None:
        percent = int(sent * 100 / total) if total else 100
        if percent != self._shown:
            self._shown = percent
            self.ui.status(f"Ameyo: uploading... {percent}%")

    def reword_refusal(self, outcome: Outcome) -> None:
        """The pipeline's refusal names the command-line switch; in Excel the answer was
        Cancel."""
        error = outcome.error
        assert isinstance(error, ReuploadRefused)
        old = str(error)
        new = ReuploadRefused(
            error.message, where=error.where, hint="Nothing was sent: the re-upload was not "
            "confirmed"
        )
        outcome.error = new
        for record in outcome.records:
            if record.message == old:
                record.message = str(new)

    # -- the end ---------------------------------------------------------------------------

    def log(self, records: list[LogRecord]) -> str:
        """Append to the Log sheet; returns a line for the message."""
        self.logged = False
        if not records:
            return ""
        try:
            name, row = append_log(self.book, self.source, records)
        except Exception as exc:  # a protected sheet, ...: the message says so, the rest stands
            detail = str(exc) if isinstance(exc, XlAmeyoError) else type(exc).__name__
            return f"The Log row could not be written ({detail})."
        self.logged = True
        rows = f"row {row}" if len(records) == 1 else f"rows {row}-{row + len(records) - 1}"
        return f"Logged in sheet '{name}', {rows}."

    def failed(self, exc: XlAmeyoError, records: list[LogRecord], *,
               plan: Plan | None = None) -> RunResult:
        logged = self.log(records)
        self.restore_active()
        message = f"{exc}\n\n{' '.join([*self.notes, logged])}".strip()
        self.ui.message(message, title=f"{TITLE}: not sent", critical=True)
        return RunResult("failed", message=message, plan=plan, error=exc)

    def finish(self, plan: Plan, outcome: Outcome, logged: str, *, highlighted: int) -> RunResult:
        s = plan.settings
        skipped = len(plan.invalid)
        target = (f"lead list {s.lead_id} (cc_list_id {s.cc_list_id}, process_id "
                  f"{s.process_id}) on {s.base_url}")
        lines: list[str] = []
        ok = [r for r in outcome.records if r.status == "OK"]
        dry = [r for r in outcome.records if r.status == "DRY RUN"]
        if ok:
            sent = sum(r.rows_sent for r in ok)
            lines.append(f"Uploaded {_plural(sent, 'row')} from sheet '{plan.data_sheet}' to "
                         f"{target}.")
            ids = ", ".join(r.task_id for r in ok)
            lines.append(f"Task id: {ids}" if len(ok) == 1 else f"Task ids: {ids}")
        if dry:
            would = sum(r.rows_sent for r in dry)
            lines.append(f"Check only (dry run): {_plural(would, 'row')} from sheet "
                         f"'{plan.data_sheet}' would go to {target}. Nothing was sent.")
        if skipped:
            where = "the Issues sheet"
            if highlighted:
                where += f"; {_plural(highlighted, 'cell')} highlighted in '{plan.data_sheet}'"
            lines.append(f"{_plural(skipped, 'row')} skipped: see {where}.")
        lines += outcome.warnings
        if outcome.error is not None:
            lines.insert(0, str(outcome.error))
            if ok:
                lines.insert(1, "")
        if logged or self.notes:
            lines += ["", " ".join([*self.notes, logged]).strip()]
        message = "\n".join(lines)
        self.restore_active()
        if outcome.error is not None:
            self.ui.message(message, title=f"{TITLE}: failed", critical=True)
            status = "failed"
        else:
            self.ui.message(message, title=TITLE)
            status = "dry-run" if dry and not ok else "uploaded"
        return RunResult(status, message=message, plan=plan, outcome=outcome,
                         error=outcome.error)

    def restore_active(self) -> None:
        """New sheets (Log, Issues) become active when added: go back to where the click was."""
        try:
            if self.book.sheets.active.name != self.active:
                self.book.sheets[self.active].activate()
        except Exception:  # cosmetic: never a reason to fail
            pass


def upload(
    book,
    *,
    dry_run: bool | None = False,
    ui: ExcelUI | None = None,
    client_factory: Callable[[Settings], AmeyoClient] = make_client,
) -> RunResult:
    """Upload the active sheet of ``book`` (an ``xw.Book``) and log it in its Log sheet.

    ``dry_run``: False asks OK/Cancel before sending; True only checks (no password needed, no
    question); None (the ribbon) asks Yes = upload / No = check only / Cancel.
    Never raises: every failure is shown as one message box and returned. One upload per
    workbook at a time, the add-in's and ``xl-ameyo upload``'s alike (:mod:`xl_ameyo.booklock`):
    a click while another runs says so and does nothing.
    """
    ui = ui or ExcelUI(book)
    name = _book_name(book)
    try:
        with book_lock(_workbook_key(book), wait=0, shown=name):
            return _one_click(book, ui, client_factory, dry_run)
    except BookBusy:  # the other run keeps its status bar: not reset here
        busy = BookBusy(f"An upload of {name} is already running",
                        hint="Nothing was started now. Wait for its message (or for "
                        "xl-ameyo upload to end), then click again")
        with contextlib.suppress(Exception):
            ui.message(str(busy), title=f"{TITLE}: already running")
        return RunResult("busy", message=str(busy), error=busy)
    except XlAmeyoError as exc:  # the lock's folder cannot be used: nothing was started
        with contextlib.suppress(Exception):
            ui.message(str(exc), title=f"{TITLE}: stopped", critical=True)
        return RunResult("failed", message=str(exc), error=exc)


def _one_click(book, ui: ExcelUI, client_factory: Callable[[Settings], AmeyoClient],
               dry_run: bool | None) -> RunResult:
    """:func:`upload`'s work, with every failure turned into one message box."""
    try:
        return _Run(book, ui, client_factory).go(dry_run)
    except XlAmeyoError as exc:
        message = str(exc)
        ui.message(message, title=f"{TITLE}: stopped", critical=True)
        return RunResult("failed", message=message, error=exc)
    except Exception as exc:
        path = _log_unexpected(exc)
        where = f" Details: {path}" if path else ""
        message = (f"Unexpected error ({type(exc).__name__}); the upload stopped.{where} "
                   "Please send that file to whoever supports xl_ameyo.")
        with contextlib.suppress(Exception):  # Excel may be what failed
            ui.message(message, title=f"{TITLE}: unexpected error", critical=True)
        return RunResult("unexpected", message=message, error=exc)
    finally:
        ui.status(None)


def _workbook_key(book) -> str:
    """What names the workbook for its lock and the upload ledger: its full name (path or
    URL), as ``xl-ameyo upload`` names the same file."""
    try:
        return str(book.fullname)
    except Exception:  # an engine without full names: the name is the next best thing
        return str(book.name)


def _book_name(book) -> str:
    return Path(_workbook_key(book)).name or str(book.name)


def main() -> None:
    """The ribbon's macro: ``RunPython "import xl_ameyo;xl_ameyo.main()"``."""
    import xlwings as xw

    try:
        book = xw.Book.caller()
    except Exception as exc:
        # Not called from Excel (or Excel went away): one line on stderr, which the add-in's
        # VBA shows in a message box when the exit status is not 0.
        sys.stderr.write("xl_ameyo: no workbook to upload from: open the workbook with your "
                         f"leads, then click Upload leads again ({exc})\n")
        sys.exit(1)
    upload(book, dry_run=None)
