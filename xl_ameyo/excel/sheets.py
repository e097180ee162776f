"""What the add-in writes into the workbook, through xlwings: the Log row, the Issues sheet and
its highlights, and the Settings and Mapping sheets of a first run.

Writes are bulk (one ``.value`` per table) plus a few number formats; nothing is read back
after a write (the remote engine would not see it): positions come from the reads the run did
first (:class:`~xl_ameyo.excel.source.WorkbookSource`).

Text cells: every text value is written into a cell formatted as Text (``@``) first, so Excel
keeps it exactly: a 16-digit ``task_id`` is not turned into a number (and rounded to 15
digits), an ISO timestamp not into a date, a sheet value like ``=1+1`` or ``00123`` not into a
formula or a number. *Decision:* the ``@`` format rather than a leading apostrophe: the cell
then holds exactly the task id (no prefix character for other readers to strip), and a
later edit of the cell stays text.

Highlights: the cell that made a row invalid gets the fill :data:`HIGHLIGHT` (at most
:data:`MAX_HIGHLIGHTS` cells; the Issues sheet lists every row). Its previous fill is read
first where the engine can (desktop; the remote engine cannot read fills) and kept in the
Issues sheet's last column, so the next run puts it back: only the cells this add-in coloured
are touched, and only while they still carry its colour (an analyst's own colour since then
is kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from xl_ameyo.columns import CellError
from xl_ameyo.errors import WorkbookError
from xl_ameyo.logrecord import LOG_COLUMNS, LogRecord
from xl_ameyo.mapping import STANDARD_FIELDS
from xl_ameyo.pipeline import ISSUES_SHEET, LOG_SHEET, MAPPING_SHEET, SETTINGS_SHEET, find_sheet
from xl_ameyo.rules import InvalidRow, format_value
from xl_ameyo.template import SETTINGS_ROWS

__all__ = [
    "HIGHLIGHT",
    "ISSUES_HEADER",
    "MAX_HIGHLIGHTS",
    "append_log",
    "clear_issues",
    "create_mapping_sheet",
    "create_settings_sheet",
    "hyperlink_formula",
    "last_used_row",
    "write_issues",
]

#: the fill of a cell that made its row invalid (Excel's "Bad" style colour)
HIGHLIGHT = (255, 199, 206)
HIGHLIGHT_HEX = "#ffc7ce"
#: no more cells than this are coloured in one run (each needs its own call on desktop)
MAX_HIGHLIGHTS = 500
ISSUES_HEADER = ("Sheet", "Row", "Column", "Cell", "Value", "Reason", "Go to", "Fill before")
#: "Fill before" of a highlighted cell that had no fill (empty: the cell was not highlighted)
NO_FILL = "none"
_TEXT_SETTINGS = ("base_url", "user_id", "username", "data_sheet", "origin", "ca_bundle")
_ISSUES_TEXT = (0, 2, 3, 4, 5, 7)
_ISSUES_LINK = 6


# --- small helpers ---------------------------------------------------------------------------


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def last_used_row(rows: Sequence) -> int:
    """The 1-based number of the last row holding a value (0: none)."""
    for index in range(len(rows) - 1, -1, -1):
        row = rows[index]
        if row and any(not _blank(v) for v in row):
            return index + 1
    return 0


def _spans(columns: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted 0-based column indices -> contiguous (first, last) spans."""
    spans: list[tuple[int, int]] = []
    for c in sorted(set(columns)):
        if spans and spans[-1][1] == c - 1:
            spans[-1] = (spans[-1][0], c)
        else:
            spans.append((c, c))
    return spans


def _write_rows(sheet, top: int, rows: list[list], *, text_columns: Iterable[int] = ()) -> None:
    """``rows`` at row ``top`` from column A, the ``text_columns`` (0-based) formatted as Text
    before the one bulk write."""
    if not rows:
        return
    bottom = top + len(rows) - 1
    for first, last in _spans(text_columns):
        sheet.range((top, first + 1), (bottom, last + 1)).number_format = "@"
    width = max(len(r) for r in rows)
    padded = [list(r) + [None] * (width - len(r)) for r in rows]
    sheet.range((top, 1), (bottom, width)).value = padded


