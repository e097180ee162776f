"""A workbook open in Excel, read through xlwings into the core's cell values.

:class:`WorkbookSource` is the pipeline's ``WorkbookSource`` over an ``xw.Book``: one bulk read
of each sheet's used range (``sheet.used_range.options(ndim=2, err_to_str=True).value``, never
a call per cell; above 50,000 rows one per block of 50,000 rows), cached, so every sheet is
read once per run. The used range may start below
or right of A1: the rows are padded so that index 0 is row 1 and column A (docs/design.md).

What Excel hands over, and what the core gets (:func:`core_value`), desktop and remote alike:

- a number: always a ``float`` on desktop (a whole number may be an ``int`` from the remote
  engine's JSON) -> the same (the core writes whole floats without ``.0``);
- a date or date-time cell: ``datetime`` -> a ``date`` when the time part is exactly
  00:00:00, else the ``datetime``;
- a time-only cell: a ``datetime`` on 1899-12-30 (serial below 1) -> a ``time``;
- an error cell, asked for as text (``err_to_str=True``): ``"#N/A"``, ``"#REF!"`` ... ->
  ``CellError("#N/A")`` ...; an error the desktop engine does not name (``#SPILL!``,
  ``#CALC!`` ... come as COM error numbers) -> a ``CellError`` with its name;
- an empty cell: ``None``; text and ``True``/``False``: the same.

Decisions:

- *Dates.* Neither engine tells the number format in the bulk read (the remote engine cannot
  read it at all), so a date-time cell holding exactly midnight is sent as a date
  (``2024-01-02``), like the headless reader does. A time-only cell is a ``datetime`` on
  Excel's day 0 (1899-12-30) in both engines; it becomes a ``time`` (``12:30:00``). Durations
  (``[h]:mm``) of a day or more come as date-times in 1900 and are sent as such.
- *Errors.* The seven classic error texts (``#DIV/0!``, ``#N/A``, ``#NAME?``, ``#NULL!``,
  ``#NUM!``, ``#REF!``, ``#VALUE!``) and the newer ones (``#SPILL!``, ``#CALC!``,
  ``#GETTING_DATA``, ...) become :class:`~xl_ameyo.columns.CellError`. The remote engine sends
  error cells as their text, so a *text* cell holding exactly ``#N/A`` is taken for an error
  there (a row that needs it is reported, not sent: the safe side).
- *Remote engine.* Its JSON is read as the client sent it (``raw_value``): date cells are
  ``...T...Z`` strings there and become date-times; xlwings' own cleaning would also take a
  *text* cell holding an ISO date-time with an offset (the Log's ``timestamp``) for a date and
  fail on it.
- *macOS.* xlwings 0.37's AppleScript engine fails on ``err_to_str`` for ranges of more than one
  cell; the read then falls back to the plain values plus the cells' displayed texts (one more
  bulk read) to find the error cells. Not verified on a Mac.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np

from xl_ameyo.columns import CellError, Kind, SheetColumns, from_rows, padding_width

__all__ = [
    "ERROR_TEXTS",
    "WorkbookSource",
    "core_rows",
    "core_value",
    "read_used_range",
]

#: Excel's error values as text (what ``err_to_str=True`` and the remote engine give)
ERROR_TEXTS = frozenset(
    {
        "#DIV/0!",
        "#N/A",
        "#NAME?",
        "#NULL!",
        "#NUM!",
        "#REF!",
        "#VALUE!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#UNKNOWN!",
        "#BUSY!",
        "#DATA!",
        "#PYTHON!",
        "#TIMEOUT!",
        "#EXTERNAL!",
    }
)
#: Excel's CVErr numbers (xlErr...) -> the error's text. COM hands error cells over as the
#: HRESULT 0x800A0000 + number; xlwings names the first seven only.
_XLERR = {
    2000: "#NULL!",
    2007: "#DIV/0!",
    2015: "#VALUE!",
    2023: "#REF!",
    2029: "#NAME?",
    2036: "#NUM!",
    2042: "#N/A",
    2043: "#GETTING_DATA",
    2045: "#SPILL!",
    2046: "#CONNECT!",
    2047: "#BLOCKED!",
    2048: "#UNKNOWN!",
    2049: "#FIELD!",
    2050: "#CALC!",
}
_HRESULT_BASE = 0x800A0000 - (1 << 32)  # as the signed 32-bit int pywin32 gives
_ERRORS = {text: CellError(text) for text in ERROR_TEXTS}
_DAY_ZERO = dt.date(1899, 12, 30)
_MIDNIGHT = dt.time(0, 0)


def _com_error(value: int) -> CellError | None:
    code = value - _HRESULT_BASE
    if 0 <= code <= 0xFFFF:
        text = _XLERR.get(code, f"#ERROR{code}")
        return _ERRORS.get(text) or CellError(text)
    return None


def core_value(value):
    """One cell as Excel (through xlwings) gave it -> the core's value (see the module doc)."""
    t = type(value)
    if value is None or t is float or t is bool:
        return value
    if t is str:
        return _ERRORS.get(value, value)
    if t is dt.datetime:
        if value.time() == _MIDNIGHT and value.tzinfo is None:
            return value.date()
        if value.date() == _DAY_ZERO:
            return value.time()
        return value
    if t is int:
        return _com_error(value) or value
    return value


def core_rows(values) -> list[list]:
    """A 2-D list of xlwings values -> rows of core values (see :func:`core_value`)."""
    if values is None:
        return []
    if not isinstance(values, list):
        return [[core_value(values)]]
    if values and not isinstance(values[0], list):
        values = [values]
    convert = core_value
    out = []
    append = out.append
    for row in values:
        append(
            [
                v if v is None or v.__class__ is float else convert(v)
                for v in row
            ]
        )
    return out


