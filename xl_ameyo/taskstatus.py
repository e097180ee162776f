"""After the upload (SPEC §4 ``status``): what the server made of the tasks in the Log.

Ameyo answers an upload with a task id and does the work afterwards; the simulator (and a
server that offers the same extensions) tells a task's state and counts at
``GET .../contact-upload-tasks/{task_id}`` and the rows it rejected at ``.../error-file``.
This module is the front-independent part: which Log rows to ask about
(:func:`pending_tasks`), asking (:func:`ask_task`), the Log cells to write
(:func:`log_cells`) and the ``Rejected`` sheet's rows (:func:`rejected_sheet_rows`). The CLI
(``xl-ameyo status``) and the ribbon's "Check results" write them into the workbook.

Decisions where SPEC is silent:

- A Log row is asked about when it holds a task id and its ``task_state`` is not final
  (``COMPLETED`` or ``FAILED``): OK rows, and FAILED or UNKNOWN rows that kept a task id
  (the server took the file). Rows are read by position (the Log writers' order).
- A 404 or 405 without the simulator's own ``TASK-1001`` code means the server has no such
  endpoint: :class:`StatusUnsupported`, nothing is written. ``TASK-1001`` (the server does
  not know that task, e.g. the Log points at another server) is written as the state
  ``NOT FOUND``, which is not final: a later run asks again.
- The error file has no row numbers. The sheet row of a rejected record is found by its
  values among the rows the workbook would send now (phone1 is unique among them): when
  the sheet was edited since the upload, a record may not be found and its sheet row stays
  empty.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xl_ameyo.errors import AmeyoError, XlAmeyoError
from xl_ameyo.logrecord import LOG_COLUMNS, TASK_COLUMNS, _cell_text, iso_timestamp

__all__ = [
    "FINAL_STATES",
    "REJECTED_COLUMNS",
    "LoggedTask",
    "RejectedRow",
    "StatusUnsupported",
    "TaskResult",
    "ask_task",
    "log_cells",
    "pending_tasks",
    "rejected_sheet_rows",
]

FINAL_STATES = ("COMPLETED", "FAILED")
NOT_FOUND = "NOT FOUND"
#: the task counts, as the server names them, in TASK_COLUMNS' order after task_state
COUNTS = ("rows", "inserted", "updated", "duplicates", "migrated", "rejected", "churned")
REJECTED_SHEET = "Rejected"
#: the Rejected sheet's first columns; the values sent follow, under the CSV's headers
REJECTED_COLUMNS = ("task_id", "sheet", "sheet_row", "error_code", "reason")
#: what the server's reason codes mean, for the analyst
REASONS = {
    "PREPROCESSING_INVALID_LENGTH": "the server takes 10 to 15 digits in phone1",
    "PREPROCESSING_EMPTY_NUMBER": "phone1 is empty",
    "PREPROCESSING_INVALID_CHARACTERS": "phone1 holds something other than digits",
    "INVALID_COLUMN_COUNT": "the record has more or fewer fields than the header",
}
UNSUPPORTED = "this server does not report task status"

_COL = {name: j for j, name in enumerate(LOG_COLUMNS)}
_TASK_COL = {name: len(LOG_COLUMNS) + k for k, name in enumerate(TASK_COLUMNS)}


class StatusUnsupported(AmeyoError):
    """The server has no task status endpoint (it answered 404 or 405 there)."""


@dataclass(frozen=True)
class LoggedTask:
    """A Log row with a task to ask about."""

    log_row: int  # sheet row, 1-based
    task_id: str
    cc_list_id: int
    process_id: int
    lead_id: int
    sheet: str
    csv_sha256: str


@dataclass
class RejectedRow:
    task_id: str
    sheet: str
    sheet_row: int | None
    code: str
    header: list[str]
    values: list[str]

    @property
    def reason(self) -> str:
        return REASONS.get(self.code, self.code)


@dataclass
class TaskResult:
    task: LoggedTask
    state: str
    counts: dict[str, int | None] = field(default_factory=dict)
    error: str = ""
    rejected: list[RejectedRow] = field(default_factory=list)
    checked_at: str = ""

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def _text(value) -> str:
    return "" if value is None else _cell_text(value).strip()


def _whole(value) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, int):
        return value
    text = _text(value)
    return int(text) if text.isascii() and text.isdigit() else None


def pending_tasks(log_rows: Sequence[Sequence]) -> list[LoggedTask]:
    """The Log rows (row 0 = sheet row 1) with a task id whose state is not final yet."""
    out = []
    for index, row in enumerate(log_rows):
        row = list(row or [])

        def cell(j: int, row: list = row):
            return row[j] if j < len(row) else None

        task_id = _text(cell(_COL["task_id"]))
        if not task_id.isdigit():  # empty, or the header's "task_id"
            continue
        if _text(cell(_TASK_COL["task_state"])).upper() in FINAL_STATES:
            continue
        ids = [_whole(cell(_COL[n])) for n in ("cc_list_id", "process_id", "lead_id")]
        if None in ids:
            continue
        out.append(LoggedTask(index + 1, task_id, *ids, sheet=_text(cell(_COL["sheet"])),
                              csv_sha256=_text(cell(_COL["csv_sha256"]))))
    return out


def _unsupported(exc: AmeyoError) -> bool:
    return exc.http_code == 405 or (exc.http_code == 404 and exc.error_code != "TASK-1001")


def ask_task(client, task: LoggedTask,
             locate: Callable[[list[str], list[str]], int | None] | None = None) -> TaskResult:
    """The server's word on one task (and, once it is final, its rejected rows).

    ``locate(header, values)``: the sheet row of a sent record, or None. Raises
    :class:`StatusUnsupported` when the server has no status endpoint, other
    :class:`AmeyoError` when it cannot be asked."""
    ids = (task.cc_list_id, task.process_id, task.lead_id)
    try:
        data = client.get_task(*ids, task.task_id)
    except AmeyoError as exc:
        if _unsupported(exc):
            raise StatusUnsupported(UNSUPPORTED, http_code=exc.http_code) from None
        if exc.http_code == 404:
            return TaskResult(task, NOT_FOUND, error=str(exc), checked_at=iso_timestamp())
        raise
    state = str(data.get("status") or "").upper() or "UNKNOWN"
    counts = {name: _whole(data.get(name)) for name in COUNTS}
    result = TaskResult(task, state, counts, error=str(data.get("error") or ""),
                        checked_at=iso_timestamp())
    if state == "COMPLETED" and counts.get("rejected"):
        try:
            text = client.get_error_file(*ids, task.task_id)
        except AmeyoError as exc:
            if _unsupported(exc):
                result.error = "the server offers no error file for this task"
                return result
            raise
        result.rejected = parse_error_file(text, task, locate)
    return result


def parse_error_file(text: str, task: LoggedTask,
                     locate: Callable[[list[str], list[str]], int | None] | None = None
                     ) -> list[RejectedRow]:
    """The error file (the CSV's header plus ``error_reason``, then each rejected record
    with its reason code) as :class:`RejectedRow`."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = next(reader, [])
    if not header:
        return []
    columns = header[:-1]
    out = []
    for record in reader:
        if not record:
            continue
        values, code = record[:-1], record[-1] if len(record) > 1 else ""
        row = locate(columns, values) if locate is not None else None
        out.append(RejectedRow(task.task_id, task.sheet, row, code.strip(), columns, values))
    return out


