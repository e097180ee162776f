"""Give date cells the kind their number format shows, where python-calamine guesses it.

python-calamine 0.9 sees that a cell's format is a date/time format, then picks the Python
type from the *value* alone (measured):

- a date-time format holding exactly midnight -> ``date`` (the analyst sees
  ``2020-01-02 00:00``);
- a date-only format holding a time part (``=NOW()``, pasted timestamps) -> ``datetime``
  (the analyst sees ``2020-01-02``);
- a time-only format holding a serial of 1 or more -> ``datetime(1900, 1, ...)`` (the analyst
  sees ``06:00``).

SPEC §3 sends values as the analyst sees them, so these cells are corrected from their
format: date format -> ``date``, date-time format -> ``datetime``, time format -> ``time``.
Elapsed formats (``[h]:mm``) are left alone (calamine's ``timedelta`` is right), as are
values calamine did not read as dates.

Finding those cells cheaply: the styles part says which cell styles (``s="N"``) carry which
kind of format; one regular expression then finds, in the streamed sheet XML, only the cells
whose style and cached value disagree in the way above (a fraction under a date format, a
whole number under a date-time format, 1 or more under a time format). It is anchored on the
literal ``<c r="`` and the attribute order Excel, openpyxl and LibreOffice write (``r``,
``s``, then ``t``), so the regex engine skips every other cell in C. A cell written another
way keeps calamine's type: a known, documented limit, not a wrong value.
"""

from __future__ import annotations

import datetime as _dt
import re

from xl_ameyo.xlsx.cells import column_index
from xl_ameyo.xlsx.errorcells import carry
from xl_ameyo.xlsx.formats import DATE, DATETIME, TIME, Style

#: cached values that mismatch each kind (see the module docstring)
_MISMATCH = {
    DATE: rb"[0-9]+\.[0-9]*[1-9][0-9]*",
    DATETIME: rb"[0-9]+(?:\.0*)?",
    TIME: rb"[1-9][0-9]*(?:\.[0-9]*)?",
}


#: the cached values under a zero-padding format: every number (the rules pad whole ones)
_WHOLE = rb"-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"


def style_kinds(styles: dict[int, Style] | None) -> dict[int, str]:
    """Cell style index (``s``) -> kind of date format, for the styles calamine reads as
    dates whose kind it may guess wrong (elapsed formats are left alone); ``padN`` for a
    format that pads whole numbers to N digits (calamine gives their numbers only)."""
    kinds = {}
    for index, style in (styles or {}).items():
        if style.kind in (DATE, DATETIME, TIME):
            kinds[index] = style.kind
        elif style.kind is None and style.pad:
            kinds[index] = f"pad{style.pad}"
    return kinds


class DateCellScanner:
    """Push-style scan of a sheet part for date cells whose value calamine types wrongly."""

    def __init__(self, kinds: dict[int, str]) -> None:
        self._kinds = kinds
        self._regex: re.Pattern[bytes] | None = None
        self._literal = b""
        self._buf = b""
        self._columns: dict[bytes, int] = {}
        self.found: list[tuple[int, int, str]] = []

    def _compile(self, prefix: bytes) -> None:
        p = re.escape(prefix)
        self._literal = b"<" + prefix + b'c r="'
        formula = b"(?:<" + p + b"f[^>]*/>|<" + p + b"f[^>]*>[^<]*</" + p + b"f>)?"
        tail = b'"(?: t="n")?>' + formula + b"<" + p + b"v>"
        branches = []
        for kind in sorted(set(self._kinds.values())):
            ids = sorted((i for i, k in self._kinds.items() if k == kind), reverse=True)
            alternatives = b"|".join(str(i).encode() for i in ids)
            branches.append(b"(?P<" + kind.encode() + b">" + alternatives + b")" + tail
                            + b"(?:" + _MISMATCH.get(kind, _WHOLE) + b")</" + p + b"v>")
        self._regex = re.compile(
            re.escape(self._literal) + b"([A-Z]{1,3})([0-9]+)\" s=\"(?:"
            + b"|".join(branches) + b")"
        )

    def feed(self, chunk: bytes) -> None:
        if not self._kinds:
            return
        buf = self._buf + chunk if self._buf else chunk
        if self._regex is None:
            data = re.search(rb"<([A-Za-z_][\w.\-]*:)?sheetData[\s/>]", buf)
            if data is None:
                self._buf = buf[-256:]  # the sheet's prefix is not known yet
                return
            self._compile(data.group(1) or b"")
        assert self._regex is not None
        last_end = 0
        for m in self._regex.finditer(buf):
            letters = m.group(1)
            col = self._columns.get(letters)
            if col is None:
                col = self._columns[letters] = column_index(letters)
            self.found.append((int(m.group(2)) - 1, col, m.lastgroup or ""))
            last_end = m.end()
        # keep a cell that may be cut off at the end of the buffer for the next round
        start = buf.rfind(self._literal)
        cut = max(last_end, start) if start >= 0 else max(last_end, len(buf) - len(
            self._literal) + 1)
        self._buf = carry(buf, max(cut, 0))

    def finish(self) -> list[tuple[int, int, str]]:
        """(row, column, kind) of the cells to correct, 0-based."""
        self._buf = b""
        return self.found


def correct_dates(rows: list[list], cells: list[tuple[int, int, str]]) -> None:
    """Give each cell found the kind its format shows (only calamine's date/datetime
    values are touched)."""
    for r, c, kind in cells:
        if r >= len(rows) or c >= len(rows[r]):
            continue
        rows[r][c] = corrected(rows[r][c], kind)


def corrected(value: object, kind: str) -> object:
    """``value`` as the kind ``kind`` of its number format (see :func:`correct_dates`)."""
    if kind == DATE and isinstance(value, _dt.datetime):
        return value.date()
    if kind == DATETIME and type(value) is _dt.date:
        return _dt.datetime(value.year, value.month, value.day)
    if kind == TIME and isinstance(value, _dt.datetime):
        return value.time()
    if kind.startswith("pad") and type(value) is float:  # every number under the format
        from xl_ameyo.columns import PaddedNumber  # core values (see the design notes)

        return PaddedNumber(value, int(kind[3:]))
    return value
