"""Data rows -> :class:`CheckedData`: the formatted valid rows and the invalid rows with reasons
(SPEC §2 "Data sheet", §3).

A row is *fully empty* when every cell in it (all columns, mapped or not) is ``None`` or
whitespace-only text; such rows are skipped and not counted (an Excel error cell is not
empty). Every other row is read and is *invalid*, and not sent, when (first reason found, in
this order):

1. a mapped cell holds an Excel error (the left-most such column is reported);
2. phone1 is empty or not a phone number (see :func:`~xl_ameyo.values.normalise_phone`; a
   number of 1e15 or more is refused because Excel already lost digits);
3. another mapped phone field is not empty and not a phone number (left-most first);
4. its phone1 (normalised) equals the phone1 of an earlier *valid* row: "duplicate of row N",
   N the sheet row of the first occurrence.

Each invalid row is reported once, with the offending column's header, its A1 address, the
value (short text) and the reason; the list is in sheet-row order.

Valid rows keep their values formatted as SPEC §3 says (:func:`~xl_ameyo.values.format_column`);
phone columns carry the normalised digits (an empty optional phone stays ``""``). A column
mapped to a phone field and a non-phone field at once is a phone column.

The work is done per column (one pass to extract, one to normalise phones, one to format) so
that a full sheet (1,048,576 rows x 10 columns) takes seconds; the per-row loop only does the
duplicate bookkeeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import isfinite
from operator import itemgetter

from xl_ameyo.mapping import MappedColumn, ResolvedMapping
from xl_ameyo.values import CellError, column_letter, format_column, normalise_phones, short

__all__ = ["CheckedData", "InvalidRow", "check_rows"]


@dataclass(frozen=True)
class InvalidRow:
    row: int  # sheet row number (1-based, as Excel shows it)
    column: str | None  # header of the offending column
    cell: str | None  # A1 address, e.g. "C7"
    value: str  # the offending value as text (short)
    reason: str  # e.g. "phone1 is empty", "duplicate of row 5"


@dataclass
class CheckedData:
    header: list[str]  # CSV header
    columns: list[list[str]]  # formatted CSV values of the valid rows, one list per column
    row_numbers: list[int]  # sheet row number of each valid row
    invalid: list[InvalidRow]
    rows_read: int  # non-empty data rows

    @property
    def rows_valid(self) -> int:
        return len(self.row_numbers)

    def rows(self, start: int = 0, stop: int | None = None):
        """The valid rows ``[start:stop]`` as tuples of CSV values."""
        return zip(*(col[start:stop] for col in self.columns), strict=True)


def _blank_row(row) -> bool:
    for v in row:
        if v is None:
            continue
        if isinstance(v, str) and not v.strip():
            continue
        return False
    return True


def _extract(rows: Sequence, indices: list[int]) -> list[list]:
    """The raw values of columns ``indices``, one list per column (ragged rows -> None)."""
    shortest = min(map(len, rows)) if rows else 0
    out = []
    for j in indices:
        if j < shortest:
            out.append(list(map(itemgetter(j), rows)))
        else:
            out.append([r[j] if len(r) > j else None for r in rows])
    return out


def _has_errors(kinds: set[type]) -> bool:
    return any(issubclass(k, CellError) for k in kinds)


def _non_finite_floats(col: list, kinds: set[type]) -> bool:
    """Whether a column holds a NaN or an infinity (one C-speed pass for float columns)."""
    if not any(issubclass(k, float) for k in kinds):
        return False
    if kinds == {float}:
        return not all(map(isfinite, col))
    return any(isinstance(v, float) and not isfinite(v) for v in col)


def check_rows(rows: Sequence, mapping: ResolvedMapping, *, first_row: int = 2) -> CheckedData:
    """Check the data rows (sheet rows ``first_row``, ``first_row + 1``, ...)."""
    cols: tuple[MappedColumn, ...] = mapping.columns
    n = len(rows)
    raw = _extract(rows, [c.index for c in cols])
    kinds = [set(map(type, col)) for col in raw]
    p1 = cols.index(mapping.phone1)

    letters = [column_letter(c.index) for c in cols]

    def address(j: int, i: int) -> str:
        return f"{letters[j]}{first_row + i}"

    def bad(j: int, i: int, reason: str) -> InvalidRow:
        return InvalidRow(
            row=first_row + i,
            column=cols[j].header,
            cell=address(j, i),
            value=short(raw[j][i]),
            reason=reason,
        )

    # phones, once per phone column
    phone_js = [j for j, c in enumerate(cols) if c.phone_field is not None]
    digits: dict[int, list[str | None]] = {}
    reasons: dict[int, dict[int, str]] = {}
    for j in phone_js:
        digits[j], reasons[j] = normalise_phones(raw[j], kinds[j])
    d1, r1 = digits[p1], reasons[p1]

    # rows whose phone1 is empty: either fully empty rows or rows missing phone1
    empty: set[int] = set()
    phone1_empty: list[int] = []
    if d1.count(None) > len(r1):
        for i, d in enumerate(d1):
            if d is None and i not in r1:
                if _blank_row(rows[i]):
                    empty.add(i)
                else:
                    phone1_empty.append(i)

    invalid: dict[int, InvalidRow] = {}
    # 1. Excel errors in mapped cells, left-most column first; NaN and infinities (no Excel
    #    cell holds one, but a file written by another program can) count as errors too
    #    (phone columns report them as not a phone number below)
    for j in range(len(cols)):
        col = raw[j]
        floats = j not in phone_js and _non_finite_floats(col, kinds[j])
        if _has_errors(kinds[j]) or floats:
            for i, v in enumerate(col):
                if i in invalid:
                    continue
                if isinstance(v, CellError):
                    invalid[i] = bad(j, i, f"Excel error {v.code} in column '{cols[j].header}'")
                elif floats and isinstance(v, float) and not isfinite(v):
                    invalid[i] = bad(
                        j, i, f"the number {v} in column '{cols[j].header}' is not a value "
                        "Excel can hold"
                    )
    # 2. phone1
    for i in phone1_empty:
        if i not in invalid:
            invalid[i] = bad(p1, i, "phone1 is empty")
    for i, reason in r1.items():
        if i not in invalid:
            invalid[i] = bad(p1, i, f"phone1: {reason}")
    # 3. the other phone fields, left-most first
    for j in phone_js:
        if j == p1:
            continue
        field = cols[j].phone_field
        for i, reason in sorted(reasons[j].items()):
            if i not in invalid:
                invalid[i] = bad(j, i, f"{field}: {reason}")
    # 4. duplicates of an earlier valid row's phone1
    seen: dict[str, int] = {}
    setdefault = seen.setdefault
    duplicates: list[tuple[int, int]] = []
    if invalid or empty or len(set(d1)) != n:  # else: all rows valid so far and all distinct
        for i, d in enumerate(d1):
            if d is not None and i not in invalid:
                first = setdefault(d, i)
                if first != i:
                    duplicates.append((i, first))
    for i, first in duplicates:
        invalid[i] = bad(p1, i, f"duplicate of row {first_row + first}")

    # the valid rows, formatted column by column
    if invalid or empty:
        skip = invalid.keys() | empty
        valid = [i for i in range(n) if i not in skip]

        def select(values: list) -> list:
            return list(map(values.__getitem__, valid))
    else:
        valid = range(n)

        def select(values: list) -> list:
            return values

    columns: list[list[str]] = []
    for j in range(len(cols)):
        if j in digits:
            values = select(digits[j])
            if j != p1 and None in values:  # empty optional phones
                values = [d or "" for d in values]
            columns.append(values)
        else:
            selected = select(raw[j])
            columns.append(format_column(selected, kinds[j] if selected is raw[j] else None))

    return CheckedData(
        header=[c.header for c in cols],
        columns=columns,
        row_numbers=[first_row + i for i in valid]
        if invalid or empty
        else list(range(first_row, first_row + n)),
        invalid=[invalid[i] for i in sorted(invalid)],
        rows_read=n - len(empty),
    )
