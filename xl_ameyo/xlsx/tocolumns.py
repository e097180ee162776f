"""The reader's sheets as :class:`~xl_ameyo.columns.SheetColumns`: what the rules consume.

Two ways in, one result:

- :func:`from_arrow_sheet`: fastexcel's typed columns (each read as its cells' most common
  class, :mod:`.celltypes`), with the error cells and the cells of any other class (the
  misfits: typed text in a column of numbers, a number among texts) put in from the XML
  scan's own bytes, so that a mixed column stays columnar and exact;
- :func:`from_stream`: the per-cell reads (python-calamine's values corrected by the scans,
  or the exact reader's), a block of rows at a time, through :func:`columns.from_values`.

Both give every column of the sheet (the rules look at the unmapped ones only through
``nonempty``), the cells' kinds beside their numbers and texts, zero-padding widths, and the
formula cells without a saved result as :attr:`SheetColumns.unsaved` (0-based row, column).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine

from xl_ameyo.columns import (
    Column,
    Kind,
    SheetColumns,
    concat,
    empty_column,
    from_arrow,
    from_values,
)
from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx.celltypes import BOOL, NUMBER, TEXT, Misfit
from xl_ameyo.xlsx.formats import DATE, DATETIME
from xl_ameyo.xlsx.percell import BLOCK_ROWS, SheetStream, _cell_error
from xl_ameyo.xlsx.scans import corrected
from xl_ameyo.xlsx.sheetxml import read_shared_strings

_VALUE = re.compile(rb"<v>([^<]*)</v>")
_INLINE = re.compile(rb"<is>(.*)</is>", re.DOTALL)
_KIND_OF_CLASS = {TEXT: Kind.TEXT, NUMBER: Kind.NUMBER, BOOL: Kind.BOOL, DATE: Kind.DATE,
                  DATETIME: Kind.DATETIME}


def _finish(header: list, columns: dict[int, Column], rows: int,
            unsaved: list[tuple[int, int]]) -> SheetColumns:
    from xl_ameyo.rules.checks import rows_with_values  # blank text is no value (SPEC §2)

    sheet = SheetColumns(header=header, columns=columns, rows=rows, unsaved=unsaved)
    sheet.nonempty = rows_with_values(sheet)
    return sheet


def from_stream(stream) -> SheetColumns:
    """A :class:`~.reader.SheetStream` (per-cell values) as columns."""
    parts: list[list[Column]] = [[] for _ in range(stream.width)]
    for block, _types in stream.blocks:
        for k, values in enumerate(block):
            parts[k].append(from_values(values))  # a PaddedNumber gets its pad
    columns = {k: concat(p) if p else empty_column(stream.height) for k, p in enumerate(parts)}
    return _finish(list(stream.header), columns, stream.height, list(stream.unsaved))


def _real_days(serial: float) -> float:
    """An Excel serial (1900 system) as days since 1899-12-30 on the real calendar (serials
    below 60 count from 1899-12-31; 60, Excel's 1900-02-29, reads as 1900-02-28)."""
    return serial + 1 if serial < 60 else serial


def shared_indices(misfits: Sequence[Misfit]) -> list[int]:
    """The shared-string indices the text misfits use, ascending."""
    used = set()
    for m in misfits:
        if m.kind == TEXT and m.t == b"s":
            value = _VALUE.search(m.body)
            if value is not None and value.group(1).strip():
                used.add(int(value.group(1)))
    return sorted(used)


def _decode(misfits: Sequence[Misfit], shared: Callable[[list[int]], dict[int, str]]
            ) -> dict[int, dict[int, tuple[Kind, float, str | None, int]]]:
    """column -> data row -> (kind, number, text, pad) of each misfit."""
    fixes: dict[int, dict[int, tuple[Kind, float, str | None, int]]] = {}
    texts: list[tuple[int, int, bytes]] = []  # (col, row, <si> item) decoded at once
    indices: list[tuple[int, int, int]] = []  # (col, row, shared-string index)
    for m in misfits:
        row = m.row - 1
        value = _VALUE.search(m.body)
        raw = value.group(1) if value else None
        if m.kind == TEXT:
            if m.t == b"s":
                if raw is not None and raw.strip():
                    indices.append((m.col, row, int(raw)))
            elif m.t == b"inlineStr":
                inline = _INLINE.search(m.body)
                if inline is not None:
                    texts.append((m.col, row, b"<si>" + inline.group(1) + b"</si>"))
            elif raw is not None:
                texts.append((m.col, row, b"<si><t>" + raw + b"</t></si>"))
            continue
        if raw is None or not raw.strip():
            continue
        number = float(raw)
        pad = 0
        if m.kind == BOOL:
            kind, number = Kind.BOOL, float(raw.strip() in (b"1", b"true"))
        elif m.kind in (DATE, DATETIME):
            kind, number = ((Kind.TIME, max(number, 0.0)) if number < 1 else
                            (_KIND_OF_CLASS[m.kind], _real_days(number)))
        else:
            kind = Kind.NUMBER
            if m.kind.startswith("pad"):
                pad = int(m.kind[3:])
        fixes.setdefault(m.col, {})[row] = (kind, number, None, pad)
    if texts:
        doc = b"<sst>" + b"".join(item for _, _, item in texts) + b"</sst>"
        for (col, row, _), text in zip(texts, read_shared_strings([doc]), strict=True):
            fixes.setdefault(col, {})[row] = (Kind.TEXT if text else Kind.EMPTY, np.nan,
                                              text or None, 0)
    if indices:
        strings = shared(sorted({i for _, _, i in indices}))
        for col, row, i in indices:
            text = strings[i]
            fixes.setdefault(col, {})[row] = (Kind.TEXT if text else Kind.EMPTY, np.nan,
                                              text or None, 0)
    return fixes


def _apply(col: Column, fixes: dict[int, tuple[Kind, float, str | None, int]], n: int
           ) -> Column:
    rows = np.fromiter(fixes, np.int64, count=len(fixes))
    values = list(fixes.values())
    kinds = col.kinds.copy()
    kinds[rows] = [kind for kind, _, _, _ in values]
    number = col.number
    if any(kind not in (Kind.TEXT, Kind.EMPTY) for kind, _, _, _ in values):
        number = np.full(n, np.nan) if number is None else number.copy()
        number[rows] = [x for _, x, _, _ in values]
    text = col.text
    if text is not None or any(t is not None for _, _, t, _ in values):
        if text is None:
            text = pa.nulls(n, pa.string())
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        order = np.argsort(rows, kind="stable")
        replacement = pa.array([values[i][2] for i in order.tolist()], text.type)
        text = pc.replace_with_mask(text, pa.array(mask), replacement)
    pad = col.pad
    if pad is not None or any(p for _, _, _, p in values):
        pad = np.zeros(n, np.int8) if pad is None else pad.copy()
        pad[rows] = [p for _, _, _, p in values]
    return Column(kinds=kinds, number=number, text=text, pad=pad, broken=col.broken)


def from_arrow_sheet(sheet, shared: Callable[[list[int]], dict[int, str]]) -> SheetColumns:
    """An :class:`~.arrow_reader.ArrowSheet` read with its columns' majority types as
    columns; ``shared(indices)`` gives the shared strings the misfits use."""
    n = sheet.height
    errors: dict[int, dict[int, str]] = {}
    for r, c, code in sheet.errors:
        errors.setdefault(c, {})[r - 1] = code
    fixes = _decode(sheet.misfits, shared)
    columns: dict[int, Column] = {}
    for k, array in enumerate(sheet.columns):
        cls = sheet.majority.get(k, "")
        col = from_arrow(array, dates=Kind.DATE if cls == DATE else Kind.DATETIME,
                         errors=errors.get(k))
        if cls.startswith("pad"):
            col.pad = np.where(col.kinds == Kind.NUMBER, np.int8(int(cls[3:])), np.int8(0))
        if k in fixes:
            col = _apply(col, fixes[k], n)
        columns[k] = col
    return _finish(list(sheet.header), columns, n, list(sheet.unsaved))


# --- per-cell values in blocks of rows, as columns ------------------------------------------


def _empty_to_none(rows: list[list]) -> None:
    """Replace calamine's ``''`` (empty cell, empty text, error) by ``None``, in place.

    In place and by ``list.index`` (a C loop) because this touches every cell of sheets with
    a million rows: about 0.45 s per 10 million cells against 2.2 s for a comprehension.
    """
    for row in rows:
        i = -1
        try:
            while True:
                i = row.index("", i + 1)
                row[i] = None
        except ValueError:
            pass


def put_cells(
    rows: list[list], cells: list[tuple[int, int, str]], make: Callable[[str], Any]
) -> None:
    """Put ``make(code)`` at each (row, column), growing the rows where needed.

    One value per code is made and shared (``CellError`` is immutable): a column of a
    million ``#N/A`` holds one object.
    """
    made: dict[str, Any] = {}
    for r, c, code in cells:
        value = made.get(code)
        if value is None:
            value = made[code] = make(code)
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        row[c] = value


def _stream(
    sheet: python_calamine.CalamineSheet,
    errors: list[tuple[int, int, str]],
    dates: list[tuple[int, int, str]],
    failed: Callable[[Exception], WorkbookFileError],
) -> SheetStream:
    """python-calamine's parsed sheet as a :class:`SheetStream`, the XML scan's error cells
    and date kinds put in place.

    ``iter_rows`` gives the used range's columns only (the columns left of it are empty)
    and, in python-calamine 0.9, every row from row 1. A sheet whose row 1 is empty (no
    header: the pipeline stops there anyway) is read by ``to_python(skip_empty_area=False)``
    instead, which is documented to start at A1. Error cells can lie beyond calamine's range
    (it takes them for empty): the sheet is widened and lengthened for them.
    """
    start, end = sheet.start, sheet.end
    last_row, last_col = end if end is not None else (-1, -1)
    if errors:
        last_row = max(last_row, max(r for r, _, _ in errors))
        last_col = max(last_col, max(c for _, c, _ in errors))
    width = last_col + 1
    left = 0
    try:
        if start is None:
            rows: Iterator[list] = iter(())
        elif start[0] == 0:
            rows = sheet.iter_rows()
            left = start[1]
        else:
            rows = iter(sheet.to_python(skip_empty_area=False))
        first = next(rows, None) if start is not None else None
    except python_calamine.CalamineError as exc:
        raise failed(exc) from None
    header: list = [None] * width
    for k, v in enumerate(first or ()):
        header[left + k] = None if v == "" else v

    made: dict[str, Any] = {}
    fixes: list[tuple[int, int, int, Any]] = []  # (row, 0 date / 1 error, column, kind/value)
    for r, c, kind in dates:
        fixes.append((r, 0, c, kind))
    for r, c, code in errors:
        value = made.get(code)
        if value is None:
            value = made[code] = _cell_error(code)
        fixes.append((r, 1, c, value))
    fixes.sort(key=lambda f: (f[0], f[1]))
    at = 0
    while at < len(fixes) and fixes[at][0] == 0:
        _r, what, c, arg = fixes[at]
        if c < width:
            header[c] = corrected(header[c], arg) if what == 0 else arg
        at += 1
    none = type(None)

    def blocks() -> Iterator[tuple[list[Sequence], list[set[type]]]]:
        nonlocal sheet, rows, at
        r0 = 1  # the sheet row (0-based) of the block's first row
        while r0 <= last_row:
            try:
                block = list(itertools.islice(rows, BLOCK_ROWS))
            except python_calamine.CalamineError as exc:
                raise failed(exc) from None
            m = len(block) if block else min(BLOCK_ROWS, last_row + 1 - r0)
            values: list[Sequence] = list(zip(*block, strict=True)) if block else []
            kinds = [set(map(type, column)) for column in values]
            for k, column in enumerate(values):
                if str in kinds[k] and "" in column:  # empty cells
                    column = list(column)
                    _empty_to_none_column(column)
                    values[k] = column
                    kinds[k].add(none)
            right = width - left - len(values)
            columns = [[None] * m for _ in range(left)] + values
            columns += [[None] * m for _ in range(right)]
            kinds = [{none} for _ in range(left)] + kinds + [{none} for _ in range(right)]
            while at < len(fixes) and fixes[at][0] < r0 + m:
                r, what, c, arg = fixes[at]
                at += 1
                column = columns[c]
                if not isinstance(column, list):
                    column = columns[c] = list(column)
                value = corrected(column[r - r0], arg) if what == 0 else arg
                column[r - r0] = value
                kinds[c].add(type(value))
            yield columns, kinds
            r0 += m
        sheet = rows = None  # type: ignore[assignment]  # python-calamine's copy, freed

    return SheetStream(header=header, width=width, height=max(last_row, 0), blocks=blocks())


def _empty_to_none_column(column: list) -> int:
    """:func:`_empty_to_none` for one column; how many cells it replaced."""
    i = -1
    count = 0
    index = column.index
    try:
        while True:
            i = index("", i + 1)
            column[i] = None
            count += 1
    except ValueError:
        return count


def _stream_rows(rows: list[list], unsaved: list[tuple[int, int]]) -> SheetStream:
    """Rows (row 0 = sheet row 1, as read_sheet gives them) as a :class:`SheetStream`."""
    width = max(map(len, rows), default=0)
    header = list(rows[0]) + [None] * (width - len(rows[0])) if rows else []
    body = rows[1:]
    # the last row holding a value ends the sheet
    while body and not any(v is not None for v in body[-1]):
        body.pop()

    def blocks() -> Iterator[tuple[list[Sequence], list[set[type]]]]:
        for start in range(0, len(body), BLOCK_ROWS):
            chunk = [row + [None] * (width - len(row)) for row in body[start:start + BLOCK_ROWS]]
            columns: list[Sequence] = [list(c) for c in zip(*chunk, strict=True)]
            yield columns, [set(map(type, c)) for c in columns]

    return SheetStream(header=header, width=width, height=len(body), blocks=blocks(),
                       unsaved=unsaved, exact=True)


def _padded(rows: list[list]) -> list[list]:
    """Every row as wide as the widest, as python-calamine gives a sheet."""
    width = max(map(len, rows), default=0)
    for row in rows:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    return rows
