"""A data sheet's columns -> :class:`CheckedData`: the valid rows' CSV values and the invalid
rows with their reasons (SPEC §2 "Data sheet", §3), in column passes.

A row is *fully empty* when no cell of the sheet (mapped or not) holds a value (blank text is
no value; an error cell is one): it is skipped and not counted. Every other row is *invalid*,
and not sent, when (the first reason found, in this order; the left-most column first):

1. a mapped cell holds an Excel error, or a value that cannot be sent: a NaN or infinity
   (only another program writes one), a text with a lone surrogate (half an emoji);
2. phone1 is empty or not a phone number (:mod:`.phones`; a number of 1e15 or more: Excel
   already lost digits);
3. another mapped phone field holds a value that is not a phone number;
4. its phone1 repeats the phone1 of an earlier row that is *sent*: "duplicate of row N"
   (*decision*, README: a row skipped for another reason does not make a later copy a
   duplicate, so the corrected copy of a lead goes out);
5. a mapped text holds a control character (:mod:`.text`): the cell and the character are
   named. A row that only this rule refuses is not sent, so it makes no later row a
   duplicate.

Each rule is a mask over the rows (numpy, pyarrow.compute); only the few invalid cells get a
reason written per cell. The valid rows' values are then written (:mod:`.values`; phones as
their digits, an empty optional phone as ``""``) as Arrow string arrays, which
:func:`~xl_ameyo.csv_export.write_csv` joins without a Python string per value.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xl_ameyo.columns import (
    NUMERIC_KINDS,
    Column,
    Kind,
    SheetColumns,
    column_letter,
    from_rows,
)
from xl_ameyo.rules.phones import PhoneRule, Phones, phone_column
from xl_ameyo.rules.text import control_character, control_rows, shown, solid
from xl_ameyo.rules.values import SPACES, format_column

if TYPE_CHECKING:  # the mapping is only named in annotations (mapping imports the rules)
    from xl_ameyo.mapping import ResolvedMapping

__all__ = ["CheckedData", "InvalidRow", "check", "check_rows", "rows_with_values"]

#: threads writing the valid rows' columns (2: the machines this runs on have few cores)
WRITE_THREADS = min(2, os.cpu_count() or 1)


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
    #: the valid rows' CSV values, one string array (or list of str) per column
    columns: list
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


#: the C0 controls' and DEL's short names, for the reason
_CONTROL_NAMES = dict(zip(
    [*range(0x20), 0x7F],
    ["NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "TAB", "LF", "VT", "FF",
     "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM",
     "SUB", "ESC", "FS", "GS", "RS", "US", "DEL"], strict=True))


def rows_with_values(sheet: SheetColumns) -> np.ndarray:
    """Per row: a cell of the sheet holds a value (blank text is none). Rows that a
    non-text cell decides are not looked at again; of the texts, most are decided by their
    first byte, and only the rest are trimmed."""
    if sheet.nonempty is not None:
        return np.asarray(sheet.nonempty, dtype=bool)
    out = np.zeros(sheet.rows, dtype=bool)
    texts = []
    for col in sheet.columns.values():
        out |= (col.kinds != Kind.EMPTY) & (col.kinds != Kind.TEXT)
        if col.text is not None:
            texts.append(col)
    for col in texts:
        todo = (col.kinds == Kind.TEXT) & ~out
        if not todo.any():
            continue
        out |= todo & solid(col.text)
        rest = np.flatnonzero(todo & ~out)
        if len(rest):
            trimmed = pc.utf8_trim(col.text.take(pa.array(rest)), characters=SPACES)
            out[rest[np.asarray(pc.not_equal(trimmed, "").to_numpy(zero_copy_only=False),
                                dtype=bool)]] = True
    return out


#: the reasons for the cells at the rows given, in their order
Reasons = Callable[[np.ndarray], list[str]]


class _Report:
    """The invalid rows found so far: a mask, and each one's report."""

    def __init__(self, mapping: ResolvedMapping, first_row: int, n: int,
                 data: list[Column]) -> None:
        self.cols = mapping.columns
        self.first_row = first_row
        self.data = data
        self.flagged = np.zeros(n, dtype=bool)
        self.found: dict[int, InvalidRow] = {}

    def add(self, j: int, rows: np.ndarray, reasons: Reasons | str) -> None:
        """Rows ``rows`` (a mask or indices) are invalid for column ``j``'s cell, unless an
        earlier rule already said why; ``reasons``: one for all, or per row."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        rows = rows[~self.flagged[rows]]
        if not len(rows):
            return
        c = self.cols[j]
        letter = column_letter(c.index)
        why = [reasons] * len(rows) if isinstance(reasons, str) else reasons(rows)
        for i, value, reason in zip(rows.tolist(), shown(self.data[j], rows), why,
                                    strict=True):
            row = self.first_row + i
            self.found[i] = InvalidRow(row=row, column=c.header, cell=f"{letter}{row}",
                                       value=value, reason=reason)
        self.flagged[rows] = True


def _unsendable(report: _Report, j: int, col: Column, header: str, live: np.ndarray) -> None:
    """Rule 1 for one column: error cells, NaN and infinities, lone surrogates."""
    kinds = col.kinds
    bad = kinds == Kind.ERROR
    if col.number is not None:
        bad |= np.isin(kinds, NUMERIC_KINDS) & ~np.isfinite(col.number)
    if col.broken:
        bad[list(col.broken)] = True
    if not bad.any():
        return

    def reasons(rows: np.ndarray) -> list[str]:
        codes = (col.text.take(pa.array(rows)).to_pylist() if col.text is not None
                 else [None] * len(rows))
        out = []
        error, text = int(Kind.ERROR), int(Kind.TEXT)  # (an enum member per row: slow)
        for i, kind, code in zip(rows.tolist(), kinds[rows].tolist(), codes, strict=True):
            if kind == error:
                out.append(f"Excel error {code or '#N/A'} in column '{header}'")
            elif kind == text:
                out.append(f"the text in column '{header}' holds a broken character "
                           f"({col.broken[i]}) that cannot be sent; retype the cell")
            else:
                out.append(f"the number {col.number[i]} in column '{header}' is not a value "
                           "Excel can hold")
        return out

    report.add(j, bad & live, reasons)


def _duplicates(digits: pa.Array, candidates: np.ndarray,
                sent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, first rows): each candidate row whose phone1 repeats that of an earlier row
    that is sent (``sent``: candidates that no rule refuses), and that row.

    The numbers are hashed (Arrow's dictionary encoding; 7 to 15 digits are one int64 with
    their length, leading zeros counting); only numbers seen more than once are looked at
    again."""
    where = np.flatnonzero(candidates)
    if not len(where):
        return where, where
    phones = digits.take(pa.array(where))
    try:
        keys = pc.add(pc.cast(phones, pa.int64()),
                      pc.multiply(pc.cast(pc.utf8_length(phones), pa.int64()), 10**15))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a country rule's digits
        keys = phones
    codes = pc.dictionary_encode(keys).indices.to_numpy().astype(np.int64)
    counts = np.bincount(codes)
    again = counts[codes] > 1
    if not again.any():
        return where[:0], where[:0]
    where, codes = where[again], codes[again]
    is_sent = sent[where]
    # the first sent row of each number (positions in ``where``)
    order = np.flatnonzero(is_sent)
    first = np.full(int(codes.max()) + 1, len(where), dtype=np.int64)
    keys_sent, at = np.unique(codes[order], return_index=True)
    first[keys_sent] = order[at]
    earlier = first[codes]
    dup = earlier < np.arange(len(where))
    return where[dup], where[earlier[dup]]


