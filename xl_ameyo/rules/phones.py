"""Phone fields (SPEC §3), a whole column at once: the digits sent, which cells are empty, which
are not phone numbers, and why (for those few only).

The rule (no ``phone_country``):

- text: spaces (any whitespace), dashes (the ASCII hyphen, *decision:* also the Unicode dashes
  U+2010..U+2015 and the minus sign U+2212), dots and parentheses removed, then one leading
  ``+`` (``(+91) 98765 43210`` is accepted; ``++91...`` and an inner ``+`` are not); what
  remains must be 7 to 15 ASCII digits (not other scripts' digits); leading zeros kept;
  blank text is an empty cell;
- numbers: whole, not negative, below 1e15 (from 1e15 on Excel already lost digits), written
  as SPEC §3 writes them (so a zero-padding format's leading zeros count), 7 to 15 digits;
- booleans, dates, times, durations and error cells are not phone numbers.

With ``phone_country`` the rule of :mod:`xl_ameyo.phones` (libphonenumber) is asked per
cell instead: ``rule(value) -> (digits | None, reason | None)``, for the non-empty cells.

:func:`normalise_phone` is the same rule for one Python value (``AMEYO_PHONE``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xl_ameyo.columns import Column, Kind, cell_value, from_values
from xl_ameyo.rules.text import short
from xl_ameyo.rules.values import SPACES, number_texts, scatter

__all__ = ["MAX_DIGITS", "MIN_DIGITS", "PhoneRule", "Phones", "normalise_phone",
           "phone_column"]

MIN_DIGITS = 7
MAX_DIGITS = 15
#: what a text phone number loses besides one leading ``+``, in RE2's syntax (RE2's ``\s``
#: is ASCII only: the whitespace of ``str.isspace`` is listed)
PHONE_JUNK = ("[" + "".join(f"\\x{{{ord(c):x}}}" for c in SPACES)
              + r"\-\x{2010}-\x{2015}\x{2212}.()]+")
_PHONE = f"^[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}$"
_LOST_DIGITS = "number has 16+ digits; Excel already lost digits — store the phone as text"
_KIND_NAMES = {Kind.DATE: "a date", Kind.DATETIME: "a date-time", Kind.TIME: "a time",
               Kind.DURATION: "a duration"}

#: one cell's value -> (digits, None) | (None, reason) | (None, None) for an empty cell
PhoneRule = Callable[[object], tuple[str | None, str | None]]


@dataclass
class Phones:
    """A phone column checked: per row, the digits (null where empty or not a phone), and
    the masks of empty cells and of cells that are not phones."""

    digits: pa.Array
    empty: np.ndarray
    bad: np.ndarray
    column: Column
    #: the text cells cleaned of spaces, dashes ... (for the reasons); None: no text
    cleaned: pa.Array | None = None
    #: row -> reason, when a per-cell rule gave them
    reasons: dict[int, str] | None = None

    def reason(self, i: int) -> str:
        """Why cell ``i`` (one of :attr:`bad`) is not a phone number."""
        if self.reasons is not None:
            return self.reasons[i]
        col = self.column
        kind = int(col.kinds[i])
        value = cell_value(col, i)
        if kind == Kind.TEXT:
            rest = self.cleaned[i].as_py()
            if rest and rest.isdigit() and rest.isascii():
                return _digit_count(len(rest))
            return f"not a phone number: '{short(value.strip())}'"
        if kind == Kind.NUMBER:
            x = float(col.number[i])
            if not np.isfinite(x):
                return f"not a phone number: {x}"
            if abs(x) >= 1e15:
                return _LOST_DIGITS
            if not x.is_integer():
                return f"not a whole number, not a phone number: {short(value)}"
            if x < 0:
                return f"negative number, not a phone number: {int(x)}"
            pad = None if col.pad is None else col.pad[i : i + 1]
            return _digit_count(len(number_texts(col.number[i : i + 1], pad)[0].as_py()))
        if kind == Kind.ERROR:
            return f"Excel error {value.code}"
        if kind == Kind.BOOL:
            return f"not a phone number: {'TRUE' if value else 'FALSE'}"
        return f"not a phone number: {short(value)} ({_KIND_NAMES[kind]})"


def _digit_count(n: int) -> str:
    return f"has {n} digit{'s' if n != 1 else ''}, needs {MIN_DIGITS} to {MAX_DIGITS}"


def _mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def phone_column(col: Column, rule: PhoneRule | None = None) -> Phones:
    """Check one phone column (see the module docstring); ``rule``: a per-cell rule instead
    of the 7-15 digit one."""
    if rule is not None:
        return _by_rule(col, rule)
    n = len(col)
    kinds = col.kinds
    empty = kinds == Kind.EMPTY
    bad = ~empty
    parts = []
    cleaned = None
    text_rows = np.flatnonzero(kinds == Kind.TEXT)
    if len(text_rows):
        texts = col.text.take(pa.array(text_rows))
        blank = _mask(pc.equal(pc.utf8_trim(texts, characters=SPACES), ""))
        rest = pc.replace_substring_regex(texts, PHONE_JUNK, "")
        plus = _mask(pc.starts_with(rest, "+"))
        if plus.any():
            rest = pc.if_else(pa.array(plus), pc.utf8_slice_codeunits(rest, 1), rest)
        ok = _mask(pc.match_substring_regex(rest, _PHONE))
        empty[text_rows[blank]] = True
        bad[text_rows[blank | ok]] = False
        parts.append((text_rows[ok], rest.filter(pa.array(ok))))
        cleaned = scatter(n, [(text_rows, rest)], fill="")
    number_rows = np.flatnonzero(kinds == Kind.NUMBER)
    if len(number_rows):
        x = col.number[number_rows]
        fine = np.isfinite(x) & (np.floor(x) == x) & (x >= 0) & (x < 1e15)
        rows = number_rows[fine]
        digits = number_texts(x[fine], None if col.pad is None else col.pad[rows])
        length = pc.utf8_length(digits).to_numpy()
        ok = (length >= MIN_DIGITS) & (length <= MAX_DIGITS)
        bad[rows[ok]] = False
        parts.append((rows[ok], digits.filter(pa.array(ok))))
    if parts:
        found = scatter(n, parts, fill="")
        sent = ~(empty | bad)
        digits_all = pc.if_else(pa.array(sent), found, pa.scalar(None, found.type))
    else:
        digits_all = pa.nulls(n, pa.string())
    return Phones(digits=digits_all, empty=empty, bad=bad, column=col, cleaned=cleaned)


def _by_rule(col: Column, rule: PhoneRule) -> Phones:
    """A per-cell rule (a country's numbering plan) over the cells that hold a value; a
    padded number is handed over as the text Excel shows."""
    n = len(col)
    empty = col.kinds == Kind.EMPTY
    bad = np.zeros(n, dtype=bool)
    digits: list[str | None] = [None] * n
    reasons: dict[int, str] = {}
    padded = col.pad is not None and col.pad.any()
    for i in np.flatnonzero(~empty).tolist():
        if padded and col.kinds[i] == Kind.NUMBER and col.pad[i] > 0:
            value = number_texts(col.number[i : i + 1], col.pad[i : i + 1])[0].as_py()
        else:
            value = cell_value(col, i)
        d, why = rule(value)
        if why is not None:
            bad[i] = True
            reasons[i] = why
        elif d is None:
            empty[i] = True
        else:
            digits[i] = d
    return Phones(digits=pa.array(digits, pa.string()), empty=empty, bad=bad, column=col,
                  reasons=reasons)


def normalise_phone(value) -> tuple[str | None, str | None]:
    """``(digits, None)`` for a phone number, ``(None, reason)`` for a value that is not one,
    ``(None, None)`` for an empty cell (``None`` or blank text). Never raises."""
    try:
        col = from_values([value])
    except TypeError:
        return None, f"not a phone number: {short(value)}"
    phones = phone_column(col)
    if phones.bad[0]:
        return None, phones.reason(0)
    return phones.digits[0].as_py(), None
