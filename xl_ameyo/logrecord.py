"""The Log sheet (SPEC §2): its columns, one :class:`LogRecord` per upload attempt, and the
lookup of an earlier identical upload (SPEC §5).

Decisions where SPEC is silent:

- ``timestamp`` is local time with its UTC offset, to the second
  (``2026-11-26T14:03:07+05:30``); an aware ``at`` keeps its own offset.
- ``task_id``, ``request_id``, ``csv_sha256``, ``user_id`` and ``message`` are text (``None``
  -> ``""``): the writers must store ``task_id`` as a text cell (Ameyo's ids have 16+ digits).
  ``message`` is made one line and cut to Excel's 32,767 characters per cell.
- ids are ``int`` (``None`` -> empty cell, for attempts stopped before Settings were read);
  ``http_code`` is ``int`` or ``None``; ``duration_s`` is rounded to 3 decimals.
- :func:`find_previous_upload` locates columns by their header (trimmed, any case), so added,
  removed or reordered columns are tolerated; the header is the first non-empty row. Rows
  are also read by position in :data:`LOG_COLUMNS` order, the order the Log writers use
  whatever the header says (a title row, an older shorter header, moved columns): a row
  matching either way is found. The latest matching row is the lowest one (the Log is newest
  last). ids may come back as ``17``, ``17.0`` or ``"17"``; status is compared trimmed and
  case-insensitively.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

from xl_ameyo.cells import CellError

__all__ = [
    "LOG_COLUMNS",
    "STATUSES",
    "LogRecord",
    "find_previous_upload",
    "iso_timestamp",
]

LOG_COLUMNS = (
    "timestamp",
    "sheet",
    "rows_sent",
    "rows_skipped",
    "cc_list_id",
    "process_id",
    "lead_id",
    "user_id",
    "update_duplicate",
    "churn_updated_records",
    "migrate",
    "task_id",
    "status",
    "http_code",
    "message",
    "request_id",
    "csv_sha256",
    "duration_s",
)
#: columns after ``duration_s`` that ``xl-ameyo status`` fills in (SPEC §2, §4): the
#: server's final task state and counts, its error, and when it was asked (ISO 8601 text)
TASK_COLUMNS = (
    "task_state",
    "task_rows",
    "inserted",
    "updated",
    "duplicates",
    "migrated",
    "rejected",
    "churned",
    "task_error",
    "checked_at",
)
#: Log column widths in characters for the writers that create a Log (Excel's default, about
#: 8.4, cuts off the timestamp and the task id); others: the header's length + 2, at least 10
LOG_WIDTHS = {
    "timestamp": 26, "sheet": 14, "user_id": 14, "update_duplicate": 17,
    "churn_updated_records": 22, "task_id": 20, "status": 10, "message": 60,
    "request_id": 38, "csv_sha256": 66, "task_state": 12, "task_error": 40,
    "checked_at": 26,
}


def column_width(name: str) -> float:
    """The width a new Log gives column ``name`` (see :data:`LOG_WIDTHS`)."""
    return LOG_WIDTHS.get(name, max(10, len(name) + 2))


STATUSES = ("OK", "FAILED", "DRY RUN", "UNKNOWN")
#: Excel's limit of characters in one cell
MAX_CELL_TEXT = 32_767
_TEXT_COLUMNS = frozenset(
    {"timestamp", "sheet", "user_id", "task_id", "status", "message", "request_id", "csv_sha256"}
)


def iso_timestamp(at: _dt.datetime | None = None) -> str:
    """ISO 8601 with the UTC offset, to the second: local time unless ``at`` is aware."""
    moment = _dt.datetime.now().astimezone() if at is None else at
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.replace(microsecond=0).isoformat()


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - 3] + "..."
    return text


@dataclass(kw_only=True)
class LogRecord:
    """One Log row; one attribute per column of :data:`LOG_COLUMNS`, in that order."""

    timestamp: str
    sheet: str = ""
    rows_sent: int = 0
    rows_skipped: int = 0
    cc_list_id: int | None = None
    process_id: int | None = None
    lead_id: int | None = None
    user_id: str = ""
    update_duplicate: bool = False
    churn_updated_records: bool = False
    migrate: bool = False
    task_id: str = ""
    status: str
    http_code: int | None = None
    message: str = ""
    request_id: str = ""
    csv_sha256: str = ""
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")
        self.timestamp = _text(self.timestamp)
        self.sheet = _text(self.sheet)
        self.user_id = _text(self.user_id)
        self.task_id = _text(self.task_id)
        self.request_id = _text(self.request_id)
        self.csv_sha256 = _text(self.csv_sha256)
        self.message = _one_line(_text(self.message))
        self.rows_sent = int(self.rows_sent)
        self.rows_skipped = int(self.rows_skipped)
        for name in ("cc_list_id", "process_id", "lead_id", "http_code"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, int(value))
        for name in ("update_duplicate", "churn_updated_records", "migrate"):
            setattr(self, name, bool(getattr(self, name)))
        self.duration_s = round(float(self.duration_s or 0.0), 3)

    @classmethod
    def now(cls, *, at: _dt.datetime | None = None, **values) -> LogRecord:
        """A record stamped with the current local time (or ``at``)."""
        return cls(timestamp=iso_timestamp(at), **values)

    def as_row(self) -> list:
        """The cell values in :data:`LOG_COLUMNS` order (``task_id`` as text, flags as bool,
        ``None`` for an empty cell)."""
        return [getattr(self, name) for name in LOG_COLUMNS]

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in LOG_COLUMNS}


assert tuple(f.name for f in fields(LogRecord)) == LOG_COLUMNS


def _as_int(value) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return int(text)
        try:
            x = float(text)
        except ValueError:
            return None
        return int(x) if math.isfinite(x) and x.is_integer() else None
    return None


def _cell_text(value) -> str:
    if isinstance(value, CellError):
        return value.code
    # (the rules import numpy and pyarrow: not needed to take a workbook's lock, see cli.py)
    from xl_ameyo.rules import format_value

    try:
        return format_value(value)
    except (ValueError, TypeError):
        return str(value)


def find_previous_upload(
    log_rows: Sequence,
    *,
    csv_sha256: str,
    cc_list_id: int,
    process_id: int,
    lead_id: int,
) -> dict | None:
    """The latest Log row with status ``OK`` or ``UNKNOWN`` (an interrupted run: the server
    may have the file), or any row with a task id (the server took the file, even if its
    answer was not a success), with this ``csv_sha256`` and these three ids, as a
    dict {column name: value} (known columns by their canonical name, text columns as text),
    or ``None``."""
    rows = [r for r in log_rows if r is not None]
    start = next(
        (
            i
            for i, row in enumerate(rows)
            if any(v is not None and _cell_text(v).strip() for v in row)
        ),
        None,
    )
    if start is None:
        return None
    # Two ways to read a row: by the header's names (a Log whose columns were moved), and by
    # position in LOG_COLUMNS order, which is how the Log writers put every row in whatever
    # the header says (a title row, an older shorter header, columns moved): a re-upload
    # must not go unnoticed because of the header (SPEC §5).
    names: dict[int, str] = {}
    position: dict[str, int] = {}
    known = {c.casefold(): c for c in LOG_COLUMNS}
    for j, cell in enumerate(rows[start]):
        if cell is None:
            continue
        text = _cell_text(cell).strip()
        if not text:
            continue
        name = known.get(text.casefold(), text)
        if name in position:
            continue  # the first of two same-named columns wins
        position[name] = j
        names[j] = name
    needed = ("status", "csv_sha256", "cc_list_id", "process_id", "lead_id")
    layouts: list[dict[int, str]] = []  # column index -> name
    if all(n in position for n in needed):
        layouts.append(names)
    if not layouts or any(position[n] != LOG_COLUMNS.index(n) for n in needed):
        layouts.append(dict(enumerate(LOG_COLUMNS)))
    inverses = [{name: j for j, name in layout.items()} for layout in layouts]

    want_sha = csv_sha256.strip().casefold()
    want_ids = (int(cc_list_id), int(process_id), int(lead_id))

    def matches(row, at: dict[str, int]) -> bool:
        def cell(name: str):
            j = at[name]
            return row[j] if j < len(row) else None

        if _cell_text(cell("status")).strip().casefold() not in ("ok", "unknown") and (
            "task_id" not in at or not _cell_text(cell("task_id")).strip()
        ):
            return False
        if _cell_text(cell("csv_sha256")).strip().casefold() != want_sha:
            return False
        ids = tuple(_as_int(cell(n)) for n in ("cc_list_id", "process_id", "lead_id"))
        return ids == want_ids

    # from the first non-empty row on: a header never matches (its status cell says
    # "status"), and a Log whose header row was deleted starts with a data row
    for row in reversed(rows[start:]):
        for layout, at in zip(layouts, inverses, strict=True):
            if not matches(row, at):
                continue
            found = {}
            for j, name in layout.items():
                value = row[j] if j < len(row) else None
                if name in _TEXT_COLUMNS and value is not None:
                    value = _cell_text(value)
                found[name] = value
            return found
    return None