def check(sheet: SheetColumns, mapping: ResolvedMapping, *,
          phone_rule: PhoneRule | None = None) -> CheckedData:
    """Check the data rows of ``sheet`` (see the module docstring). ``phone_rule``: a
    per-cell phone rule (a country's numbering plan) instead of the 7-15 digit one."""
    n, first_row = sheet.rows, sheet.first_row
    cols = mapping.columns
    data = [sheet.column(c.index) for c in cols]
    p1 = cols.index(mapping.phone1)
    phone_js = [j for j, c in enumerate(cols) if c.phone_field is not None]
    live = rows_with_values(sheet)
    report = _Report(mapping, first_row, n, data)

    # 1. cells that cannot be sent
    for j, col in enumerate(data):
        _unsendable(report, j, col, cols[j].header, live)
    phones: dict[int, Phones] = {j: phone_column(data[j], phone_rule) for j in phone_js}
    # 2. phone1
    first = phones[p1]
    report.add(p1, first.empty & live, "phone1 is empty")
    report.add(p1, first.bad & live, lambda rows: [f"phone1: {r}" for r in first.reasons_of(rows)])
    # 3. the other phone fields
    for j in phone_js:
        if j != p1:
            name, ph = cols[j].phone_field, phones[j]
            report.add(j, ph.bad & live, lambda rows, name=name, ph=ph: [
                f"{name}: {r}" for r in ph.reasons_of(rows)])
    # 5. (found before 4: a row refused for its text is not sent) control characters
    control: dict[int, int] = {}  # row -> the left-most column holding one
    for j in reversed(range(len(cols))):
        for i in control_rows(data[j]).tolist():
            if live[i]:
                control[i] = j
    refused = np.zeros(n, dtype=bool)
    if control:
        refused[list(control)] = True
    # 4. duplicates of an earlier sent row's phone1
    candidates = live & ~report.flagged
    dup, earlier = _duplicates(first.digits, candidates, candidates & ~refused)
    if len(dup):
        of = dict(zip(dup.tolist(), earlier.tolist(), strict=True))
        report.add(p1, dup, lambda rows: [f"duplicate of row {first_row + of[i]}"
                                          for i in rows.tolist()])
    for j in range(len(cols)):
        rows = np.array(sorted(i for i, k in control.items() if k == j), dtype=np.int64)
        if len(rows):
            header, col = cols[j].header, data[j]

            def reasons(rows: np.ndarray, header: str = header, col: Column = col) -> list:
                out = []
                for text in col.text.take(pa.array(rows)).to_pylist():
                    code = control_character(text)
                    name = _CONTROL_NAMES.get(int(code[2:], 16), "")
                    out.append(f"the text in column '{header}' holds the control character "
                               f"{code} ({name}), invisible in Excel; remove it")
                return out

            report.add(j, rows, reasons)

    keep = live & ~report.flagged
    rows = np.flatnonzero(keep)
    everything = len(rows) == n
    mask = None if everything else pa.array(keep)

    def written(j: int) -> pa.Array:
        """Column ``j``'s valid rows as CSV values (phones: their digits)."""
        if j in phones:
            digits = phones[j].digits
            return pc.fill_null(digits if mask is None else digits.filter(mask), "")
        return format_column(data[j] if mask is None else data[j].take(keep))

    # the columns are written in threads: pyarrow's and numpy's kernels release the GIL
    with ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="xl-ameyo-rules") as pool:
        columns = list(pool.map(written, range(len(cols))))
    plain = {j for j, col in enumerate(data)
             if j in phones or not (col.kinds[rows] == Kind.TEXT).any()}
    return CheckedData(
        header=[c.header for c in cols],
        columns=columns,
        row_numbers=(rows + first_row).tolist(),
        invalid=[report.found[i] for i in sorted(report.found)],
        rows_read=int(live.sum()),
        plain=plain,
    )


def check_rows(rows, mapping: ResolvedMapping, *, first_row: int = 2,
               phone_rule: PhoneRule | None = None) -> CheckedData:
    """:func:`check` for data rows of Python cell values (sheet rows ``first_row``, ...;
    ragged rows are padded with empty cells): a front that reads rows (a UDF's one row)."""
    return check(from_rows([[], *rows], first_row=first_row), mapping, phone_rule=phone_rule)
