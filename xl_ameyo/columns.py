"""A data sheet as columns: what every reader hands the rules (SPEC §2-§3), whoever wrote it.

A cell is a :class:`Kind` (one ``int8``) beside its value: a number (``float64``) for the
numeric kinds, a text (an Arrow string array) for text and error cells. A column that mixes
numbers, text and error results is still three flat arrays, so the rules work on it in column
passes (pyarrow.compute, numpy) whatever its mix, and an error cell is only a mask.

The readers build :class:`Column` directly (the headless reader from the sheet's XML); the
adapters here serve the others: :func:`from_values` for Python cell values (the Excel front's
bulk read, a per-cell reader, a UDF's one row), :func:`from_arrow` for fastexcel's typed
arrays. :func:`cell_value` goes the other way, for the few cells a message quotes.

Dates are serials on the real calendar: days since 1899-12-30 (Excel's day 0 in the 1900
system, once its 1900 leap-year bug is fixed), the fraction of a day the time.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xl_ameyo.cells import CellError, PaddedNumber, column_letter, padding_width

__all__ = [
    "CellError",
    "Column",
    "Kind",
    "PaddedNumber",
    "SheetColumns",
    "cell_value",
    "column_letter",
    "concat",
    "empty_column",
    "from_arrow",
    "from_rows",
    "from_values",
    "padding_width",
]


class Kind(enum.IntEnum):
    """What a cell holds (one ``int8`` per cell in :attr:`Column.kinds`)."""

    EMPTY = 0  # no value, or text that is empty
    TEXT = 1  # text[i] as stored (not trimmed); rich text flattened; _xHHHH_ decoded
    NUMBER = 2  # number[i]; pad[i] > 0: a zero-padding number format of that many digits
    BOOL = 3  # number[i] 1.0 / 0.0
    DATE = 4  # number[i] = days since 1899-12-30; the format shows a date
    DATETIME = 5  # the same; the format shows a date and a time
    TIME = 6  # number[i] = fraction of a day; the format shows only a time
    DURATION = 7  # number[i] = days; an elapsed format ([h]:mm)
    ERROR = 8  # text[i] = the error code as Excel shows it ('#N/A', '#SPILL!', ...)


#: the kinds whose value is in :attr:`Column.number`
NUMERIC_KINDS = (Kind.NUMBER, Kind.BOOL, Kind.DATE, Kind.DATETIME, Kind.TIME, Kind.DURATION)


@dataclass
class Column:
    """One sheet column's data rows; element 0 is sheet row ``first_row`` of its sheet."""

    kinds: np.ndarray  # int8 Kind, length n
    #: float64, length n (anything where the kind is not numeric); None: no numeric cell
    number: np.ndarray | None = None
    #: string array, length n (null where not TEXT/ERROR); None: no text or error cell
    text: pa.Array | None = None
    #: int8 widths of zero-padding number formats (0: none); None: no cell has one
    pad: np.ndarray | None = None
    #: text cells that held a lone UTF-16 surrogate (half an emoji, which UTF-8 cannot
    #: carry; only xlwings hands one over): row -> the code point (``U+D83D``); their
    #: ``text`` holds U+FFFD in its place
    broken: dict[int, str] | None = None

    def __len__(self) -> int:
        return len(self.kinds)

    def take(self, rows: np.ndarray) -> Column:
        """The cells at ``rows`` (indices, or a boolean mask of the rows kept), as a
        Column."""
        if rows.dtype == bool:
            picked = None if self.text is None else self.text.filter(pa.array(rows))
            rows = np.flatnonzero(rows) if self.broken else rows
        else:
            picked = None if self.text is None else self.text.take(pa.array(rows, pa.int64()))
        broken = None
        if self.broken:
            where = {int(i): k for k, i in enumerate(rows.tolist())}
            broken = {where[i]: code for i, code in self.broken.items() if i in where} or None
        return Column(
            kinds=self.kinds[rows],
            number=None if self.number is None else self.number[rows],
            text=picked,
            pad=None if self.pad is None else self.pad[rows],
            broken=broken,
        )


