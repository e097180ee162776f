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

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xl_ameyo.columns import Column, Kind, cell_value, from_values
from xl_ameyo.rules.text import short, shown
from xl_ameyo.rules.values import SPACES, number_texts, scatter

__all__ = ["ASCII_DIGITS", "JUNK", "MAX_DIGITS", "MIN_DIGITS", "PhoneRule", "Phones",
           "normalise_phone", "phone_column"]

MIN_DIGITS = 7
MAX_DIGITS = 15
#: what a text phone number loses besides one leading ``+``: spaces of every script (those
#: of ``str.isspace``), dashes (and the Unicode ones, the minus sign), dots, parentheses
_DROPPED = SPACES + "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212.()"
#: ... in RE2's syntax, for the column passes (RE2's ``\s`` is ASCII only)
PHONE_JUNK = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _DROPPED) + "]+"
#: ... and in Python's, for a rule that works per cell (xl_ameyo.phones)
JUNK = re.compile("[" + re.escape(_DROPPED) + "]+")
ASCII_DIGITS = re.compile("[0-9]+")
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
        return self.reasons_of(np.array([i], dtype=np.int64))[0]

    def reasons_of(self, rows: np.ndarray) -> list[str]:
        """Why each cell at ``rows`` (of :attr:`bad`) is not a phone number: the arrays of
        those cells made at once, the sentence per cell."""
        if self.reasons is not None:
            return [self.reasons[i] for i in rows.tolist()]
        col = self.column
        texts = shown(col, rows)
        kinds = col.kinds[rows]
        cleaned = (self.cleaned.take(pa.array(rows)).to_pylist() if self.cleaned is not None
                   else [None] * len(rows))
        x = col.number[rows] if col.number is not None else np.full(len(rows), np.nan)
        fine = (kinds == Kind.NUMBER) & np.isfinite(x) & (np.floor(x) == x) & (x >= 0) & (
            x < 1e15)
        lengths = np.zeros(len(rows), dtype=np.int64)
        if fine.any():
            pad = None if col.pad is None else col.pad[rows][fine]
            lengths[fine] = pc.utf8_length(number_texts(x[fine], pad)).to_numpy()
        out = []
        for k, kind in enumerate(kinds.tolist()):
            text = texts[k]
            if kind == Kind.TEXT:
                rest = cleaned[k]
                if rest and rest.isdigit() and rest.isascii():
                    out.append(_digit_count(len(rest)))
                else:
                    out.append(f"not a phone number: '{text}'")
            elif kind == Kind.NUMBER:
                v = float(x[k])
                if not np.isfinite(v):
                    out.append(f"not a phone number: {v}")
                elif abs(v) >= 1e15:
                    out.append(_LOST_DIGITS)
                elif not v.is_integer():
                    out.append(f"not a whole number, not a phone number: {text}")
                elif v < 0:
                    out.append(f"negative number, not a phone number: {int(v)}")
                else:
                    out.append(_digit_count(int(lengths[k])))
            elif kind == Kind.ERROR:
                out.append(f"Excel error {text}")
            elif kind == Kind.BOOL:
                out.append(f"not a phone number: {text}")
            else:
                out.append(f"not a phone number: {text} ({_KIND_NAMES[kind]})")
        return out


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
        texts = col.text if len(text_rows) == n else col.text.take(pa.array(text_rows))
        # most phones are 7 to 15 ASCII digits as they are: no regex for those
        length = pc.binary_length(texts).to_numpy(zero_copy_only=False)
        quick = _mask(pc.ascii_is_decimal(texts)) & (length >= MIN_DIGITS) & (
            length <= MAX_DIGITS)
        bad[text_rows[quick]] = False
        parts.append((text_rows[quick], texts.filter(pa.array(quick))))
        if not quick.all():
            slow = text_rows[~quick]
            others = texts.filter(pa.array(~quick))
            blank = _mask(pc.equal(pc.utf8_trim(others, characters=SPACES), ""))
            rest = pc.replace_substring_regex(others, PHONE_JUNK, "")
            plus = _mask(pc.starts_with(rest, "+"))
            if plus.any():
                rest = pc.if_else(pa.array(plus), pc.utf8_slice_codeunits(rest, 1), rest)
            ok = _mask(pc.match_substring_regex(rest, _PHONE))
            empty[slow[blank]] = True
            bad[slow[blank | ok]] = False
            parts.append((slow[ok], rest.filter(pa.array(ok))))
            cleaned = scatter(n, [(slow, rest)], fill="")
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
