"""The ribbon's "Check results": ``xl-ameyo status`` inside Excel, through xlwings.

:func:`check_results` does the work on an ``xw.Book`` (the object model only, so the remote
engine runs it in tests): the Log's tasks that are not final are asked about
(:mod:`xl_ameyo.taskstatus`), their state and counts written into their Log rows (columns
after ``duration_s``), the server's rejected rows appended to a ``Rejected`` sheet, and one
message box says what happened. :func:`main` is the button's macro
(``RunPython "import xl_ameyo.excel.results; xl_ameyo.excel.results.main()"``).

It asks once and does not wait (Excel is blocked while Python runs); the message says to
click again while a task is still queued or running.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from xl_ameyo import pipeline
from xl_ameyo.errors import XlAmeyoError
from xl_ameyo.excel.sheets import add_sheet, last_used_row
from xl_ameyo.excel.source import WorkbookSource
from xl_ameyo.excel.ui import TITLE, ExcelUI
from xl_ameyo.logrecord import LOG_COLUMNS, TASK_COLUMNS
from xl_ameyo.taskstatus import (
    REJECTED_SHEET,
    TaskResult,
    ask_task,
    check_rejected_sheet,
    header_cells,
    log_cells,
    pending_tasks,
    rejected_sheet_rows,
    task_locators,
)

#: Log columns written as text (a state, an error, a time with its offset: Excel would take
#: the time for a date and drop its offset)
_TEXT_TASK_COLUMNS = {len(LOG_COLUMNS) + TASK_COLUMNS.index(n)
                      for n in ("task_state", "task_error", "checked_at")}


@dataclass
class ResultsSummary:
    results: list[TaskResult] = field(default_factory=list)
    rejected: int = 0
    message: str = ""


def _set(sheet, row: int, col: int, value, *, text: bool) -> None:
    cell = sheet.range((row, col + 1))
    if text:
        cell.number_format = "@"
    cell.value = value


def check_results(book, *, ui: ExcelUI | None = None,
                  client_factory: Callable = pipeline.make_client) -> ResultsSummary:
    """Ask the server about the Log's unfinished tasks and write the answers into ``book``.
    Raises :class:`XlAmeyoError` (nothing written) when the server cannot be asked."""
    ui = ui or ExcelUI(book)
    source = WorkbookSource(book)
    settings = pipeline.read_settings(source)
    log_name = pipeline.find_sheet(source.sheet_names, pipeline.LOG_SHEET)
    log_rows = source.read_sheet(log_name) if log_name else []
    rejected_name = pipeline.find_sheet(source.sheet_names, REJECTED_SHEET)
    if rejected_name is not None:
        check_rejected_sheet(source.read_sheet(rejected_name), rejected_name)
    pending = pending_tasks(log_rows)
    summary = ResultsSummary()
    if not pending:
        summary.message = "No upload in the Log is waiting for the server's answer."
        ui.message(summary.message)
        return summary

    locate_for = task_locators(lambda sheet: pipeline.plan_upload(
        WorkbookSource(book), sheet=sheet or None, settings=settings).checked)

    ui.status("Ameyo: asking the server about the uploads ...")
    client = client_factory(settings)
    try:
        for task in pending:
            summary.results.append(ask_task(client, task, locate_for(task)))
    finally:
        client.close()

    log = book.sheets[log_name]
    if log_rows and "task_id" in [str(v).strip() for v in log_rows[0] if v is not None]:
        for col, name in header_cells().items():
            _set(log, 1, col, name, text=True)
    for result in summary.results:
        for col, value in log_cells(result).items():
            _set(log, result.task.log_row, col, value, text=col in _TEXT_TASK_COLUMNS)

    rejected = [bad for r in summary.results for bad in r.rejected]
    summary.rejected = len(rejected)
    if rejected:
        header, rows = rejected_sheet_rows(rejected)
        if rejected_name is None:
            sheet, used = add_sheet(book, REJECTED_SHEET), 0
        else:
            sheet = book.sheets[rejected_name]
            used = last_used_row(source.read_sheet(rejected_name))
        block = ([] if used else [header]) + rows
        width = max(len(r) for r in block)
        top = used + 1
        bottom = top + len(block) - 1
        # everything but the sheet row is text: ids and phone digits keep every digit
        sheet.range((top, 1), (bottom, width)).number_format = "@"
        sheet.range((top, 3), (bottom, 3)).number_format = "General"
        sheet.range((top, 1), (bottom, width)).value = [
            list(r) + [None] * (width - len(r)) for r in block]

    lines = []
    for r in summary.results:
        line = f"Task {r.task.task_id}: {r.state}"
        if r.state == "COMPLETED":
            c = r.counts
            line += (f", {c.get('rows') or 0} rows: {c.get('inserted') or 0} inserted, "
                     f"{c.get('updated') or 0} updated, {c.get('duplicates') or 0} duplicates, "
                     f"{c.get('rejected') or 0} rejected")
        if r.error:
            line += f" ({r.error})"
        lines.append(line)
    if rejected:
        lines.append(f"{len(rejected)} rejected rows are listed in the {REJECTED_SHEET} sheet.")
    if any(not r.final for r in summary.results):
        lines.append("Click Check results again in a minute for the tasks not finished yet.")
    summary.message = "\n".join(lines)
    ui.message(summary.message, critical=any(r.state == "FAILED" for r in summary.results))
    ui.status(None)
    return summary


def run(book, *, ui: ExcelUI | None = None,
        client_factory: Callable = pipeline.make_client) -> ResultsSummary:
    """:func:`check_results` that never raises: a failure is one message box."""
    ui = ui or ExcelUI(book)
    try:
        return check_results(book, ui=ui, client_factory=client_factory)
    except XlAmeyoError as exc:
        ui.message(str(exc), title=f"{TITLE}: stopped", critical=True)
        return ResultsSummary(message=str(exc))
    finally:
        ui.status(None)


def main() -> None:
    """The "Check results" button's macro."""
    import xlwings as xw

    try:
        book = xw.Book.caller()
    except Exception as exc:
        sys.stderr.write(f"xl_ameyo: cannot reach the workbook that called ({exc})\n")
        sys.exit(1)
    run(book)
