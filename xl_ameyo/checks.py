"""Data rows -> :class:`CheckedData`: the formatted valid rows and the invalid rows with reasons
(SPEC §2 "Data sheet", §3).

A row is *fully empty* when every cell in it (all columns, mapped or not) is ``None`` or
whitespace-only text; such rows are skipped and not counted (an Excel error cell is not
empty). Every other row is read and is *invalid*, and not sent, when (first reason found, in
this order):

1. a mapped cell holds an Excel error (the left-most such column is reported), or a value
   that cannot be sent: a NaN or infinity (written by another program), text holding a
   lone surrogate (half an emoji, which UTF-8 cannot carry; only xlwings hands one over);
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

The work is done per column, a block of rows at a time (C-level passes over each column of
the block: normalise phones, format; see :class:`_Checker`), so that a full sheet (1,048,576
rows x 10 columns) takes about two seconds; duplicates are found over the whole phone1
column at the end.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress
from math import isfinite
from operator import itemgetter

from xl_ameyo.mapping import MappedColumn, ResolvedMapping
from xl_ameyo.values import (
    CellError,
    _phones_one_by_one,
    _positions,
    broken_character,
    column_letter,
    format_column,
    format_value,
    normalise_phones,
    short,
)

__all__ = ["CheckedData", "InvalidRow", "check_blocks", "check_columns", "check_rows"]

#: one phone cell -> (digits | None, reason | None): ``values.normalise_phone``'s contract
PhoneRule = Callable[[object], "tuple[str | None, str | None]"]


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
    #: formatted CSV values of the valid rows, one list per column (or, from the Arrow
    #: route, one pyarrow string array without nulls)
    columns: list[list[str]]
    row_numbers: list[int]  # sheet row number of each valid row
    invalid: list[InvalidRow]
    rows_read: int  # non-empty data rows
    #: indices of columns whose values never need CSV quoting (phone digits, numbers, dates):
    #: the CSV writer skips looking for commas and quotes in them
    plain: set[int] = field(default_factory=set, compare=False, repr=False)

    @property
    def rows_valid(self) -> int:
        return len(self.row_numbers)

    def rows(self, start: int = 0, stop: int | None = None):
        """The valid rows ``[start:stop]`` as tuples of CSV values."""
        parts = (col[start:stop] for col in self.columns)
        return zip(*(p.to_pylist() if hasattr(p, "to_pylist") else p for p in parts),
                   strict=True)


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
        # one C-level sum: finite unless a NaN or an infinity is in it (or the sum overflows,
        # then each value is looked at)
        return not isfinite(sum(col)) and not all(map(isfinite, col))
    return any(isinstance(v, float) and not isfinite(v) for v in col)


def _broken_texts(col: list, kinds: set[type]) -> bool:
    """Whether a column holds text with a lone surrogate (one C-level join and search)."""
    if str not in kinds:
        return False
    texts = col if kinds == {str} else [v for v in col if type(v) is str]
    return broken_character("".join(texts)) is not None


#: rows checked at a time: a block's values stay in the CPU caches while every check and the
#: formatting run over them (about a third faster than whole million-row columns)
BLOCK_ROWS = 4096

#: one block of a sheet: its columns (A first, all of them, equally long) and, optionally,
#: for each column a superset of the types of its values
Block = tuple[Sequence[Sequence], Sequence[set[type]] | None]


def check_rows(rows: Sequence, mapping: ResolvedMapping, *, first_row: int = 2,
               phone_rule: PhoneRule | None = None) -> CheckedData:
    """Check the data rows (sheet rows ``first_row``, ``first_row + 1``, ...).

    ``phone_rule`` (:func:`xl_ameyo.phones.phone_rule`, for Settings' ``phone_country``)
    replaces the 7-15 digit rule for the phone fields; None keeps it."""
    indices = [c.index for c in mapping.columns]
    checker = _Checker(mapping, first_row, phone_rule)
    for a in range(0, len(rows), BLOCK_ROWS):
        part = rows[a : a + BLOCK_ROWS]
        checker.add(_extract(part, indices), lambda i, part=part: _blank_row(part[i]))
    return checker.finish()


def check_columns(
    columns: Sequence[Sequence], mapping: ResolvedMapping, *, first_row: int = 2,
    phone_rule: PhoneRule | None = None,
) -> CheckedData:
    """Like :func:`check_rows`, for a sheet read column by column: ``columns[k]`` holds the
    values of sheet column ``k`` (0 is column A) for the data rows (sheet rows ``first_row``,
    ``first_row + 1``, ...), every column equally long; a mapped column beyond the last one
    is empty."""
    n = len(columns[0]) if columns else 0
    if any(len(col) != n for col in columns):
        raise ValueError("check_columns: the columns are not all equally long")
    return check_blocks(
        (([col[a : a + BLOCK_ROWS] for col in columns], None) for a in range(0, n, BLOCK_ROWS)),
        mapping,
        first_row=first_row,
        phone_rule=phone_rule,
    )


def check_blocks(
    blocks: Iterable[Block], mapping: ResolvedMapping, *, first_row: int = 2,
    phone_rule: PhoneRule | None = None,
) -> CheckedData:
    """Like :func:`check_columns`, for a sheet handed over a block of rows at a time (as
    ``XlsxBook.stream_columns`` reads it): each block is ``(columns, kinds)``, the columns
    (A first, all of them, equally long) of the next rows and, or None, a superset of the
    types in each column. Nothing but the block is held of the raw values (the phone1 column
    excepted, for the duplicate reports)."""
    checker = _Checker(mapping, first_row, phone_rule)
    indices = [c.index for c in mapping.columns]
    for columns, kinds in blocks:
        m = len(columns[0]) if columns else 0
        if not m:
            continue
        raw = [columns[k] if k < len(columns) else [None] * m for k in indices]
        known = None
        if kinds is not None:
            known = [kinds[k] if k < len(kinds) else {type(None)} for k in indices]

        def blank_row(i: int, columns: Sequence[Sequence] = columns) -> bool:
            return all(_blank(col[i]) for col in columns)

        checker.add(raw, blank_row, known)
    return checker.finish()


class _Checker:
    """The checks, a block of rows at a time (see the module docstring for the rules).

    Per block: phones normalised, rows found empty or invalid by rules 1-3, and every column
    formatted (an invalid row's cells too: it is cheaper than picking the valid ones first;
    cells that cannot be formatted — Excel errors, NaN — are blanked, and a failure in any
    other cell is raised only if its row turns out valid, as the one-pass checks would).
    At the end: duplicates (rule 4) over the whole phone1 column, then the valid rows.
    """

    def __init__(self, mapping: ResolvedMapping, first_row: int,
                 phone_rule: PhoneRule | None = None) -> None:
        self.cols: tuple[MappedColumn, ...] = mapping.columns
        self.phone_rule = phone_rule
        self.first_row = first_row
        self.p1 = self.cols.index(mapping.phone1)
        self.phone_js = [j for j, c in enumerate(self.cols) if c.phone_field is not None]
        self.letters = [column_letter(c.index) for c in self.cols]
        #: per column, every row: the formatted text, or for phone columns the digits
        #: (None: empty or not a phone)
        self.values: list[list] = [[] for _ in self.cols]
        self.kinds: list[set[type]] = [set() for _ in self.cols]
        self.raw_p1: list = []
        self.invalid: dict[int, InvalidRow] = {}
        self.empty: list[int] = []
        #: (column, row) -> why a cell could not be formatted
        self.failed: dict[tuple[int, int], Exception] = {}
        self.n = 0

    def _invalid(self, j: int, i: int, value: object, reason: str) -> InvalidRow:
        row = self.first_row + i
        return InvalidRow(row=row, column=self.cols[j].header, cell=f"{self.letters[j]}{row}",
                          value=short(value), reason=reason)

    def add(
        self,
        raw: list[Sequence],
        blank_row: Callable[[int], bool],
        kinds: list[set[type]] | None = None,
    ) -> None:
        """One block: ``raw[j]`` holds mapped column ``j``'s values in the block's rows;
        ``blank_row(i)`` says whether the block's row ``i`` is empty in every column."""
        m = len(raw[0]) if raw else 0
        if not m:
            return
        base = self.n
        cols, p1, phone_js = self.cols, self.p1, self.phone_js
        if kinds is None:
            kinds = [set(map(type, col)) for col in raw]

        def bad(j: int, i: int, reason: str) -> InvalidRow:
            return self._invalid(j, base + i, raw[j][i], reason)

        digits: dict[int, list[str | None]] = {}
        reasons: dict[int, dict[int, str]] = {}
        for j in phone_js:
            if self.phone_rule is None:
                digits[j], reasons[j] = normalise_phones(raw[j], kinds[j])
            else:
                digits[j], reasons[j] = phones_by_rule(self.phone_rule, raw[j])
        d1, r1 = digits[p1], reasons[p1]

        # rows whose phone1 is empty: either fully empty rows or rows missing phone1
        empty: list[int] = []
        phone1_empty: list[int] = []
        if d1.count(None) > len(r1):
            for i in _positions(d1, None):
                if i not in r1:
                    if blank_row(i):
                        empty.append(i)
                    else:
                        phone1_empty.append(i)

        invalid: dict[int, InvalidRow] = {}
        blanked: dict[int, list[int]] = {}  # column -> cells left out of the formatting
        # 1. Excel errors in mapped cells, left-most column first; NaN and infinities (no
        #    Excel cell holds one, but a file written by another program can) count as
        #    errors too, and so does text with a lone surrogate (UTF-8 cannot carry it);
        #    phone columns report those as not a phone number below
        for j in range(len(cols)):
            col = raw[j]
            floats = j not in digits and _non_finite_floats(col, kinds[j])
            broken = j not in digits and _broken_texts(col, kinds[j])
            if _has_errors(kinds[j]) or floats or broken:
                for i, v in enumerate(col):
                    if isinstance(v, CellError):
                        reason = f"Excel error {v.code} in column '{cols[j].header}'"
                    elif floats and isinstance(v, float) and not isfinite(v):
                        reason = (f"the number {v} in column '{cols[j].header}' is not a value "
                                  "Excel can hold")
                    elif broken and isinstance(v, str) and broken_character(v):
                        reason = (f"the text in column '{cols[j].header}' holds a broken "
                                  f"character ({broken_character(v)}) that cannot be sent; "
                                  "retype the cell")
                    else:
                        continue
                    blanked.setdefault(j, []).append(i)
                    if i not in invalid:
                        invalid[i] = bad(j, i, reason)
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
            field_name = cols[j].phone_field
            for i, reason in sorted(reasons[j].items()):
                if i not in invalid:
                    invalid[i] = bad(j, i, f"{field_name}: {reason}")

        # every row formatted; phone columns carry their digits
        for j in range(len(cols)):
            if j in digits:
                self.values[j] += digits[j]
                continue
            col, kind = raw[j], kinds[j]
            if j in blanked:
                col = list(col)
                for i in blanked[j]:
                    col[i] = None
                kind = kind | {type(None)}
            try:
                texts = format_column(col, kind)
            except (ValueError, TypeError, OverflowError):
                texts = self._format_each(j, col, base)
            self.values[j] += texts
            self.kinds[j] |= kind
        self.raw_p1 += raw[p1]
        for i in sorted(invalid):
            self.invalid[base + i] = invalid[i]
        self.empty += [base + i for i in empty]
        self.n += m

    def _format_each(self, j: int, col: Sequence, base: int) -> list[str]:
        """A column one cell at a time; a cell that cannot be formatted is kept as ``""``
        and its error remembered (raised at the end if its row is valid)."""
        out = []
        for i, v in enumerate(col):
            try:
                out.append(format_value(v))
            except (ValueError, TypeError, OverflowError) as exc:
                self.failed[(j, base + i)] = exc
                out.append("")
        return out

    def finish(self) -> CheckedData:
        n, p1, first_row = self.n, self.p1, self.first_row
        # 4. duplicates of an earlier valid row's phone1
        for i, first in _duplicates(self.values[p1], self.invalid):
            self.invalid[i] = self._invalid(p1, i, self.raw_p1[i],
                                            f"duplicate of row {first_row + first}")
        skipped = self.invalid.keys() | set(self.empty)
        for (_j, i), exc in sorted(self.failed.items()):
            if i not in skipped:
                raise exc  # a valid row's cell that has no SPEC text (as format_value says)
        select = _selector(sorted(skipped), n)
        columns: list[list[str]] = []
        for j in range(len(self.cols)):
            values = select(self.values[j])
            if j in self.phone_js and j != p1 and None in values:  # empty optional phones
                for i in _positions(values, None):
                    values[i] = ""
            columns.append(values)
        return CheckedData(
            header=[c.header for c in self.cols],
            columns=columns,
            row_numbers=select(range(first_row, first_row + n)),
            invalid=[self.invalid[i] for i in sorted(self.invalid)],
            rows_read=n - len(self.empty),
            plain={j for j in range(len(self.cols))
                   if j in self.phone_js or self.kinds[j] <= _PLAIN_KINDS},
        )


def phones_by_rule(rule: PhoneRule, values: Sequence) -> tuple[list[str | None], dict[int, str]]:
    """:func:`~xl_ameyo.values.normalise_phones` for another rule, one cell at a time."""
    return _phones_one_by_one(values, rule)


#: cell types whose SPEC §3 text is digits, signs, points, dashes, colons, spaces or TRUE/FALSE
_PLAIN_KINDS = frozenset({float, int, bool, type(None), dt.date, dt.datetime, dt.time,
                          dt.timedelta, Decimal})


def _duplicates(d1: list[str | None], invalid: dict[int, InvalidRow]) -> list[tuple[int, int]]:
    """(row, first row) for each row whose phone1 repeats an earlier valid row's, 0-based.

    C-level passes: the numbers counted (``Counter``); when some repeat, one membership pass
    finds the rows holding a repeated number, and only those are walked in Python. Rows
    already invalid take no part (their phone1 is left out).
    """
    work = d1
    if invalid:
        work = d1.copy()
        for i in invalid:
            work[i] = None
    counts = Counter(work)
    counts.pop(None, None)
    if len(counts) == len(work) - work.count(None):
        return []
    repeated = set(compress(counts, map((1).__lt__, counts.values())))
    first: dict[str, int] = {}
    out = []
    for i in _positions(list(map(repeated.__contains__, work)), True):
        earliest = first.setdefault(work[i], i)  # type: ignore[arg-type]
        if earliest != i:
            out.append((i, earliest))
    return out


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