def add_sheet(book, name: str):
    """A new sheet after the last one."""
    return book.sheets.add(name, after=book.sheets[-1])


def quote_sheet(name: str) -> str:
    """A sheet name as a formula reference needs it: ``'Lead''s list'``."""
    return "'" + name.replace("'", "''") + "'"


def hyperlink_formula(sheet: str, cell: str) -> str:
    """``=HYPERLINK("#'Leads'!C7","Leads!C7")``: a click jumps to the cell."""
    target = f"#{quote_sheet(sheet)}!{cell}".replace('"', '""')
    label = f"{sheet}!{cell}".replace('"', '""')
    return f'=HYPERLINK("{target}","{label}")'


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, CellError):
        return value.code
    try:
        return format_value(value)
    except (TypeError, ValueError):
        return str(value)


# --- the Log sheet ---------------------------------------------------------------------------


def append_log(book, source, records: Sequence[LogRecord]) -> tuple[str, int]:
    """Append the records to the Log sheet (created with its header when missing, after the
    last sheet; an empty Log gets the header first). Returns (sheet name, first row written).

    Where: after the last row holding a value, as the headless writer does. Text cells (the
    ``task_id`` above all) are formatted as Text before they are written.
    """
    rows = [record.as_row() for record in records]
    name = find_sheet(source.sheet_names, LOG_SHEET)
    if name is None:
        sheet = add_sheet(book, LOG_SHEET)
        name = sheet.name
        now: list[list] = []
    else:
        sheet = book.sheets[name]
        now = list(source.read_sheet(name))
        now = now[:last_used_row(now)]
    if not now:
        now = [list(LOG_COLUMNS)]
        _write_rows(sheet, 1, now)
    start = len(now) + 1
    # only the text cells get the Text format: counts, ids and flags stay numbers/booleans
    text_columns = {j for row in rows for j, v in enumerate(row) if isinstance(v, str)}
    _write_rows(sheet, start, rows, text_columns=text_columns)
    # a second append in the same run (the ledger's rows, then the run's) goes below these
    source.remember(name, now + rows)
    return name, start


# --- the Issues sheet and the highlights -------------------------------------------------------


@dataclass
class IssuesReport:
    listed: int = 0
    highlighted: int = 0


def _issues_columns(rows: Sequence, sheet: str) -> dict[str, int] | None:
    """The Issues sheet's column positions by header; None when the sheet is empty; an error
    when it is not ours."""
    if last_used_row(rows) == 0:
        return None
    header = [_text(v).strip().casefold() for v in (rows[0] if rows else [])]
    wanted = [h.casefold() for h in ISSUES_HEADER]
    if header[: len(wanted)] != wanted:
        raise WorkbookError(
            f"The sheet '{sheet}' was not made by xl_ameyo (its row 1 is not "
            f"{', '.join(ISSUES_HEADER)})",
            hint="Rename that sheet: xl_ameyo lists the invalid rows of each run in a sheet "
            "named Issues and clears it on the next run",
        )
    return {h: j for j, h in enumerate(ISSUES_HEADER)}


def _fill_of(rng) -> str | None:
    """The cell's fill as "#rrggbb"/"none", or None when the engine cannot tell."""
    try:
        color = rng.color
    except Exception:  # the remote engine cannot read fills (NotImplementedError)
        return None
    if color is None:
        return NO_FILL
    try:
        r, g, b = color
    except (TypeError, ValueError):
        return None
    return f"#{r:02x}{g:02x}{b:02x}"


