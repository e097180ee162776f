"""The checks (:mod:`xl_ameyo.checks`) on a data sheet read as Arrow columns (the headless
reader's fast route, ``xlsx/arrow_reader.py``), with exactly the results of
:func:`~xl_ameyo.checks.check_blocks` on the reader's per-cell values, in column passes.

- **phones** by pyarrow.compute: numbers that are whole, from 1e6 to below 1e15, as their
  int64 digits; text trimmed and cleaned of what :data:`~xl_ameyo.values._PHONE_JUNK` drops
  (and one leading ``+``) by one RE2 pass, then 7 to 15 ASCII digits; booleans and dates
  are never phones. The cells that are not phones (few, in a real sheet) get their reason
  from :func:`~xl_ameyo.values.normalise_phone`, one by one, on the reader's value;
- **the rules** (SPEC §3, in their order) as boolean masks over the rows: Excel errors (the
  XML scan's cells; fastexcel reads them as empty), phone1 empty or invalid, the other
  phones, then duplicates of an earlier valid row's phone1 by one ``numpy.unique`` over the
  numbers (as integers with their length: leading zeros count); fully empty rows (phone1
  empty and every cell empty or whitespace, no error cell) are left out and not counted;
- **the valid rows' values**: SPEC §3 text by pyarrow.compute (trim by ``str.strip``'s
  spaces, int64 digits for whole numbers below 1e16, Python's formatter for the floats Arrow
  writes otherwise, ISO dates and date-times).

The result holds Arrow string arrays as columns, which :func:`~xl_ameyo.csv_export.write_csv`
joins into CSV lines without a Python string per value. :func:`check_arrow` returns None
when a mapped column's Arrow values cannot be proved to be the reader's (the caller then
reads the sheet per cell).
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from xl_ameyo.checks import CheckedData, InvalidRow, PhoneRule, phones_by_rule
from xl_ameyo.mapping import ResolvedMapping
from xl_ameyo.values import CellError, _format_float, column_letter, normalise_phone, short

#: what ``str.strip()`` takes for whitespace (Arrow's own trims differ, e.g. U+001C..U+001F;
#: tests compare it with ``str.isspace`` over every code point)
SPACES = ("\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001"
          "\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f"
          "\u205f\u3000")

#: what a phone number loses besides one leading ``+`` (``values._PHONE_JUNK``), in RE2's
#: syntax: RE2's ``\s`` is ASCII only, Python's is ``str.isspace`` (tests compare the two)
PHONE_JUNK = ("[" + "".join(f"\\x{{{ord(c):x}}}" for c in SPACES)
              + r"\-\x{2010}-\x{2015}\x{2212}.()]+")

#: the kinds of column an ``ArrowSheet`` reports (``kind(k)``; see xlsx/celltypes.py): named
#: here so that the checks do not import the reader
TEXT, NUMBER, BOOL, DATE, DATETIME = "text", "number", "bool", "date", "datetime"

#: threads making the phone columns and the texts while the rules are worked through
FORMAT_THREADS = min(2, os.cpu_count() or 1)

#: a phone number as it is sent: 7 to 15 ASCII digits (values.MIN_DIGITS, MAX_DIGITS)
PHONE_DIGITS = r"^[0-9]{7,15}$"


def check_arrow(sheet: Any, mapping: ResolvedMapping, *, first_row: int = 2,
                phone_rule: PhoneRule | None = None) -> CheckedData | None:
    """:func:`~xl_ameyo.checks.check_blocks` for ``sheet`` (an ``ArrowSheet``: ``columns``,
    ``errors``, ``kind(k)``, ``column_ok(k)``); None when the Arrow route is not exact for
    a mapped column. Consumes ``sheet`` when it returns a result (its columns are let go
    once the rules are done). ``phone_rule`` (Settings' ``phone_country``): the phone columns
    go through it one cell at a time instead of the 7-15 digit passes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = mapping.columns
    if not all(sheet.column_ok(c.index) for c in cols):
        return None
    n = sheet.height
    width = len(sheet.columns)
    p1 = cols.index(mapping.phone1)
    phone_js = [j for j, c in enumerate(cols) if c.phone_field is not None]

    def column(k: int) -> Any:
        return sheet.columns[k] if k < width else None

    def kind(k: int) -> str | None:
        return sheet.kind(k) if k < width else None

    # pyarrow.compute releases the GIL in its kernels: the phone columns and the other
    # mapped columns' texts (SPEC §3, every row; the valid ones are picked at the end) are
    # made in two threads while this one works through the rules
    with ThreadPoolExecutor(FORMAT_THREADS, thread_name_prefix="xl-ameyo-check") as pool:
        phones = {j: pool.submit(_phones, column(cols[j].index), kind(cols[j].index), n,
                                 phone_rule)
                  for j in phone_js}
        texts = {j: pool.submit(_format, column(c.index), kind(c.index))
                 for j, c in enumerate(cols)
                 if j not in phones and column(c.index) is not None and kind(c.index)}
        try:
            keep, invalid, empty_rows, digits = _rules(
                sheet, cols, p1, phones, column, kind, n, first_row,
                phone_rule or normalise_phone)
        except BaseException:
            for job in [*phones.values(), *texts.values()]:
                job.cancel()
            raise
        del phones
        # the valid rows; the sheet's columns let go (peak memory)
        sheet.columns[:] = [None] * width
        mask = None if keep.all() else pa.array(keep)

        def valid(arr: Any) -> Any:
            return arr if mask is None else pc.filter(arr, mask)

        kept = int(keep.sum())
        columns: list[Any] = []
        plain: set[int] = set()
        for j, c in enumerate(cols):
            if j in digits:
                columns.append(pool.submit(lambda d: pc.fill_null(valid(d), ""), digits.pop(j)))
                plain.add(j)
            elif j in texts:
                columns.append(pool.submit(valid, texts.pop(j).result()))
                if kind(c.index) != TEXT:
                    plain.add(j)
            else:  # beyond the sheet, or no value in the column
                columns.append(pc.fill_null(pa.nulls(kept, pa.string()), ""))
                plain.add(j)
        columns = [f.result() if isinstance(f, Future) else f for f in columns]
    return CheckedData(
        header=[c.header for c in cols],
        columns=columns,
        row_numbers=(np.flatnonzero(keep) + first_row).tolist(),
        invalid=invalid,
        rows_read=n - int(empty_rows.sum()),
        plain=plain,
    )


def _rules(sheet: Any, cols: Any, p1: int, phones: dict, column: Any, kind: Any, n: int,
           first_row: int, phone_rule: PhoneRule
           ) -> tuple[Any, list[InvalidRow], Any, dict[int, Any]]:
    """SPEC's rules over the rows, in their order: (the valid rows' mask, the invalid rows
    in sheet order, the fully empty rows' mask, each phone column's digits). ``phones``:
    column -> the future of its :func:`_phones`."""
    import numpy as np
    import pyarrow as pa

    invalid: dict[int, InvalidRow] = {}
    flagged = np.zeros(n, dtype=bool)  # rows found invalid so far

    def raw(k: int, rows: Any) -> list:
        """The reader's values of column ``k`` in ``rows`` (for the reports)."""
        arr = column(k)
        return [None] * len(rows) if arr is None else _python_values(
            arr.take(pa.array(rows)), kind(k))

    def report(j: int, rows: Any, values: list, reasons: Any) -> None:
        c = cols[j]
        letter = column_letter(c.index)
        for i, value, reason in zip(rows.tolist(), values, reasons, strict=True):
            row = first_row + i
            invalid[i] = InvalidRow(row=row, column=c.header, cell=f"{letter}{row}",
                                    value=short(value), reason=reason)
        flagged[rows] = True

    # 1. Excel errors in mapped cells, the left-most column first (fastexcel made them null)
    made: dict[str, CellError] = {}
    error_rows = np.zeros(n, dtype=bool)
    by_column: dict[int, dict[int, CellError]] = {}
    for r, c, code in sheet.errors:  # 1 <= r <= n (arrow_reader.py makes sure)
        value = made.get(code)
        if value is None:
            value = made[code] = CellError(code or "#N/A")
        by_column.setdefault(c, {})[r - 1] = value
        error_rows[r - 1] = True
    for j, c in enumerate(cols):
        cells = by_column.get(c.index)
        if cells:
            rows = np.array(sorted(i for i in cells if not flagged[i]), dtype=np.int64)
            values = [cells[i] for i in rows.tolist()]
            report(j, rows, values,
                   [f"Excel error {v.code} in column '{c.header}'" for v in values])

    # the phone columns: digits (null: empty or not a phone), empty and invalid masks
    digits: dict[int, Any] = {}
    bad: dict[int, Any] = {}
    empty: dict[int, Any] = {}
    for j, job in phones.items():
        digits[j], empty[j], bad[j] = job.result()

    # fully empty rows: phone1 empty and every cell of the row empty (an error cell is not)
    empty_rows = np.zeros(n, dtype=bool)
    candidates = np.flatnonzero(empty[p1] & ~error_rows)
    if len(candidates):
        for arr in sheet.columns:
            if not len(candidates):
                break
            candidates = candidates[_blank(arr.take(pa.array(candidates)))]
        empty_rows[candidates] = True

    # 2. phone1 empty, or not a phone number
    k1 = cols[p1].index
    rows = np.flatnonzero(empty[p1] & ~empty_rows & ~flagged)
    if len(rows):
        report(p1, rows, raw(k1, rows), ["phone1 is empty"] * len(rows))
    # ... and 3. the other phone fields, the left-most first: the cells that are not phones,
    # with normalise_phone's reason for the reader's value
    for j in [p1, *(j for j in phones if j != p1)]:
        rows = np.flatnonzero(bad[j] & ~flagged)
        if len(rows):
            values = raw(cols[j].index, rows)
            name = "phone1" if j == p1 else cols[j].phone_field
            report(j, rows, values, [f"{name}: {phone_rule(v)[1]}" for v in values])
    # 4. duplicates of an earlier valid row's phone1
    dup, first = _duplicates(digits[p1], ~flagged & ~empty_rows)
    if len(dup):
        report(p1, dup, raw(k1, dup),
               [f"duplicate of row {first_row + f}" for f in first.tolist()])
    keep = ~flagged & ~empty_rows
    return keep, [invalid[i] for i in sorted(invalid)], empty_rows, digits


def _phones(arr: Any, kind: str | None, n: int, phone_rule: PhoneRule | None = None
            ) -> tuple[Any, Any, Any]:
    """A phone column: (digits, null where empty or not a phone; empty cells; cells that
    are not phones), the masks as numpy booleans."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if phone_rule is not None:  # a country's plan: the rule on the reader's values
        values = [None] * n if arr is None or kind is None else _python_values(arr, kind)
        digits, reasons = phones_by_rule(phone_rule, values)
        bad = np.zeros(n, dtype=bool)
        bad[list(reasons)] = True
        empty = np.array([d is None for d in digits], dtype=bool) & ~bad
        return pa.array(digits, pa.string()), empty, bad

    if arr is None or kind is None:  # beyond the sheet, or no value in the column
        return pa.nulls(n, pa.string()), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    if kind == NUMBER:
        ok = pc.and_(pc.and_(pc.equal(pc.floor(arr), arr), pc.greater_equal(arr, 1e6)),
                     pc.less(arr, 1e15))  # null for empty cells
        whole = pc.cast(pc.cast(pc.if_else(ok, arr, 1e6), pa.int64()), pa.string())
        text = pc.if_else(ok, whole, pa.scalar(None, pa.string()))
        empty = pc.is_null(arr)
        not_phone = pc.invert(pc.fill_null(ok, True))
    elif kind == TEXT:
        trimmed = pc.utf8_trim(arr, characters=SPACES)
        empty = pc.fill_null(pc.equal(trimmed, ""), True)
        cleaned = pc.replace_substring_regex(arr, PHONE_JUNK, "")
        plus = pc.fill_null(pc.starts_with(cleaned, "+"), False)
        if pc.any(plus).as_py():
            cleaned = pc.if_else(plus, pc.utf8_slice_codeunits(cleaned, 1), cleaned)
        ok = pc.fill_null(pc.match_substring_regex(cleaned, PHONE_DIGITS), False)
        text = pc.if_else(ok, cleaned, pa.scalar(None, pa.string()))
        not_phone = pc.and_(pc.invert(ok), pc.invert(empty))
    else:  # booleans, dates, date-times: never phone numbers
        empty = pc.is_null(arr)
        return pa.nulls(n, pa.string()), _mask(empty), ~_mask(empty)
    return text, _mask(empty), _mask(not_phone)


def _duplicates(digits: Any, candidates: Any) -> tuple[Any, Any]:
    """(rows, first rows): each candidate row whose phone (digits) repeats an earlier
    candidate's, and that earlier row, 0-based. A phone is at most 15 digits: with its
    length (leading zeros count) it is one int64 key."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    where = np.flatnonzero(candidates)
    empty = np.array([], dtype=np.int64)
    if not len(where):
        return empty, empty
    text = pc.fill_null(digits.take(pa.array(where)), "0")
    keys = (pc.cast(text, pa.int64()).to_numpy()
            + pc.utf8_length(text).to_numpy().astype(np.int64) * 10**15)
    _, first_at, inverse = np.unique(keys, return_index=True, return_inverse=True)
    firsts = first_at[inverse.reshape(-1)]
    repeat = firsts != np.arange(len(where))
    return where[repeat], where[firsts[repeat]]


def _mask(arr: Any) -> Any:
    """An Arrow boolean array without nulls as a numpy array."""
    return arr.to_numpy(zero_copy_only=False)


def _blank(arr: Any) -> Any:
    """Per cell: empty, or whitespace-only text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return _mask(pc.fill_null(pc.equal(pc.utf8_trim(arr, characters=SPACES), ""), True))
    return _mask(pc.is_null(arr))


def _python_values(arr: Any, kind: str | None) -> list:
    """The reader's values for a column (text ``""`` is an empty cell; dates as dates)."""
    values = arr.to_pylist()
    if kind == TEXT:
        return [None if v == "" else v for v in values]
    if kind == DATE:
        return [None if v is None else v.date() for v in values]
    return values


def _format(arr: Any, kind: str) -> Any:
    """SPEC §3 text of each value (``""`` for an empty cell) as a string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == TEXT:
        text = pc.utf8_trim(arr, characters=SPACES)
    elif kind == BOOL:
        text = pc.if_else(arr, "TRUE", "FALSE")
    elif kind == DATE:
        day = pc.cast(pc.cast(pc.floor_temporal(arr, unit="day"), pa.timestamp("s")),
                      pa.date32())
        text = pc.cast(day, pa.string())
    elif kind == DATETIME:  # whole seconds (arrow_reader.py makes sure)
        text = pc.cast(pc.cast(arr, pa.timestamp("s")), pa.string())
    elif kind == NUMBER:
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
    if pc.all(whole).as_py():  # ids, counts: no float text needed
        return pc.cast(pc.cast(arr, pa.int64()), pa.string())
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
