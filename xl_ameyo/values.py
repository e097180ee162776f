"""Cell values as the analyst sees them (SPEC §3) and phone numbers.

Sources hand the core plain Python values per cell (see docs/design.md): ``None``, ``str``,
``bool``, ``int``, ``float``, ``datetime.date``/``datetime``/``time``/``timedelta`` or a
:class:`CellError`. Excel through xlwings and python-calamine give every number as a float,
openpyxl gives whole numbers as ``int``: all are treated alike.

Formatting rules (:func:`format_value`, :func:`format_column`):

- ``None`` -> ``""``; text -> ``str.strip()`` (leading/trailing whitespace, including the
  non-breaking space; inner newlines, quotes, commas and any Unicode kept).
- ``bool`` -> ``TRUE``/``FALSE`` (as Excel shows them).
- ``int`` -> its digits.
- ``float`` -> its shortest round-trip decimal (``repr``) written without an exponent: whole
  numbers without ``.0`` (``9876543210.0`` -> ``9876543210``, ``1e20`` -> 21 digits, ``-0.0``
  -> ``0``), others e.g. ``1e-07`` -> ``0.0000001``. *Decision:* a whole float of 1e16 or more
  is written from its shortest round-trip form (``1.2345678901234567e+25`` ->
  ``12345678901234567000000000``), not from its exact binary value: that is what the analyst
  typed and what round-trips. ``nan``/``inf`` cannot come from a workbook: ``ValueError``.
- ``decimal.Decimal`` -> like a float, but exact (trailing zeros after the point dropped).
- ``date`` -> ``YYYY-MM-DD``; ``datetime`` -> ``YYYY-MM-DD HH:MM:SS``, rounded half up to the
  second (serials carry noise like ``12:00:00.000001``; ``12:00:00.5`` -> ``12:00:01``). A
  time zone, if any, is dropped: the wall time is written as given.
- ``time`` -> ``HH:MM:SS``, rounded half up; *decision:* ``23:59:59.5`` wraps to ``00:00:00``
  as Excel's clock formats show it.
- ``timedelta`` -> ``[h]:MM:SS`` like an Excel duration (``1 day, 1:30`` -> ``25:30:00``), hours
  not padded, rounded half up to the second; *decision:* negative durations get a leading
  ``-`` (Excel itself shows ``#####``).
- :class:`CellError` is never formatted: :func:`format_value` raises ``ValueError`` (the checks
  make such a row invalid before its values are formatted).
- Other numbers (numpy scalars) go by ``numbers.Integral``/``numbers.Real``; anything else is a
  ``TypeError``.

Phone numbers (:func:`normalise_phone`): see its docstring. *Decision:* besides the ASCII
hyphen, the Unicode dashes (U+2010..U+2015) and the minus sign (U+2212) count as dashes.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter, methodcaller

__all__ = [
    "CellError",
    "PaddedNumber",
    "column_letter",
    "format_column",
    "format_value",
    "normalise_phone",
    "normalise_phones",
    "short",
]


@dataclass(frozen=True)
class CellError:
    """An Excel error cell: ``#N/A``, ``#REF!``, ``#DIV/0!``, ``#VALUE!``, ``#NAME?`` ..."""

    code: str

    def __str__(self) -> str:
        return self.code


class PaddedNumber(float):
    """A number cell whose number format only pads with zeros (``0000000000``): the analyst
    sees it ``width`` digits wide (``0981234567``). A float, so everything that takes the
    cell's number still does; the reader hands it, the rules write it padded."""

    __slots__ = ("width",)

    def __new__(cls, value: float, width: int) -> PaddedNumber:
        number = super().__new__(cls, value)
        number.width = width
        return number


