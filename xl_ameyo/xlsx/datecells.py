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
from xml.etree import ElementTree

from xl_ameyo.xlsx.cells import column_index

DATE = "date"
DATETIME = "datetime"
TIME = "time"

#: built-in number formats (ECMA-376 18.8.30) whose kind is fixed; 46 ``[h]:mm:ss`` is
#: elapsed time and stays calamine's timedelta
_BUILTIN = {14: DATE, 15: DATE, 16: DATE, 17: DATE, 18: TIME, 19: TIME, 20: TIME, 21: TIME,
            22: DATETIME, 45: TIME, 47: TIME}
_ELAPSED = re.compile(r"(?:h+|m+|s+)")
_SCIENTIFIC = re.compile(r"e[+-]")

#: cached values that mismatch each kind (see the module docstring)
_MISMATCH = {
    DATE: rb"[0-9]+\.[0-9]*[1-9][0-9]*",
    DATETIME: rb"[0-9]+(?:\.0*)?",
    TIME: rb"[1-9][0-9]*(?:\.[0-9]*)?",
}


def classify_format(code: str) -> str | None:
    """``date``, ``datetime``, ``time`` or None (not a date format, or elapsed time)."""
    kept = []
    i = 0
    while i < len(code):
        ch = code[i]
        if ch == '"':  # literal text
            end = code.find('"', i + 1)
            i = len(code) if end < 0 else end + 1
            continue
        if ch in "\\_*":  # escaped character, padding, fill
            i += 2
            continue
        if ch == "[":  # colour, condition, locale, or elapsed [h]/[mm]/[ss]
            end = code.find("]", i + 1)
            inner = code[i + 1 : end if end >= 0 else len(code)].lower()
            if _ELAPSED.fullmatch(inner):
                return None
            i = len(code) if end < 0 else end + 1
            continue
        if ch == ";":  # the first section decides
            break
        kept.append(ch.lower())
        i += 1
    text = "".join(kept).replace("general", "")
    if _SCIENTIFIC.search(text):
        return None
    ampm = "am/pm" in text or "a/p" in text
    text = text.replace("am/pm", "").replace("a/p", "")
    has_date = "y" in text or "d" in text
    has_time = "h" in text or "s" in text or ampm
    if "m" in text and not has_date and not has_time:
        has_date = True  # "mmm", "mmmm": a month name
    if has_date and has_time:
        return DATETIME
    if has_date:
        return DATE
    if has_time:
        return TIME
    return None


def style_formats(styles_xml: bytes) -> dict[int, tuple[int, str | None]] | None:
    """Cell style index (``s``) -> (its ``numFmtId``, the custom format code or None for a
    built-in format); None when styles.xml cannot be parsed."""
    try:
        root = ElementTree.fromstring(styles_xml)
    except ElementTree.ParseError:
        return None
    formats: dict[int, str] = {}
    xfs: list[ElementTree.Element] = []
    for element in root:
        name = element.tag.rsplit("}", 1)[-1]
        if name == "numFmts":
            for fmt in element:
                fid = fmt.get("numFmtId", "")
                if fid.isdigit():
                    formats[int(fid)] = fmt.get("formatCode", "")
        elif name == "cellXfs":
            xfs = [xf for xf in element if xf.tag.rsplit("}", 1)[-1] == "xf"]
    out: dict[int, tuple[int, str | None]] = {}
    for index, xf in enumerate(xfs):
        fid = xf.get("numFmtId", "0")
        if fid.isdigit():
            out[index] = (int(fid), formats.get(int(fid)))
    return out


def style_kinds(styles_xml: bytes) -> dict[int, str]:
    """Cell style index (``s``) -> kind of date format, for the styles that have one."""
    kinds = {}
    for index, (number, code) in (style_formats(styles_xml) or {}).items():
        kind = classify_format(code) if code is not None else _BUILTIN.get(number)
        if kind is not None:
            kinds[index] = kind
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
        for kind in (DATE, DATETIME, TIME):
            ids = sorted((i for i, k in self._kinds.items() if k == kind), reverse=True)
            if ids:
                alternatives = b"|".join(str(i).encode() for i in ids)
                branches.append(b"(?P<" + kind.encode() + b">" + alternatives + b")" + tail
                                + b"(?:" + _MISMATCH[kind] + b")</" + p + b"v>")
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
                self._buf = buf  # the sheet's prefix is not known yet
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
        self._buf = buf[max(cut, 0) :]

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
    return value