@dataclass
class SheetColumns:
    """A data sheet: its header row and its data rows as columns."""

    header: list  # row 1 as plain Python values (str, float, None, CellError ...)
    columns: dict[int, Column]  # 0-based sheet column -> Column; at least the mapped ones
    rows: int  # data rows: row first_row to the last row holding any value
    #: per data row: it holds a value in any column of the sheet (fully empty rows are
    #: skipped and not counted, SPEC §2); None: the rules work it out from ``columns``
    nonempty: np.ndarray | None = None
    first_row: int = 2
    #: (row, column), 0-based, of formula cells without a saved result (they read empty):
    #: a mapped one stops the upload (SPEC §2)
    unsaved: list = field(default_factory=list)
    #: how the reader read it ("arrow", "cells", ...), for tests and messages
    route: str | None = None

    def column(self, index: int) -> Column:
        """Column ``index``, or an empty one where the sheet holds nothing."""
        col = self.columns.get(index)
        return col if col is not None else empty_column(self.rows)


def empty_column(n: int) -> Column:
    return Column(kinds=np.zeros(n, dtype=np.int8))


# --- Python values -> Column ---------------------------------------------------------------

_DAY_ZERO = dt.date(1899, 12, 30).toordinal()
_SURROGATE = re.compile("[\ud800-\udfff]")


def _kind_of(t: type) -> Kind | None:
    """The kind of a Python cell value's type (bool before int, datetime before date)."""
    if t is type(None):
        return Kind.EMPTY
    if issubclass(t, str):
        return Kind.TEXT
    if issubclass(t, bool):
        return Kind.BOOL
    if issubclass(t, CellError):
        return Kind.ERROR
    if issubclass(t, dt.datetime):
        return Kind.DATETIME
    if issubclass(t, dt.date):
        return Kind.DATE
    if issubclass(t, dt.time):
        return Kind.TIME
    if issubclass(t, dt.timedelta):
        return Kind.DURATION
    if issubclass(t, (numbers.Real, Decimal)):
        return Kind.NUMBER
    return None


def _days(v: dt.date) -> float:
    return float(v.toordinal() - _DAY_ZERO)


def _datetime_days(v: dt.datetime) -> float:
    seconds = v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
    return (v.toordinal() - _DAY_ZERO) + seconds / 86400


def _time_days(v: dt.time) -> float:
    return (v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) / 86400


#: a numeric kind's value as float64, per Python type's kind
_NUMBER_OF = {
    Kind.NUMBER: float,
    Kind.BOOL: float,
    Kind.DATE: _days,
    Kind.DATETIME: _datetime_days,
    Kind.TIME: _time_days,
    Kind.DURATION: lambda v: v.total_seconds() / 86400,
}


