"""What a cell's number format shows: a date, a date-time, a time, a duration, or a number
padded with zeros; and the conversion of Excel's serial numbers to Python dates.

No released reader exposes a cell's number format (python-calamine picks date or date-time by
the value, fastexcel types every date-formatted column as date-time), so the styles part is
read here: ``cellXfs`` gives each cell style (``s="N"``) a ``numFmtId``, ``numFmts`` gives the
custom formats' codes, ECMA-376 18.8.30 the built-in ones.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from xml.etree import ElementTree

DATE = "date"
DATETIME = "datetime"
TIME = "time"
DURATION = "duration"

#: built-in number formats (ECMA-376 18.8.30) that show dates or times
BUILTIN = {14: DATE, 15: DATE, 16: DATE, 17: DATE, 18: TIME, 19: TIME, 20: TIME, 21: TIME,
           22: DATETIME, 45: TIME, 46: DURATION, 47: TIME}
#: built-in formats that show a plain number (General, 0, 0.00, #,##0, percent, currency,
#: scientific, fractions, text)
NUMBER_BUILTIN = frozenset((*range(0, 14), *range(37, 45), 48, 49))

_ELAPSED = re.compile(r"(?:h+|m+|s+)")
_SCIENTIFIC = re.compile(r"e[+-]")
#: a format that only pads whole numbers with zeros: "00000", "0000000000"
_PADDING = re.compile(r"0{2,}")


def classify_format(code: str) -> str | None:
    """``date``, ``datetime``, ``time``, ``duration`` or None (a number format)."""
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
                return DURATION
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


def pad_width(code: str | None) -> int:
    """The width a zero-padding format shows a whole number in (``"00000"`` -> 5), else 0."""
    if code is None:
        return 0
    first = code.split(";", 1)[0]
    return len(first) if _PADDING.fullmatch(first) else 0


@dataclass(frozen=True)
class Style:
    """What one cell style's number format shows."""

    number_format: int
    code: str | None  # the custom format's code; None for a built-in format
    kind: str | None  # DATE, DATETIME, TIME, DURATION or None (a number)
    pad: int  # zero-padding width (0: none)

    @property
    def plain_number(self) -> bool:
        """A number shown as itself (no date, no padding, no other letters in the code)."""
        if self.pad or self.kind is not None:
            return False
        if self.code is None:
            return self.number_format in NUMBER_BUILTIN
        return not re.search(r"[ymdhsYMDHS]", re.sub(r'"[^"]*"|\\.', "", self.code))


def parse_styles(styles_xml: bytes | None) -> dict[int, Style] | None:
    """Cell style index (``s``) -> :class:`Style`; None when the part cannot be parsed. A
    workbook without a styles part has only the default style (General)."""
    if not styles_xml:
        return {0: Style(0, None, None, 0)}
    try:
        root = ElementTree.fromstring(styles_xml)
    except ElementTree.ParseError:
        return None
    codes: dict[int, str] = {}
    xfs: list[ElementTree.Element] = []
    for element in root:
        name = element.tag.rsplit("}", 1)[-1]
        if name == "numFmts":
            for fmt in element:
                fid = fmt.get("numFmtId", "")
                if fid.isdigit():
                    codes[int(fid)] = fmt.get("formatCode", "")
        elif name == "cellXfs":
            xfs = [xf for xf in element if xf.tag.rsplit("}", 1)[-1] == "xf"]
    out: dict[int, Style] = {}
    for index, xf in enumerate(xfs):
        fid = xf.get("numFmtId", "0")
        number = int(fid) if fid.isdigit() else 0
        code = codes.get(number)
        kind = classify_format(code) if code is not None else BUILTIN.get(number)
        out[index] = Style(number, code, kind, pad_width(code))
    if not out:
        out[0] = Style(0, None, None, 0)
    return out


_EPOCH = _dt.datetime(1899, 12, 31)
_EPOCH_AFTER_LEAP = _dt.datetime(1899, 12, 30)
#: the serial of 9999-12-31 + 1: later serials stay numbers
_LAST_SERIAL = 2958466.0
#: days between the 1900 and the 1904 date systems' serial 0
DAYS_1904 = 1462


def from_serial(serial: float, kind: str) -> object:
    """An Excel serial shown by a format of ``kind``, as python-calamine 0.9 converts it (to
    the millisecond; serials below 1 are times of day, 60 is 1900-02-28 as Excel's
    non-existent 1900-02-29 cannot be one) and then given the kind its format shows."""
    if kind == DURATION:
        return _dt.timedelta(milliseconds=round(serial * 86_400_000))
    if serial >= _LAST_SERIAL:
        return serial
    if serial < 1:
        ms = round(max(serial, 0.0) * 86_400_000)
        moment = _dt.datetime.min + _dt.timedelta(milliseconds=ms)
        if ms >= 86_400_000:
            moment = _dt.datetime.min
        return moment.time()
    if serial < 60:
        moment = _EPOCH + _dt.timedelta(milliseconds=round(serial * 86_400_000))
    elif serial < 61:
        moment = _EPOCH + _dt.timedelta(milliseconds=round((serial - 1) * 86_400_000))
    else:
        moment = _EPOCH_AFTER_LEAP + _dt.timedelta(milliseconds=round(serial * 86_400_000))
    if kind == DATE:
        return moment.date()
    if kind == TIME:
        return moment.time()
    return moment


def from_iso(text: str, kind: str | None) -> object:
    """A ``t="d"`` cell's ISO 8601 text (``2026-01-17T00:00:00.000Z``, ``2026-01-17``,
    ``10:30:00``) shown by a format of ``kind``: a date format gives a date, a time format a
    time, a date-time format a date-time; without a date format, a date-time unless it is
    midnight. The zone is dropped (Excel has none: writers mark the sheet's own time as UTC).
    Raises ValueError when it is not ISO 8601."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1]
    if "T" not in raw and ":" in raw and "-" not in raw:
        moment = _dt.datetime.combine(_dt.date(1899, 12, 31), _dt.time.fromisoformat(raw))
        return moment.time() if kind in (None, TIME) else moment
    offset = re.search(r"[+-][0-9]{2}:?[0-9]{2}$", raw)
    if offset and "T" in raw:
        raw = raw[: offset.start()]
    if "." in raw:  # fromisoformat (3.10) takes 3 or 6 digits only
        head, _, frac = raw.partition(".")
        raw = f"{head}.{(frac + '000000')[:6]}"
    moment = _dt.datetime.fromisoformat(raw)
    if kind == DATE:
        return moment.date()
    if kind == TIME:
        return moment.time()
    if kind is None and moment.time() == _dt.time(0):
        return moment.date()
    return moment
