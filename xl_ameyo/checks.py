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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import isfinite
from operator import itemgetter, ne

from xl_ameyo.mapping import MappedColumn, ResolvedMapping
from xl_ameyo.values import (
    CellError,
    _positions,
    column_letter,
    format_column,
    normalise_phones,
    short,
)

__all__ = ["CheckedData", "InvalidRow", "check_columns", "check_rows"]


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


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


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
    raw = _extract(rows, [c.index for c in mapping.columns])
    return _check(raw, len(rows), lambda i: _blank_row(rows[i]), mapping, first_row)


def check_columns(
    columns: Sequence[Sequence],
    mapping: ResolvedMapping,
    *,
    first_row: int = 2,
    kinds: Sequence[set[type]] | None = None,
) -> CheckedData:
    """Like :func:`check_rows`, for a sheet read column by column: ``columns[k]`` holds the
    values of sheet column ``k`` (0 is column A) for the data rows (sheet rows ``first_row``,
    ``first_row + 1``, ...), every column equally long. Mapped columns are used as they are
    (not copied); a mapped column beyond the last one is empty. ``kinds[k]``, when the reader
    has it, is a superset of the types in ``columns[k]`` (saves a pass per column)."""
    n = len(columns[0]) if columns else 0
    if any(len(col) != n for col in columns):
        raise ValueError("check_columns: the columns are not all equally long")
    raw = [columns[c.index] if c.index < len(columns) else [None] * n for c in mapping.columns]
    known = None
    if kinds is not None:
        known = [kinds[c.index] if c.index < len(kinds) else {type(None)} for c in mapping.columns]

    def blank_row(i: int) -> bool:
        return all(_blank(col[i]) for col in columns)

    return _check(raw, n, blank_row, mapping, first_row, known)


def _check(
    raw: list[list],
    n: int,
    blank_row: Callable[[int], bool],
    mapping: ResolvedMapping,
    first_row: int,
    known_kinds: list[set[type]] | None = None,
) -> CheckedData:
    """The checks on the mapped columns ``raw`` (in ``mapping.columns`` order) of ``n`` rows;
    ``blank_row(i)`` says whether row ``i`` is empty in every column, mapped or not."""
    cols: tuple[MappedColumn, ...] = mapping.columns
    kinds = known_kinds if known_kinds is not None else [set(map(type, col)) for col in raw]
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
        for i in _positions(d1, None):
            if i not in r1:
                if blank_row(i):
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
    for i, first in _duplicates(d1, invalid):
        invalid[i] = bad(p1, i, f"duplicate of row {first_row + first}")

    # the valid rows, formatted column by column
    skip = sorted(invalid.keys() | empty)
    select = _selector(skip, n)
    columns: list[list[str]] = []
    for j in range(len(cols)):
        if j in digits:
            values = select(digits[j])
            if j != p1 and None in values:  # empty optional phones
                if values is digits[j]:
                    values = values.copy()
                for i in _positions(values, None):
                    values[i] = ""
            columns.append(values)
        else:
            selected = select(raw[j])
            columns.append(format_column(selected, kinds[j]))

    return CheckedData(
        header=[c.header for c in cols],
        columns=columns,
        row_numbers=select(range(first_row, first_row + n)),
        invalid=[invalid[i] for i in sorted(invalid)],
        rows_read=n - len(empty),
    )


def _duplicates(d1: list[str | None], invalid: dict[int, InvalidRow]) -> list[tuple[int, int]]:
    """(row, first row) for each row whose phone1 repeats an earlier valid row's, 0-based.

    C-level passes: a dict from each number to its first row (built from the end, so the
    earliest row is the one kept); rows that are not their number's first are duplicates.
    Rows already invalid take no part (their phone1 is left out).
    """
    n = len(d1)
    work = d1
    if invalid:
        work = d1.copy()
        for i in invalid:
            work[i] = None
    first = dict(zip(reversed(work), range(n - 1, -1, -1), strict=True))
    first.pop(None, None)
    if len(first) == n - work.count(None):
        return []
    firsts = list(map(first.get, work))
    later = list(map(ne, firsts, range(n)))  # also true where the phone1 is None
    return [(i, firsts[i]) for i in _positions(later, True) if firsts[i] is not None]


def _selector(skip: list[int], n: int) -> Callable[[Sequence], list]:
    """A function picking the items not at the (sorted) indices ``skip`` from a sequence of
    ``n``: slices between them when they are few, else one C-level pass."""
    if not skip:
        return lambda values: values if isinstance(values, list) else list(values)
    if len(skip) * 16 <= n:

        def between(values: Sequence) -> list:
            out: list = []
            start = 0
            for i in skip:
                out += values[start:i]
                start = i + 1
            out += values[start:]
            return out

        return between
    skipped = set(skip)
    keep = [i for i in range(n) if i not in skipped]
    return lambda values: list(map(values.__getitem__, keep))
