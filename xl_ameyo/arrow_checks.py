"""The checks (:mod:`xl_ameyo.checks`) on a data sheet read as Arrow columns (the headless
reader's fast route, ``xlsx/arrow_reader.py``), with exactly the results of
:func:`~xl_ameyo.checks.check_blocks` on the reader's per-cell values.

Which rows are valid, empty or invalid, and why, is decided by the checks' own code: the
mapped phone columns are handed over as Python values (error cells put back as
:class:`~xl_ameyo.values.CellError`), every other mapped column as a placeholder (empty, or
the error at an error cell: rule 1 needs no more). Only the valid rows' values of the other
columns are made here, by pyarrow.compute passes (SPEC §3 texts; the few floats whose text
Arrow writes differently from Python, in Python). :func:`check_arrow` returns None when a
mapped column's Arrow values cannot be proved to be the reader's (the caller then reads the
sheet per cell).
"""

from __future__ import annotations

from typing import Any

from xl_ameyo.checks import BLOCK_ROWS, CheckedData, _Checker
from xl_ameyo.mapping import ResolvedMapping
from xl_ameyo.values import CellError, _format_float

#: what ``str.strip()`` takes for whitespace (Arrow's own trims differ, e.g. U+001C..U+001F;
#: tests compare it with ``str.isspace`` over every code point)
SPACES = ("\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001"
          "\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f"
          "\u205f\u3000")


def check_arrow(sheet: Any, mapping: ResolvedMapping, *, first_row: int = 2) -> CheckedData | None:
    """:func:`~xl_ameyo.checks.check_blocks` for ``sheet`` (an ``ArrowSheet``: ``columns``,
    ``errors``, ``kind(k)``, ``column_ok(k)``); None when the Arrow route is not exact for
    a mapped column. Consumes ``sheet`` when it returns a result (its columns are let go
    one by one as they are done)."""
    import numpy as np
    import pyarrow as pa

    cols = mapping.columns
    if not all(sheet.column_ok(c.index) for c in cols):
        return None
    n = sheet.height
    width = len(sheet.columns)
    phone_js = {j for j, c in enumerate(cols) if c.phone_field is not None}

    made: dict[str, CellError] = {}
    errors_at: dict[int, list[tuple[int, CellError]]] = {}
    error_rows: set[int] = set()
    for r, c, code in sheet.errors:
        value = made.get(code)
        if value is None:
            value = made[code] = CellError(code or "#N/A")
        errors_at.setdefault(c, []).append((r - 1, value))
        error_rows.add(r - 1)

    raw: list[list] = []
    for j, c in enumerate(cols):
        k = c.index
        if j in phone_js and k < width:
            values = _python_values(sheet.columns[k], sheet.kind(k))
        else:
            values = [None] * n
        for i, value in errors_at.get(k, ()):
            values[i] = value
        raw.append(values)

    blank: list = []

    def blank_row(i: int) -> bool:
        if not blank:
            blank.append(_blank_rows(sheet.columns, n, error_rows))
        return bool(blank[0][i])

    checker = _Checker(mapping, first_row)
    for a in range(0, n, BLOCK_ROWS):
        b = min(a + BLOCK_ROWS, n)
        checker.add([col[a:b] for col in raw], lambda i, a=a: blank_row(a + i))
    checked = checker.finish()

    del raw
    keep = pa.array(np.asarray(checked.row_numbers, dtype=np.int64) - first_row)
    # each Arrow column let go once its last use is done (peak memory)
    uses = {c.index: 0 for j, c in enumerate(cols) if j not in phone_js}
    for j, c in enumerate(cols):
        if j not in phone_js:
            uses[c.index] += 1
    for k in range(width):
        if k not in uses:
            sheet.columns[k] = None
    plain = set(phone_js)
    for j, c in enumerate(cols):
        if j in phone_js:
            continue
        k = c.index
        if k >= width or sheet.kind(k) is None:
            checked.columns[j] = [""] * len(keep)
            plain.add(j)
            continue
        arr = sheet.columns[k].take(keep)
        uses[k] -= 1
        if not uses[k]:
            sheet.columns[k] = None
        checked.columns[j] = _format(arr, sheet.kind(k)).to_pylist()
        del arr
        if sheet.kind(k) != "text":
            plain.add(j)
    checked.plain = plain
    return checked


def _python_values(arr: Any, kind: str | None) -> list:
    """The reader's values for a column (text ``""`` is an empty cell; dates as dates)."""
    values = arr.to_pylist()
    if kind == "text":
        return [None if v == "" else v for v in values]
    if kind == "date":
        return [None if v is None else v.date() for v in values]
    return values


def _blank_rows(columns: list, n: int, error_rows: set[int]) -> Any:
    """Per row: every cell empty or whitespace text (an error cell is not empty)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = np.ones(n, dtype=bool)
    for arr in columns:
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            empty = pc.fill_null(pc.equal(pc.utf8_trim(arr, characters=SPACES), ""), True)
        else:
            empty = pc.is_null(arr)
        blank &= empty.to_numpy(zero_copy_only=False)
    for i in error_rows:
        if 0 <= i < n:
            blank[i] = False
    return blank


def _format(arr: Any, kind: str) -> Any:
    """SPEC §3 text of each value (``""`` for an empty cell) as a string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "text":
        text = pc.utf8_trim(arr, characters=SPACES)
    elif kind == "bool":
        text = pc.if_else(arr, "TRUE", "FALSE")
    elif kind == "date":
        day = pc.cast(pc.cast(pc.floor_temporal(arr, unit="day"), pa.timestamp("s")),
                      pa.date32())
        text = pc.cast(day, pa.string())
    elif kind == "datetime":  # whole seconds (arrow_reader.py makes sure)
        text = pc.cast(pc.cast(arr, pa.timestamp("s")), pa.string())
    elif kind == "number":
        text = _format_numbers(arr)
    else:  # pragma: no cover - column_ok refuses the others
        raise ValueError(f"no Arrow format for {kind}")
    return pc.fill_null(text, "")


def _format_numbers(arr: Any) -> Any:
    """Whole numbers below 1e16 as their int64 digits; others Arrow's shortest text where
    it is Python's ``repr`` (no exponent, 1e-4 or more), else the reader's formatter."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    filled = pc.fill_null(arr, 0.0)
    whole = pc.and_(pc.equal(pc.floor(filled), filled), pc.less(pc.abs(filled), 1e16))
    ints = pc.cast(pc.cast(pc.if_else(whole, filled, 0.0), pa.int64()), pa.string())
    text = pc.if_else(whole, ints, pc.cast(filled, pa.string()))
    odd = pc.and_(pc.invert(whole), pc.or_(pc.match_substring(text, "e"),
                                           pc.less(pc.abs(filled), 1e-4)))
    redo = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
    if len(redo):
        values = text.to_pylist()
        for i in redo.tolist():
            values[i] = _format_float(filled[i].as_py())
        text = pa.array(values, pa.string())
    return pc.if_else(pc.is_null(arr), pa.scalar(None, pa.string()), text)
