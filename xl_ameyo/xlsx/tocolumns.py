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

import re
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xl_ameyo.columns import (
    Column,
    Kind,
    SheetColumns,
    concat,
    empty_column,
    from_arrow,
    from_values,
)
from xl_ameyo.xlsx.celltypes import BOOL, NUMBER, TEXT, Misfit
from xl_ameyo.xlsx.formats import DATE, DATETIME
from xl_ameyo.xlsx.sheetxml import read_shared_strings

_VALUE = re.compile(rb"<v>([^<]*)</v>")
_INLINE = re.compile(rb"<is>(.*)</is>", re.DOTALL)
_KIND_OF_CLASS = {TEXT: Kind.TEXT, NUMBER: Kind.NUMBER, BOOL: Kind.BOOL, DATE: Kind.DATE,
                  DATETIME: Kind.DATETIME}


def _finish(header: list, columns: dict[int, Column], rows: int,
            unsaved: list[tuple[int, int]]) -> SheetColumns:
    nonempty = np.zeros(rows, dtype=bool)
    for col in columns.values():
        nonempty |= col.kinds != Kind.EMPTY
    sheet = SheetColumns(header=header, columns=columns, rows=rows, nonempty=nonempty)
    sheet.unsaved = unsaved  # type: ignore[attr-defined]
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