def column_letter(index: int) -> str:
    """A 0-based column index as Excel's letters: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- formatting -----------------------------------------------------------------------------

_date = _dt.date
_datetime = _dt.datetime
_time = _dt.time
_timedelta = _dt.timedelta
_HALF_SECOND = _dt.timedelta(microseconds=500_000)
_LAST_HALF = _dt.datetime.max - _HALF_SECOND


def _fixed(text: str) -> str:
    """A finite decimal's text (maybe with an exponent) -> plain digits, no exponent."""
    s = format(Decimal(text), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s == "-0":
        return "0"
    return s


def _float_tail(r: str) -> str:
    """The slow part of float formatting, given ``repr(x)`` that does not end in ``.0``."""
    if "e" in r:
        return _fixed(r)
    if r[-1] in "nf":  # 'nan', 'inf', '-inf'
        raise ValueError(f"{r} is not a cell value (Excel has no NaN or infinity)")
    return r


def _format_float(x: float) -> str:
    r = repr(x)
    if r[-2:] == ".0":
        return "0" if r == "-0.0" else r[:-2]
    return _float_tail(r)


def _format_decimal(d: Decimal) -> str:
    if not d.is_finite():
        raise ValueError(f"{d} is not a cell value (Excel has no NaN or infinity)")
    return _fixed(str(d))


def _format_datetime(v: _dt.datetime) -> str:
    if v.tzinfo is not None:
        v = v.replace(tzinfo=None)
    if v.microsecond >= 500_000 and v < _LAST_HALF:
        v = v + _HALF_SECOND  # then truncated: rounds half up
    return v.isoformat(" ", "seconds")


def _format_datetimes(values: Sequence[_dt.datetime]) -> list[str]:
    """A column of datetimes: one C-level pass, then the few that round up, or that carry a
    time zone (their text is longer than ``YYYY-MM-DD HH:MM:SS``), redone."""
    out = list(map(_ISO_SECONDS, values))
    micro = list(map(_MICROSECOND, values))
    if max(micro) >= 500_000:
        for i in _positions(list(map(_HALF_OR_MORE, micro)), True):
            out[i] = _format_datetime(values[i])
    if max(map(len, out)) > 19:
        for i in _positions(list(map((19).__lt__, map(len, out))), True):
            out[i] = _format_datetime(values[i])
    return out


def _format_date(v: _dt.date) -> str:
    return v.isoformat()


def _format_time(v: _dt.time) -> str:
    seconds = v.hour * 3600 + v.minute * 60 + v.second
    if v.microsecond >= 500_000:
        seconds = (seconds + 1) % 86400
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def _format_timedelta(v: _dt.timedelta) -> str:
    micro = (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds
    sign = "-" if micro < 0 else ""
    seconds = (abs(micro) + 500_000) // 1_000_000
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}"


def _format_none(_v: None) -> str:
    return ""


def _format_str(v: str) -> str:
    return v.strip()


def _format_bool(v: bool) -> str:
    return "TRUE" if v else "FALSE"


def _format_int(v: int) -> str:
    return str(int(v))


def _format_cell_error(v: CellError) -> str:
    raise ValueError(f"the Excel error {v.code} has no value to send")


_FORMATTERS = {
    type(None): _format_none,
    str: _format_str,
    float: _format_float,
    bool: _format_bool,
    int: _format_int,
    _datetime: _format_datetime,
    _date: _format_date,
    _time: _format_time,
    _timedelta: _format_timedelta,
    Decimal: _format_decimal,
    CellError: _format_cell_error,
}


def _formatter(value):
    """The formatter for ``value``'s type, also for subclasses (order matters: bool before
    int, datetime before date)."""
    fmt = _FORMATTERS.get(type(value))
    if fmt is not None:
        return fmt
    if isinstance(value, bool):
        return _format_bool
    if isinstance(value, str):
        return _format_str
    if isinstance(value, CellError):
        return _format_cell_error
    if isinstance(value, _datetime):
        return _format_datetime
    if isinstance(value, _date):
        return _format_date
    if isinstance(value, _time):
        return _format_time
    if isinstance(value, _timedelta):
        return _format_timedelta
    if isinstance(value, Decimal):
        return _format_decimal
    if isinstance(value, numbers.Integral):
        return _format_int
    if isinstance(value, numbers.Real):
        return lambda v: _format_float(float(v))
    raise TypeError(f"not a cell value: {type(value).__name__}")


def format_value(value) -> str:
    """The SPEC §3 text of one cell (``""`` for an empty cell). See the module docstring."""
    return _formatter(value)(value)


def format_column(values: Sequence, kinds: set[type] | None = None) -> list[str]:
    """``[format_value(v) for v in values]``, fast: per type of value, C-level passes over the
    column instead of a Python call per cell. ``kinds``, when the caller already has it, is a
    superset of ``{type(v) for v in values}``.

    A column of one type goes through that type's fast formatter. A column of several types
    (text with empty cells, numbers typed partly as text ...) is formatted by its most common
    type's fast formatter, the other cells standing in as a neutral value of that type, and
    those cells are then formatted by their own type and put in place.
    """
    if kinds is None:
        kinds = set(map(type, values))
    if not values:
        return []
    if len(kinds) == 1:
        kind = next(iter(kinds))
        fast = _COLUMN_FORMATTERS.get(kind)
        if fast is not None:
            return fast(values)
        return _format_each(values)
    values = values if isinstance(values, list) else list(values)
    if len(kinds) == 2 and _NONE in kinds:  # one type and empty cells: the usual mix
        (main,) = kinds - {_NONE}
        fast = _COLUMN_FORMATTERS.get(main)
        if fast is not None:
            if None not in values:
                return fast(values)
            # the empty cells stand in as the neutral value; "" where that is not ""
            out = fast(list(map({None: _NEUTRAL[main]}.get, values, values)))
            if main is not str:
                for i in _positions(values, None):
                    out[i] = ""
            return out
    types = list(map(type, values))
    counts = {kind: types.count(kind) for kind in kinds}
    main = max(counts, key=counts.__getitem__)
    fast = _COLUMN_FORMATTERS.get(main)
    if fast is None:
        return _format_each(values)
    others = [(kind, _positions(types, kind)) for kind in kinds if kind is not main and
              counts[kind]]
    if main is _NONE:
        out = [""] * len(values)
    else:
        work = values.copy()
        neutral = _NEUTRAL[main]
        for _kind, where in others:
            for i in where:
                work[i] = neutral
        out = fast(work)
    for kind, where in others:
        done = format_column(list(map(values.__getitem__, where)), {kind})
        for i, text in zip(where, done, strict=True):
            out[i] = text
    return out


def _format_each(values: Sequence) -> list[str]:
    """The general loop: a formatter per cell."""
    get = _FORMATTERS.get
    out = []
    append = out.append
    for v in values:
        t = type(v)
        if t is str:
            append(v.strip())
        elif t is float:
            append(_format_float(v))
        else:
            append((get(t) or _formatter(v))(v))
    return out


def _positions(seq: list, value) -> list[int]:
    """The indices at which ``seq`` holds ``value`` (compared with ``==``; used on lists of
    types, of bools and of None/str), found by ``list.index`` (a C loop), not by a Python loop
    over every item."""
    out: list[int] = []
    append = out.append
    index = seq.index
    i = -1
    try:
        while True:
            i = index(value, i + 1)
            append(i)
    except ValueError:
        return out


_NONE = type(None)
_MICROSECOND = attrgetter("microsecond")
_ISO_SECONDS = methodcaller("isoformat", " ", "seconds")
_HALF_OR_MORE = (500_000).__le__
_BOOL_TEXT = {True: "TRUE", False: "FALSE"}


def _format_floats(values: Sequence[float]) -> list[str]:
    """A column of floats: ``repr`` in one pass; whole numbers without ``.0``; the rare
    exponent forms (and NaN/infinity, refused) by the per-value formatter."""
    if all(map(float.is_integer, values)):  # False for NaN and infinities
        if min(values) > -1e16 and max(values) < 1e16:
            # whole numbers below 1e16 (ids, phones, counts): their int's digits; -0.0 -> "0"
            return list(map(str, map(int, values)))
        return list(map(_format_float, values))
    out = list(map(float.__repr__, values))
    text = "".join(out)
    if "e" in text or "n" in text:  # 1e-05, 1e+16, nan, inf: never in a plain repr
        return list(map(_format_float, values))
    whole = list(map(float.is_integer, values))
    if True in whole:
        for i in _positions(whole, True):
            r = out[i]
            out[i] = "0" if r == "-0.0" else r[:-2]
    return out


def _format_dates(values: Sequence[_dt.date]) -> list[str]:
    """A column of dates; a long one whose dates repeat (a sample says so) formats each
    distinct date once."""
    if len(values) > 8192 and len(set(values[:4096])) <= 2048:
        text = {d: d.isoformat() for d in set(values)}
        return list(map(text.__getitem__, values))
    return list(map(_date.isoformat, values))




#: the fast formatter of a column whose cells are all of one type
_COLUMN_FORMATTERS = {
    str: lambda values: list(map(str.strip, values)),
    float: _format_floats,
    _NONE: lambda values: [""] * len(values),
    bool: lambda values: list(map(_BOOL_TEXT.__getitem__, values)),
    int: lambda values: list(map(str, values)),
    _date: lambda values: _format_dates(values),
    _datetime: _format_datetimes,
}
#: a stand-in of each type for the cells of other types while a column's main type is done
_NEUTRAL = {
    str: "",
    float: 0.0,
    _NONE: None,
    bool: False,
    int: 0,
    _date: _date(2000, 1, 1),
    _datetime: _datetime(2000, 1, 1),
}


def short(value, limit: int = 40) -> str:
    """A cell's value as short text for messages (errors as their code, never raises)."""
    if isinstance(value, CellError):
        return value.code
    try:
        text = format_value(value)
    except (ValueError, TypeError, OverflowError):
        text = repr(value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    if _SURROGATE.search(text):  # a message must print and encode: U+FFFD stands in
        text = _SURROGATE.sub("\ufffd", text)
    return text


#: a lone UTF-16 surrogate: Excel lets a cell hold one (half of an emoji cut by a formula
#: such as LEFT), xlwings hands it over as it is, and UTF-8 cannot encode it
_SURROGATE = re.compile("[\ud800-\udfff]")


def broken_character(text: str) -> str | None:
    """``U+D83D`` for the first lone surrogate in ``text`` (a character that cannot be sent
    in UTF-8), None when there is none."""
    m = _SURROGATE.search(text)
    return None if m is None else f"U+{ord(m.group()):04X}"


# --- phone numbers --------------------------------------------------------------------------

#: what is removed from a text phone number besides one leading "+"
_PHONE_JUNK = re.compile(r"[\s\-\u2010-\u2015\u2212.()]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")
MIN_DIGITS = 7
MAX_DIGITS = 15
_LOST_DIGITS = "number has 16+ digits; Excel already lost digits — store the phone as text"


def _digit_count_reason(n: int) -> str:
    return f"has {n} digit{'s' if n != 1 else ''}, needs {MIN_DIGITS} to {MAX_DIGITS}"


def _number_phone(n: int) -> tuple[str | None, str | None]:
    if n < 0:
        return None, f"negative number, not a phone number: {n}"
    digits = str(n)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None, _digit_count_reason(len(digits))
    return digits, None


def normalise_phone(value) -> tuple[str | None, str | None]:
    """``(digits, None)`` for a phone number, ``(None, reason)`` for a value that is not one,
    ``(None, None)`` for an empty cell (``None`` or blank text). Never raises.

    - text: trimmed; spaces (any whitespace), dashes, dots and parentheses removed, then one
      leading ``+`` (so ``(+91) 98765 43210`` is accepted; ``++91...`` and an inner ``+``
      are not); what remains must be 7 to 15 ASCII digits (not other scripts' digits).
      Leading zeros are kept.
    - whole numbers (``int``, whole ``float``): their digits, 7 to 15 of them; a number of
      1e15 or more (in absolute value) already lost digits in Excel and is refused; negative
      or fractional numbers are refused.
    - booleans, dates, times, durations, Excel errors: not phone numbers.
    """
    t = type(value)
    if value is None:
        return None, None
    if t is str or isinstance(value, str):
        text = value.strip()
        if not text:
            return None, None
        rest = _PHONE_JUNK.sub("", text)
        if rest.startswith("+"):
            rest = rest[1:]
        if not rest or not _ASCII_DIGITS.fullmatch(rest):
            return None, f"not a phone number: '{short(text)}'"
        if not MIN_DIGITS <= len(rest) <= MAX_DIGITS:
            return None, _digit_count_reason(len(rest))
        return rest, None
    if isinstance(value, bool):
        return None, f"not a phone number: {_format_bool(value)}"
    if isinstance(value, CellError):
        return None, f"Excel error {value.code}"
    if isinstance(value, (int, numbers.Integral)):
        n = int(value)
        if abs(n) >= 10**15:
            return None, _LOST_DIGITS
        return _number_phone(n)
    if isinstance(value, (float, Decimal, numbers.Real)):
        try:
            x = float(value)
        except (ValueError, OverflowError):  # pragma: no cover - exotic Real types
            return None, f"not a phone number: {short(value)}"
        if math.isnan(x) or math.isinf(x):
            return None, f"not a phone number: {x}"
        if abs(x) >= 1e15:
            return None, _LOST_DIGITS
        if not x.is_integer():
            return None, f"not a whole number, not a phone number: {short(value)}"
        return _number_phone(int(x))
    if isinstance(value, (_date, _time, _timedelta)):
        if isinstance(value, _datetime):
            kind = "a date-time"
        elif isinstance(value, _date):
            kind = "a date"
        elif isinstance(value, _time):
            kind = "a time"
        else:
            kind = "a duration"
        return None, f"not a phone number: {short(value)} ({kind})"
    return None, f"not a phone number: {short(value)}"


def normalise_phones(
    values: Sequence, kinds: set[type] | None = None
) -> tuple[list[str | None], dict[int, str]]:
    """:func:`normalise_phone` over a column: ``(digits, reasons)`` where ``digits[i]`` is the
    number or ``None`` (empty or invalid) and ``reasons[i]`` says why cell ``i`` is invalid
    (keys in column order). ``kinds``, when the caller already has it, is a superset of
    ``{type(v) for v in values}``.

    Fast, per type: whole floats of 7 to 15 digits and text of 7 to 15 ASCII digits are
    recognised by C-level passes over the column (``float.is_integer``, ``min``/``max``,
    ``str.isdigit``, ``len``); only the other cells (formatted numbers like ``+91 98765
    43210``, empty, invalid) go through :func:`normalise_phone` one by one. A column of several
    types is done by its most common type, the other cells standing in as a valid number,
    then those cells are done by their own type.
    """
    if not values:
        return [], {}
    values = values if isinstance(values, list) else list(values)
    if kinds is None:
        kinds = set(map(type, values))
    if len(kinds) == 1:
        return _phones_of_kind(next(iter(kinds)), values)
    types = list(map(type, values))
    counts = {kind: types.count(kind) for kind in kinds}
    main = max((k for k in counts if k in _PHONE_NEUTRAL), key=counts.__getitem__, default=None)
    if main is None:
        return _phones_one_by_one(values)
    others = [(kind, _positions(types, kind)) for kind in kinds if kind is not main and
              counts[kind]]
    work = values.copy()
    neutral = _PHONE_NEUTRAL[main]
    for _kind, where in others:
        for i in where:
            work[i] = neutral
    out, reasons = _phones_of_kind(main, work)
    for kind, where in others:
        digits, why = _phones_of_kind(kind, list(map(values.__getitem__, where)))
        for i, d in zip(where, digits, strict=True):
            out[i] = d
        for k, reason in why.items():
            reasons[where[k]] = reason
    if others:
        reasons = dict(sorted(reasons.items()))
    return out, reasons


def _phones_of_kind(kind: type, values: list) -> tuple[list[str | None], dict[int, str]]:
    if kind is float:
        return _float_phones(values)
    if kind is str:
        return _text_phones(values)
    if kind is _NONE:
        return [None] * len(values), {}
    return _phones_one_by_one(values)


def _phones_one_by_one(values: Sequence, rule=None) -> tuple[list[str | None], dict[int, str]]:
    """A column one cell at a time, by ``rule`` (default :func:`normalise_phone`; the checks
    hand in ``phones.phone_rule``'s for a country)."""
    rule = rule or normalise_phone
    out: list[str | None] = []
    reasons: dict[int, str] = {}
    for i, v in enumerate(values):
        digits, reason = rule(v)
        out.append(digits)
        if reason is not None:
            reasons[i] = reason
    return out, reasons


def _redo(values: list, out: list, bad: set[int]) -> dict[int, str]:
    """Cells ``bad`` of ``out`` done by :func:`normalise_phone`; their reasons."""
    reasons: dict[int, str] = {}
    for i in sorted(bad):
        out[i], reason = normalise_phone(values[i])
        if reason is not None:
            reasons[i] = reason
    return reasons


def _float_phones(values: list[float]) -> tuple[list[str | None], dict[int, str]]:
    """A column of floats: whole numbers from 1e6 (7 digits) to below 1e15 are phones."""
    if all(map(float.is_integer, values)) and min(values) >= 1e6 and max(values) < 1e15:
        return list(map(str, map(int, values))), {}
    bad: set[int] = set()
    whole = list(map(float.is_integer, values))  # False for NaN and infinities
    if False in whole:
        bad.update(_positions(whole, False))
    low = list(map(_BELOW_7_DIGITS, values))
    if True in low:
        bad.update(_positions(low, True))
    high = list(map(_16_DIGITS_OR_MORE, values))
    if True in high:
        bad.update(_positions(high, True))
    work = values.copy()
    for i in bad:
        work[i] = 1e6
    out: list[str | None] = list(map(str, map(int, work)))
    return out, _redo(values, out, bad)


def _text_phones(values: list[str]) -> tuple[list[str | None], dict[int, str]]:
    """A column of text: 7 to 15 ASCII digits and nothing else are phones as they are."""
    bad: set[int] = set()
    digit = list(map(str.isdigit, values))  # False for "", spaces, +, -, (, ) ...
    if False in digit:
        bad.update(_positions(digit, False))
    if not all(map(str.isascii, values)):  # isdigit is also true for other scripts' digits
        bad.update(_positions(list(map(str.isascii, values)), False))
    lengths = list(map(len, values))
    if min(lengths) < MIN_DIGITS or max(lengths) > MAX_DIGITS:
        bad.update(_positions(list(map(_PHONE_LENGTH, lengths)), False))
    out: list[str | None] = list(values)
    return out, _redo_text(values, out, bad) if bad else {}


def _redo_text(values: list[str], out: list, bad: set[int]) -> dict[int, str]:
    """:func:`_redo` for text cells: the common cases (``+91 98765-43210``, ``(022) 2345
    6789``) cleaned in one regex pass each and accepted here; the others, and every reason,
    by :func:`normalise_phone`."""
    where = sorted(bad)
    cleaned = list(map(_DROP_JUNK, map(str.strip, map(values.__getitem__, where))))
    rest = []
    for i, text in zip(where, cleaned, strict=True):
        if text[:1] == "+":
            text = text[1:]
        if MIN_DIGITS <= len(text) <= MAX_DIGITS and text.isdigit() and text.isascii():
            out[i] = text
        else:
            rest.append(i)
    return _redo(values, out, set(rest)) if rest else {}


_DROP_JUNK = functools.partial(_PHONE_JUNK.sub, "")
_BELOW_7_DIGITS = (1e6).__gt__
_16_DIGITS_OR_MORE = (1e15).__le__
_PHONE_LENGTH = range(MIN_DIGITS, MAX_DIGITS + 1).__contains__
#: a valid phone of each type, standing in for other cells while a column's main type is done
_PHONE_NEUTRAL = {float: 1e6, str: "1000000"}