def clear_issues(book, source) -> int:
    """Undo the previous run's highlights and empty the Issues sheet. Returns how many cells
    got their fill back."""
    name = find_sheet(source.sheet_names, ISSUES_SHEET)
    if name is None:
        return 0
    rows = source.read_sheet(name)
    columns = _issues_columns(rows, name)
    if columns is None:
        return 0
    restored = 0
    names = source.sheet_names
    for row in rows[1:]:
        values = {h: (row[j] if j < len(row) else None) for h, j in columns.items()}
        before = _text(values["Fill before"]).strip()
        target = find_sheet(names, _text(values["Sheet"]))
        address = _text(values["Cell"]).strip()
        if not before or target is None or not address:
            continue
        try:
            rng = book.sheets[target].range(address)
        except Exception:  # an address Excel does not know: nothing to restore
            continue
        now = _fill_of(rng)
        if now is not None and now != HIGHLIGHT_HEX:
            continue  # recoloured since: the analyst's colour stays
        rng.color = None if before.casefold() == NO_FILL else before
        restored += 1
    book.sheets[name].clear()
    source.forget(name)
    return restored


def write_issues(
    book,
    source,
    data_sheet: str,
    invalid: Sequence[InvalidRow],
    *,
    limit: int | None = None,
) -> IssuesReport:
    """List the invalid rows in the Issues sheet (created when missing and needed) and colour
    the offending cells of the first ``limit`` (:data:`MAX_HIGHLIGHTS`) of them. Call
    :func:`clear_issues` first."""
    limit = MAX_HIGHLIGHTS if limit is None else limit
    report = IssuesReport()
    name = find_sheet(source.sheet_names, ISSUES_SHEET)
    if not invalid:
        if name is not None:
            _write_rows(
                book.sheets[name],
                1,
                [list(ISSUES_HEADER), [data_sheet, None, None, None, None,
                                       "No invalid rows in the last check"]],
                text_columns=_ISSUES_TEXT,
            )
        return report
    data = book.sheets[data_sheet]
    rows: list[list] = [list(ISSUES_HEADER)]
    links: list[list[str]] = []
    for number, bad in enumerate(invalid):
        cell = bad.cell or f"A{bad.row}"
        fill = ""
        if bad.cell and number < limit:
            rng = data.range(bad.cell)
            fill = _fill_of(rng) or NO_FILL
            if fill == HIGHLIGHT_HEX:
                fill = NO_FILL  # ours from a run whose Issues sheet was lost: no fill before
            rng.color = HIGHLIGHT
            report.highlighted += 1
        rows.append([data_sheet, bad.row, bad.column or "", cell, bad.value, bad.reason, None,
                     fill])
        links.append([hyperlink_formula(data_sheet, cell)])
    sheet = book.sheets[name] if name is not None else add_sheet(book, ISSUES_SHEET)
    _write_rows(sheet, 1, rows, text_columns=_ISSUES_TEXT)
    link_column = _ISSUES_LINK + 1
    sheet.range((2, link_column), (len(links) + 1, link_column)).formula = links
    report.listed = len(invalid)
    source.forget(sheet.name)
    return report


# --- first run: Settings and Mapping ----------------------------------------------------------


def create_settings_sheet(book, *, data_sheet: str | None = None):
    """A Settings sheet with every key of the template, its default and its note."""
    rows: list[list] = [["Setting", "Value", "Notes"]]
    for key, default, note in SETTINGS_ROWS:
        value = data_sheet if key == "data_sheet" and data_sheet else default
        rows.append([key, value, note])
    sheet = add_sheet(book, SETTINGS_SHEET)
    # values that are text by nature stay as typed (a user_id of digits, a sheet named 2024)
    for number, (key, _default, _note) in enumerate(SETTINGS_ROWS, start=2):
        if key in _TEXT_SETTINGS:
            sheet.range((number, 2)).number_format = "@"
    _write_rows(sheet, 1, rows, text_columns=(0, 2))
    return sheet


def create_mapping_sheet(book, mapping: dict[str, str]):
    """A Mapping sheet: every standard field, with the proposed column header or empty."""
    rows: list[list] = [["Ameyo field", "Sheet column"]]
    rows += [[field, mapping.get(field)] for field in STANDARD_FIELDS]
    sheet = add_sheet(book, MAPPING_SHEET)
    _write_rows(sheet, 1, rows, text_columns=(0, 1))
    return sheet