def from_values(values: Sequence) -> Column:
    """Python cell values -> a :class:`Column`.

    ``None`` and ``""`` are empty; ``str`` text (as it is, not trimmed); ``bool``;
    ``int``/``float``/``Decimal`` (and numpy's) numbers; ``date``, ``datetime`` (a time zone
    is dropped: the wall time is the value), ``time``, ``timedelta``; :class:`CellError`.
    A NaN or infinity stays a number (the rules refuse it). Any other type is a
    ``TypeError``. One pass per type of value present, not a Python call per rule."""
    values = values if isinstance(values, list) else list(values)
    n = len(values)
    types = list(map(type, values))
    kind_of = {t: _kind_of(t) for t in set(types)}
    unknown = [t for t, k in kind_of.items() if k is None]
    if unknown:
        raise TypeError(f"not a cell value: {unknown[0].__name__}")
    present = set(kind_of.values())
    if len(kind_of) == 1:
        kinds = np.full(n, next(iter(present)), dtype=np.int8)
    else:
        kinds = np.array(list(map(kind_of.__getitem__, types)), dtype=np.int8)
    number = text = broken = None
    if Kind.TEXT in present or Kind.ERROR in present:
        if present <= {Kind.TEXT, Kind.EMPTY}:
            texts = values
        else:
            texts = [v if k == Kind.TEXT else (v.code if k == Kind.ERROR else None)
                     for v, k in zip(values, map(kind_of.__getitem__, types), strict=True)]
        try:
            text = pa.array(texts, pa.string())
        except UnicodeEncodeError:  # a lone surrogate
            texts, broken = _mend(texts)
            text = pa.array(texts, pa.string())
        if Kind.TEXT in present:  # "" is an empty cell
            is_empty = pc.fill_null(pc.equal(text, ""), False).to_numpy(zero_copy_only=False)
            kinds[is_empty & (kinds == Kind.TEXT)] = Kind.EMPTY
    numeric = present.intersection(NUMERIC_KINDS)
    if numeric:
        if present <= {Kind.NUMBER, Kind.EMPTY} and float in kind_of and len(kind_of) <= 2:
            number = np.array(values, dtype=np.float64)  # None -> NaN
        else:
            convert = {t: _NUMBER_OF.get(k) for t, k in kind_of.items()}
            number = np.array([f(v) if f is not None else np.nan
                               for v, f in zip(values, map(convert.__getitem__, types),
                                               strict=True)], dtype=np.float64)
    pad = None
    if PaddedNumber in kind_of:
        pad = np.array([v.width if t is PaddedNumber else 0
                        for v, t in zip(values, types, strict=True)], dtype=np.int8)
    return Column(kinds=kinds, number=number, text=text, pad=pad, broken=broken)


def _mend(texts: list) -> tuple[list, dict[int, str]]:
    """Texts with lone surrogates replaced by U+FFFD; row -> the first one's code point."""
    out = list(texts)
    broken: dict[int, str] = {}
    for i, v in enumerate(texts):
        if v is not None:
            m = _SURROGATE.search(v)
            if m is not None:
                broken[i] = f"U+{ord(m.group()):04X}"
                out[i] = _SURROGATE.sub("\ufffd", v)
    return out, broken


# --- Arrow arrays -> Column ----------------------------------------------------------------

_UNIX_DAY = 25569  # 1970-01-01 as days since 1899-12-30