def overlay_errors(values: Sequence, texts: Sequence) -> list[list]:
    """Put the error texts of ``texts`` (the cells' displayed text) into ``values`` (both 2-D,
    same shape; a scalar or a 1-D list is taken as one row)."""

    def rows(x) -> list[list]:
        if not isinstance(x, list):
            return [[x]]
        if x and not isinstance(x[0], list):
            return [list(x)]
        return [list(r) for r in x]

    out = rows(values)
    for i, row in enumerate(rows(texts)):
        if i >= len(out):
            break
        for j, text in enumerate(row):
            if j < len(out[i]) and isinstance(text, str) and text in ERROR_TEXTS:
                out[i][j] = text
    return out


_ISO_Z = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6})\d*)?Z"
)


def _remote_cell(value):
    """One cell as the remote engine's JSON holds it -> what xlwings' desktop engines give."""
    if value == "":
        return None
    if value.__class__ is str and value[-1:] == "Z":
        m = _ISO_Z.fullmatch(value)
        if m:
            *parts, fraction = m.groups()
            micro = int((fraction or "0").ljust(6, "0"))
            try:
                return dt.datetime(*map(int, parts), micro)
            except ValueError:
                return value
    return value


def _is_remote(rng) -> bool:
    return type(rng.impl).__module__.startswith("xlwings.pro.")


def _raw_values(rng) -> list[list]:
    """The range's values with error cells as text: one bulk read."""
    if _is_remote(rng):
        # the JSON's values as the client sent them: dates as "...T...Z" strings, errors as
        # their text, empty cells as "". xlwings' own cleaning would take *text* cells that
        # look like ISO date-times with an offset (the Log's timestamps) for dates, and fail.
        return [[_remote_cell(v) for v in row] for row in rng.raw_value]
    try:
        values = rng.options(ndim=2, err_to_str=True).value
    except TypeError:
        values = None
    if values is not None:
        return values
    # xlwings' macOS engine: err_to_str breaks on multi-cell ranges (returns None or raises).
    values = rng.options(ndim=2).value
    try:
        texts = rng.impl.xl.string_value.get()
    except Exception:  # not the AppleScript engine, or it failed: no error overlay
        return values
    return overlay_errors(values, texts)


#: a used range taller than this is read in blocks of this many rows: each bulk read hands
#: Excel, COM and Python an array of bounded size (50,000 x 10 cells, about 8 MB of
#: VARIANTs) instead of one of ten million cells (see docs/performance.md)
READ_BLOCK_ROWS = 50_000


def read_used_range(sheet) -> list[list]:
    """The sheet's cells as core values, row index 0 = row 1, column index 0 = column A.

    One bulk read of the used range, or, above :data:`READ_BLOCK_ROWS` rows, one per block
    of that many rows (never a call per cell)."""
    rng = sheet.used_range
    height, width = rng.shape
    if height <= READ_BLOCK_ROWS:
        rows = core_rows(_raw_values(rng))
    else:
        rows = []
        for start in range(0, height, READ_BLOCK_ROWS):
            stop = min(start + READ_BLOCK_ROWS, height)
            block = sheet.range((rng.row + start, rng.column),
                                (rng.row + stop - 1, rng.column + width - 1))
            rows += core_rows(_raw_values(block))
    top, left = rng.row - 1, rng.column - 1
    if left:
        pad = [None] * left
        rows = [pad + row for row in rows]
    if top:
        rows = [[] for _ in range(top)] + rows
    return rows


def column_pads(sheet) -> dict[int, int]:
    """Column (0 = A) -> the width of the zero-padding number format (``0000000000``) that
    all its data cells share: one ``number_format`` call per column of the used range (it
    is None when the cells' formats differ). The remote engine cannot tell formats in a
    synchronous call: none then (the numbers go by their value)."""
    rng = sheet.used_range
    height, width = rng.shape
    last = rng.row + height - 1
    if last < 2:
        return {}
    out: dict[int, int] = {}
    try:
        for k in range(width):
            column = rng.column + k
            pad = padding_width(sheet.range((max(rng.row, 2), column), (last, column))
                                .number_format)
            if pad:
                out[column - 1] = pad
    except Exception:  # the remote engine, or a format Excel cannot hand over: none
        return {}
    return out


class WorkbookSource:
    """The pipeline's ``WorkbookSource`` over an xlwings ``Book``: sheet names and one cached
    bulk read per sheet.

    Reads are cached for the whole run: the remote engine cannot see its own writes anyway, and
    the fronts write only after everything they need was read.
    """

    def __init__(self, book):
        self.book = book
        self._cache: dict[str, list[list]] = {}

    @property
    def sheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.book.sheets]

    def read_sheet(self, name: str) -> list[list]:
        if name not in self._cache:
            self._cache[name] = read_used_range(self.book.sheets[name])
        return self._cache[name]

    def sheet_columns(self, name: str, columns: set[str] | None = None) -> SheetColumns:
        """The data sheet as columns for the rules: the bulk read's rows, one Column per
        sheet column, with the zero-padding number formats Excel tells (:func:`column_pads`).
        ``columns`` (the headers that matter) is not needed: the bulk read has them all."""
        data = from_rows(self.read_sheet(name) or [[]])
        for k, width in column_pads(self.book.sheets[name]).items():
            col = data.columns.get(k)
            if col is not None:
                col.pad = np.where(col.kinds == Kind.NUMBER, width, 0).astype(np.int8)
        return data

    def remember(self, name: str, rows: list[list]) -> None:
        """What a sheet holds now that the run wrote it (the remote engine cannot read it)."""
        self._cache[name] = rows

    def forget(self, name: str) -> None:
        """Drop a cached read (after the sheet was replaced)."""
        self._cache.pop(name, None)