def log_cells(result: TaskResult) -> dict[int, object]:
    """The Log row's cells to write (column index -> value): state, counts, error, time."""
    cells: dict[int, object] = {_TASK_COL["task_state"]: result.state,
                                _TASK_COL["task_error"]: result.error or None,
                                _TASK_COL["checked_at"]: result.checked_at}
    for name, column in zip(COUNTS, TASK_COLUMNS[1:8], strict=True):
        value = result.counts.get(name)
        if value is not None:
            cells[_TASK_COL[column]] = value
    return cells


def header_cells() -> dict[int, object]:
    """The Log header's cells for the task columns (a Log made before them lacks them)."""
    return {_TASK_COL[name]: name for name in TASK_COLUMNS}


def rejected_sheet_rows(rejected: Sequence[RejectedRow]) -> tuple[list[str], list[list]]:
    """(the Rejected sheet's header, its rows): the fixed columns, then the values sent
    under the CSV's headers. A task whose CSV has other headers than the first one's gets
    a row naming its columns first."""
    if not rejected:
        return list(REJECTED_COLUMNS), []
    first = rejected[0].header
    header = [*REJECTED_COLUMNS, *first]
    rows: list[list] = []
    current = first
    for bad in rejected:
        if bad.header != current:
            rows.append([bad.task_id, "(columns)", None, None, None, *bad.header])
            current = bad.header
        rows.append([bad.task_id, bad.sheet, bad.sheet_row, bad.code, bad.reason,
                     *(v if v != "" else None for v in bad.values)])  # "": an empty cell
    return header, rows


def check_rejected_sheet(rows: Sequence[Sequence], sheet: str) -> None:
    """Raise when an existing Rejected sheet was not made by xl_ameyo (its row 1 does not
    start with :data:`REJECTED_COLUMNS`): rows are appended only to ours."""
    first = next((list(r) for r in rows if r and any(_text(v) for v in r)), None)
    if first is None:
        return
    if [_text(v) for v in first[: len(REJECTED_COLUMNS)]] != list(REJECTED_COLUMNS):
        from xl_ameyo.errors import WorkbookError

        raise WorkbookError(
            f"The sheet '{sheet}' was not made by xl_ameyo (its first row is not "
            f"{', '.join(REJECTED_COLUMNS)}, ...)",
            hint="Rename that sheet: the server's rejected rows go to a sheet named Rejected")


def row_locator(checked) -> Callable[[list[str], list[str]], int | None]:
    """``locate`` for :func:`ask_task` from the workbook's checked rows as they would be sent
    now (``checks.CheckedData``): a record's values -> its sheet row."""
    index: dict[tuple, int] | None = None

    def locate(header: list[str], values: list[str]) -> int | None:
        nonlocal index
        if list(header) != list(checked.header):
            return None
        if index is None:
            index = {}
            for number, row in zip(checked.row_numbers, checked.rows(), strict=True):
                index.setdefault(tuple(row), number)
        return index.get(tuple(values))

    return locate


def task_locators(plan_sheet: Callable[[str], object]
                  ) -> Callable[[LoggedTask], Callable[[list[str], list[str]], int | None]]:
    """``locate`` for :func:`ask_task`, per task: ``plan_sheet(sheet)`` (the checked rows of
    that data sheet as the workbook would send them now) is called once per sheet, and only
    when a record must be placed; a sheet that can no longer be planned places nothing."""
    located: dict[str, Callable | None] = {}

    def for_task(task: LoggedTask) -> Callable[[list[str], list[str]], int | None]:
        def locate(header: list[str], values: list[str]) -> int | None:
            if task.sheet not in located:
                try:
                    located[task.sheet] = row_locator(plan_sheet(task.sheet))
                except XlAmeyoError:
                    located[task.sheet] = None
            found = located[task.sheet]
            return found(header, values) if found is not None else None

        return locate

    return for_task