def from_arrow(
    array: pa.Array | pa.ChunkedArray,
    *,
    dates: Kind = Kind.DATETIME,
    errors: Mapping[int, str] | None = None,
) -> Column:
    """A typed Arrow array (one type per column, as fastexcel reads one) -> a Column.

    float64/int -> numbers, string -> text (``""`` empty), bool -> booleans, timestamp ->
    ``dates`` (DATE or DATETIME: what the column's format shows), duration -> durations,
    null -> empty; nulls are empty cells. ``errors``: row -> code of the error cells (a
    reader that reads them as nulls knows them from elsewhere)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    n = len(array)
    t = array.type
    valid = ~np.asarray(pc.is_null(array).to_numpy(zero_copy_only=False), dtype=bool)
    number = text = None
    if pa.types.is_null(t):
        kind = Kind.EMPTY
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        kind = Kind.TEXT
        text = array
        valid &= ~np.asarray(pc.fill_null(pc.equal(array, ""), False)
                             .to_numpy(zero_copy_only=False), dtype=bool)
    elif pa.types.is_boolean(t):
        kind = Kind.BOOL
        number = np.asarray(pc.fill_null(pc.cast(array, pa.float64()), 0.0).to_numpy())
    elif pa.types.is_floating(t) or pa.types.is_integer(t):
        kind = Kind.NUMBER
        number = np.asarray(pc.fill_null(pc.cast(array, pa.float64()), np.nan).to_numpy())
    elif pa.types.is_timestamp(t) or pa.types.is_date(t):
        kind = dates
        if pa.types.is_date(t):
            array = pc.cast(array, pa.timestamp("s"))
            t = array.type
        per_day = 86400 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[t.unit]
        ticks = pc.fill_null(pc.cast(array, pa.int64()), 0).to_numpy()
        whole, rest = np.divmod(ticks, per_day)
        number = (whole + _UNIX_DAY) + rest / per_day
    elif pa.types.is_duration(t):
        kind = Kind.DURATION
        per_day = 86400 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[t.unit]
        number = pc.fill_null(pc.cast(array, pa.int64()), 0).to_numpy() / per_day
    else:
        raise TypeError(f"no cell kind for Arrow type {t}")
    kinds = np.where(valid, np.int8(kind), np.int8(Kind.EMPTY)).astype(np.int8)
    if errors:
        rows = np.fromiter(errors, dtype=np.int64, count=len(errors))
        kinds[rows] = Kind.ERROR
        codes: list = [None] * n if text is None else text.to_pylist()
        for i, code in errors.items():
            codes[i] = code or "#N/A"
        text = pa.array(codes, pa.string())
    return Column(kinds=kinds, number=number, text=text)


# --- Column -> Python values ---------------------------------------------------------------

_DAY_ZERO_DATETIME = dt.datetime(1899, 12, 30)


def cell_value(column: Column, i: int):
    """Cell ``i``'s Python value (as :func:`from_values` takes it): for messages and for the
    per-cell rules of the few cells that need one. Dates and times to the microsecond."""
    kind = int(column.kinds[i])
    if kind == Kind.EMPTY:
        return None
    if kind == Kind.TEXT:
        return column.text[i].as_py()
    if kind == Kind.ERROR:
        return CellError(column.text[i].as_py() or "#N/A")
    x = float(column.number[i])
    if kind == Kind.BOOL:
        return x != 0
    if kind == Kind.NUMBER:
        return x
    if not np.isfinite(x):
        return x
    micro = round(x * 86_400_000_000)
    if kind == Kind.DURATION:
        return dt.timedelta(microseconds=micro)
    if kind == Kind.TIME:
        micro %= 86_400_000_000
        return (dt.datetime.min + dt.timedelta(microseconds=micro)).time()
    moment = _DAY_ZERO_DATETIME + dt.timedelta(microseconds=micro)
    return moment.date() if kind == Kind.DATE else moment


def from_rows(rows: Sequence[Sequence], *, first_row: int = 2) -> SheetColumns:
    """A sheet as rows of Python values (the header row first, then the data rows from
    sheet row ``first_row``; rows may be ragged) -> SheetColumns: the Excel front's bulk
    read, a per-cell reader."""
    header = list(rows[0]) if rows else []
    data = rows[1:]
    columns = itertools.zip_longest(*data) if data else ()
    return SheetColumns(header=header,
                        columns={k: from_values(list(c)) for k, c in enumerate(columns)},
                        rows=len(data), first_row=first_row)


# --- joining blocks ------------------------------------------------------------------------


def concat(parts: Iterable[Column]) -> Column:
    """Columns of consecutive rows -> one Column (a reader that works in blocks)."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return empty_column(0)
    lengths = [len(p) for p in parts]
    kinds = np.concatenate([p.kinds for p in parts])
    number = text = pad = broken = None
    if any(p.number is not None for p in parts):
        number = np.concatenate([p.number if p.number is not None
                                 else np.full(m, np.nan) for p, m in zip(parts, lengths,
                                                                         strict=True)])
    if any(p.text is not None for p in parts):
        text = pa.concat_arrays([
            (p.text.cast(pa.large_string()) if p.text is not None
             else pa.nulls(m, pa.large_string()))
            for p, m in zip(parts, lengths, strict=True)])
    if any(p.pad is not None for p in parts):
        pad = np.concatenate([p.pad if p.pad is not None else np.zeros(m, np.int8)
                              for p, m in zip(parts, lengths, strict=True)])
    start = 0
    for p, m in zip(parts, lengths, strict=True):
        if p.broken:
            broken = broken or {}
            broken.update({start + i: code for i, code in p.broken.items()})
        start += m
    return Column(kinds=kinds, number=number, text=text, pad=pad, broken=broken)
