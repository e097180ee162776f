"""Cell values as the analyst sees them (SPEC §3), for a whole :class:`~xl_ameyo.columns.Column`
at once: one pass per kind of cell present, in pyarrow.compute and numpy.

- empty -> ``""``; text -> trimmed of what ``str.strip()`` takes (the non-breaking space
  included; inner newlines, quotes, commas and any Unicode kept);
- booleans -> ``TRUE``/``FALSE``;
- numbers: whole ones below 1e16 as their digits (``9876543210.0`` -> ``9876543210``,
  ``-0.0`` -> ``0``); others in their shortest round-trip decimal, never with an exponent
  (``1e-07`` -> ``0.0000001``; *decision:* a whole number of 1e16 or more from its shortest
  form, ``1.2345678901234567e+25`` -> ``12345678901234567000000000``: what was typed, and
  what round-trips); a whole number under a zero-padding format (``pad``) padded to its
  width as Excel shows it (``981234567`` under ``0000000000`` -> ``0981234567``; negative:
  ``-`` then the padded digits); NaN and infinities have no text (no Excel cell holds one):
  the rules refuse them before formatting;
- dates ``YYYY-MM-DD`` (the serial's day, once rounded to the second); date-times
  ``YYYY-MM-DD HH:MM:SS``, rounded half up to the second (serials carry noise like
  ``12:00:00.000001``);
- times ``HH:MM:SS`` rounded half up (*decision:* ``23:59:59.5`` wraps to ``00:00:00``, as
  Excel's clock formats show it); durations ``[h]:MM:SS`` (hours not padded; *decision:* a
  negative one with a leading ``-``, where Excel shows ``#####``);
- error cells have no text (the rules make their rows invalid): ``""`` here.

:func:`format_value` is the same rule for one Python value (settings, messages, the UDFs).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xl_ameyo.columns import CellError, Column, Kind, from_values

__all__ = ["SPACES", "format_column", "format_value", "number_texts", "scatter"]

#: what ``str.strip()`` takes for whitespace (Arrow's own trims differ, e.g. U+001C..U+001F;
#: a test compares it with ``str.isspace`` over every code point)
SPACES = ("\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001"
          "\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f"
          "\u205f\u3000")

_MICROS_PER_DAY = 86_400_000_000
_UNIX_DAY = 25569  # 1970-01-01 as days since 1899-12-30


def scatter(n: int, parts: list[tuple[np.ndarray, pa.Array]], fill: str = "") -> pa.Array:
    """One string array of ``n`` from pieces: each ``(rows, texts)`` puts ``texts`` at
    ``rows``; ``fill`` everywhere else. One ``take`` over the pieces joined (Arrow has no
    scatter). A string array, or a large_string one when the text passes 2 GB."""
    if len(parts) == 1 and len(parts[0][0]) == n:
        return parts[0][1]
    index = np.full(n, sum(len(rows) for rows, _ in parts), dtype=np.int64)
    offset = 0
    for rows, _texts in parts:
        index[rows] = np.arange(offset, offset + len(rows))
        offset += len(rows)
    pieces = [texts for _rows, texts in parts]
    try:
        return _joined(pieces, fill, pa.string()).take(pa.array(index))
    except (pa.ArrowInvalid, pa.ArrowCapacityError):  # 32-bit offsets overflow
        return _joined(pieces, fill, pa.large_string()).take(pa.array(index))


def _joined(pieces: list[pa.Array], fill: str, kind: pa.DataType) -> pa.Array:
    return pa.concat_arrays([p.cast(kind) for p in pieces] + [pa.array([fill], kind)])


def _fixed(x: float) -> str:
    """A finite float's shortest round-trip digits (``repr``) without an exponent."""
    s = format(Decimal(repr(x)), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def number_texts(x: np.ndarray, pad: np.ndarray | None = None) -> pa.Array:
    """SPEC §3 text of finite numbers (``pad``: zero-padding widths, 0 for none)."""
    whole = (np.floor(x) == x) & (np.abs(x) < 1e16)
    if whole.all():
        text = pc.cast(pa.array(x.astype(np.int64)), pa.string())
    else:
        ints = pc.cast(pa.array(np.where(whole, x, 0).astype(np.int64)), pa.string())
        text = pc.if_else(pa.array(whole), ints, pc.cast(pa.array(x), pa.string()))
        odd = np.flatnonzero(~whole & np.asarray(
            pc.match_substring(text, "e").to_numpy(zero_copy_only=False), dtype=bool))
        if len(odd):  # Arrow's shortest text with an exponent: a few cells, by Decimal
            fixed = pa.array([_fixed(v) for v in x[odd].tolist()], pa.string())
            mask = np.zeros(len(x), dtype=bool)
            mask[odd] = True
            text = pc.if_else(pa.array(mask), scatter(len(x), [(odd, fixed)]), text)
    if pad is not None and pad.any():
        text = _padded(x, pad, whole, text)
    return text


def _padded(x: np.ndarray, pad: np.ndarray, whole: np.ndarray, text: pa.Array) -> pa.Array:
    """Whole numbers under a zero-padding format written padded, as Excel shows them."""
    digits = pc.cast(pa.array(np.where(whole, np.abs(x), 0).astype(np.int64)), pa.string())
    negative = pa.array(x < 0)
    for width in np.unique(pad[pad > 0]).tolist():
        where = pa.array(whole & (pad == width))
        padded = pc.utf8_lpad(digits, width=int(width), padding="0")
        padded = pc.if_else(negative, pc.binary_join_element_wise("-", padded, ""), padded)
        text = pc.if_else(where, padded, text)
    return text


def _micros(x: np.ndarray) -> np.ndarray:
    """Days as whole microseconds (beyond int64's range, which no Excel cell reaches,
    clipped to it)."""
    return np.rint(np.clip(x * _MICROS_PER_DAY, -9e18, 9e18)).astype(np.int64)


def _seconds_half_up(micros: np.ndarray) -> np.ndarray:
    return np.floor_divide(micros + 500_000, 1_000_000)


def _x(col: Column, rows: np.ndarray | None) -> np.ndarray:
    return col.number if rows is None else col.number[rows]


def _text(col: Column, rows: np.ndarray | None) -> pa.Array:
    text = col.text if rows is None else col.text.take(pa.array(rows))
    return pc.utf8_trim(text, characters=SPACES)


def _number(col: Column, rows: np.ndarray | None) -> pa.Array:
    pad = col.pad if rows is None or col.pad is None else col.pad[rows]
    return number_texts(_x(col, rows), pad)


def _bool(col: Column, rows: np.ndarray | None) -> pa.Array:
    return pc.if_else(pa.array(_x(col, rows) != 0), "TRUE", "FALSE")


def _date(col: Column, rows: np.ndarray | None) -> pa.Array:
    """The day of the serial once rounded to the second, as Excel shows it (a serial a few
    microseconds before midnight shows the next day, under a date format too)."""
    seconds = _seconds_half_up(_micros(_x(col, rows)))
    days = np.floor_divide(seconds, 86400) - _UNIX_DAY
    return pc.cast(pa.array(days.astype(np.int32), pa.date32()), pa.string())


#: 9999-12-31 23:59:59 in seconds since 1899-12-30: Excel's last moment (no rounding past it)
_LAST_SECOND = 2958466 * 86400 - 1


def _datetime(col: Column, rows: np.ndarray | None) -> pa.Array:
    seconds = np.minimum(_seconds_half_up(_micros(_x(col, rows))), _LAST_SECOND)
    seconds = seconds - _UNIX_DAY * 86400
    return pc.cast(pa.array(seconds, pa.timestamp("s")), pa.string())


def _time(col: Column, rows: np.ndarray | None) -> pa.Array:
    x = _x(col, rows)
    seconds = _seconds_half_up(_micros(x - np.floor(x))) % 86400
    return pc.cast(pa.array(seconds.astype(np.int32), pa.time32("s")), pa.string())


def _duration(col: Column, rows: np.ndarray | None) -> pa.Array:
    micros = _micros(_x(col, rows))
    seconds = _seconds_half_up(np.abs(micros))
    hours, rest = np.divmod(seconds, 3600)
    minutes, secs = np.divmod(rest, 60)

    def two(v: np.ndarray) -> pa.Array:
        return pc.utf8_lpad(pc.cast(pa.array(v), pa.string()), width=2, padding="0")

    sign = pc.if_else(pa.array(micros < 0), "-", "")
    return pc.binary_join_element_wise(
        sign, pc.cast(pa.array(hours), pa.string()), ":", two(minutes), ":", two(secs), "")


_FORMATTERS: dict[int, Callable[[Column, np.ndarray | None], pa.Array]] = {
    Kind.TEXT: _text,
    Kind.NUMBER: _number,
    Kind.BOOL: _bool,
    Kind.DATE: _date,
    Kind.DATETIME: _datetime,
    Kind.TIME: _time,
    Kind.DURATION: _duration,
}


def format_column(col: Column) -> pa.Array:
    """Every cell's SPEC §3 text (``""`` for empty and error cells), as a string array.
    Numbers must be finite (the rules see to it)."""
    n = len(col)
    counts = np.bincount(col.kinds, minlength=len(Kind))
    present = [kind for kind in _FORMATTERS if counts[kind]]
    if not present:
        return pc.fill_null(pa.nulls(n, pa.string()), "")
    if len(present) == 1:  # one kind, maybe with empty cells: the whole column at once
        kind = present[0]
        fmt = _FORMATTERS[kind]
        if counts[kind] == n:
            return fmt(col, None)
        mask = col.kinds == kind
        if kind != Kind.TEXT:  # other cells' numbers are anything: a neutral 0 instead
            col = Column(kinds=col.kinds, number=np.where(mask, col.number, 0.0), pad=col.pad)
        return pc.if_else(pa.array(mask), fmt(col, None), "")
    parts = []
    for kind in present:
        rows = np.flatnonzero(col.kinds == kind)
        parts.append((rows, _FORMATTERS[kind](col, rows)))
    return scatter(n, parts)


def format_value(value) -> str:
    """The SPEC §3 text of one Python cell value (``""`` for ``None``). An Excel error, a
    NaN or an infinity has none: ``ValueError``; a value of no cell type: ``TypeError``."""
    if isinstance(value, CellError):
        raise ValueError(f"the Excel error {value.code} has no value to send")
    col = from_values([value])
    if col.number is not None and not np.isfinite(col.number[0]) and col.kinds[0] != Kind.EMPTY:
        raise ValueError(f"{value} is not a cell value (Excel has no NaN or infinity)")
    if col.broken:  # half an emoji: it stays in the text shown
        return value.strip()
    return format_column(col)[0].as_py()
