"""Which kind of cell each column of a sheet part holds, streamed: the guard of the Arrow route.

fastexcel gives a column one Arrow type; a column that mixes cell types (a number or a boolean
in a text column, a date among numbers) is read differently from python-calamine's per-cell
values. This scan proves, from the sheet's XML, that every cell of a column is of one *class*:

- ``text``: ``t="s"``, ``t="inlineStr"`` or ``t="str"`` (a formula's text);
- ``number``: no ``t`` (or ``t="n"``) under a style whose number format is not a date, time or
  duration (built-in General/number/percent/currency formats, or a custom format without any
  of the letters ``y m d h s``);
- ``date`` / ``datetime``: no ``t`` (or ``t="n"``) under a style of that kind of date format;
- ``bool``: ``t="b"``.

Empty cells (``<c r="B7" s="1"/>``, any self-closing cell) and error cells (``t="e"``, found
by :mod:`.errorcells`) go with any class. Row 1 (the headers) must hold text cells only.
Anything else (a cell without ``r``, attributes in another order, ``t="d"``, a prefixed
namespace, a time format) is *unusual*: the caller falls back to the per-cell reader.

Speed: the classes are guessed from the first chunk's cells; then one regular expression
finds only the cells that do not fit their column's class (a negative look-ahead after each
``<c``), in C. A misfit marks its column ``mixed`` (the expression is rebuilt without it).
"""

from __future__ import annotations

import re

from xl_ameyo.xlsx.cells import column_index, column_letters
from xl_ameyo.xlsx.errorcells import carry
from xl_ameyo.xlsx.formats import DATE, DATETIME, Style

TEXT = "text"
NUMBER = "number"
BOOL = "bool"
MIXED = "mixed"

#: columns a sheet may have for the scan (each column's class is in its expression, which is
#: rebuilt when a column turns mixed: bounded, so a sheet of 16,384 columns costs nothing)
MAX_COLUMNS = 256

_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"(?: s="([0-9]+)")?(?: t="([A-Za-z]+)")?\s*(/?)>')
_ANY_C = re.compile(rb"<c(?=[\s/>])")


def style_classes(styles: dict[int, Style] | None) -> dict[int, str]:
    """Cell style index -> ``number``, ``date`` or ``datetime`` (styles of other formats,
    zero-padding ones included, left out: their number cells are unusual)."""
    out: dict[int, str] = {}
    for index, style in (styles or {}).items():
        if style.pad:
            continue
        if style.kind in (DATE, DATETIME):
            out[index] = style.kind
        elif style.plain_number:
            out[index] = NUMBER
    return out


class CellTypeScanner:
    """Push-style: :meth:`feed` the decompressed part chunk by chunk, then :meth:`finish`."""

    def __init__(self, styles: dict[int, str]) -> None:
        self._styles = styles
        self.classes: dict[int, str] = {}  # column -> class
        #: columns of the non-empty cells of row 1 found in the first chunk (where a sheet's
        #: row 1 is, unless it is longer than a chunk)
        self.header_columns: set[int] = set()
        self.unusual: str | None = None  # why the sheet cannot take the Arrow route
        self._regex: re.Pattern[bytes] | None = None
        self._buf = b""
        self._started = False

    # -- classes ---------------------------------------------------------------------------

    def _class_of(self, s: bytes | None, t: bytes | None) -> str | None:
        if t in (b"s", b"inlineStr", b"str"):
            return TEXT
        if t == b"b":
            return BOOL
        if t is None or t == b"n":
            return self._styles.get(int(s) if s else 0)
        return None

    def _note(self, letters: bytes, row: bytes, s: bytes | None, t: bytes | None,
              empty: bool) -> None:
        col = column_index(letters)
        if col >= MAX_COLUMNS:
            self.unusual = f"more than {MAX_COLUMNS} columns"
            return
        if row == b"1":
            if not empty and t not in (b"s", b"inlineStr", b"str"):
                self.unusual = "a header cell in row 1 is not text"
            elif not empty and not self._started:
                self.header_columns.add(col)
            return
        if empty or t == b"e":
            return
        kind = self._class_of(s, t)
        if kind is None:
            self.unusual = f"a cell of an unusual type in {letters.decode()}{row.decode()}"
            return
        seen = self.classes.get(col)
        if seen is None:
            self.classes[col] = kind
        elif seen != kind:
            self.classes[col] = MIXED

    def _compile(self) -> None:
        by_class: dict[str, list[str]] = {}
        for col, kind in self.classes.items():
            by_class.setdefault(kind, []).append(column_letters(col))
        data_row = r'(?:[2-9]|[1-9][0-9]+)"'
        good = [r' r="[A-Z]{1,3}[0-9]+"[^<>]*/>',
                r' r="[A-Z]{1,3}[0-9]+"(?: s="[0-9]+")? t="e"[\s/>]',
                r' r="[A-Z]{1,3}1"(?: s="[0-9]+")? t="(?:s|inlineStr|str)">']

        def cols(kind: str) -> str:
            return "(?:" + "|".join(sorted(by_class[kind])) + ")" + data_row

        if MIXED in by_class:
            good.append(' r="' + cols(MIXED) + r"[^<>]*>")
        if TEXT in by_class:
            good.append(' r="' + cols(TEXT) + r'(?: s="[0-9]+")? t="(?:s|inlineStr|str)">')
        if BOOL in by_class:
            good.append(' r="' + cols(BOOL) + r'(?: s="[0-9]+")? t="b">')
        for kind in (NUMBER, DATE, DATETIME):
            if kind not in by_class:
                continue
            ids = sorted(str(i) for i, k in self._styles.items() if k == kind)
            if not ids:
                continue
            style = ' s="(?:' + "|".join(ids) + ')"'
            style = f"(?:{style})?" if self._styles.get(0) == kind else style
            good.append(' r="' + cols(kind) + style + r'(?: t="n")?>')
        self._regex = re.compile(rb"<c(?=[\s/>])(?!" + "|".join(good).encode() + rb")")

    # -- feeding ---------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        if self.unusual is not None:
            return
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            data = re.search(rb"<([A-Za-z_][\w.\-]*:)?sheetData[\s/>]", buf)
            if data is None:
                self._buf = buf[-256:]
                return
            if data.group(1):
                self.unusual = "the sheet's XML has a namespace prefix"
                return
            # the classes guessed from this chunk's complete cells
            for m in _CELL.finditer(buf, data.end()):
                self._note(m.group(1), m.group(2), m.group(3), m.group(4), m.group(5) == b"/")
                if self.unusual is not None:
                    return
            self._started = True
            self._compile()
            buf = buf[data.end():]
        self._buf = self._scan(buf, final=False)

    def _scan(self, buf: bytes, *, final: bool) -> bytes:
        assert self._regex is not None
        # a cell cut off at the end of the buffer waits for the next chunk
        end = len(buf) if final else max(buf.rfind(b"<"), 0)
        pos = 0
        last = -1
        while self.unusual is None:
            m = self._regex.search(buf, pos, end)
            if m is None:
                break
            if m.start() == last:
                self.unusual = "a cell the scan cannot place"
                break
            last = m.start()
            tag_end = buf.find(b">", m.start())
            cell = _CELL.match(buf, m.start(), tag_end + 1) if tag_end >= 0 else None
            if cell is None:
                self.unusual = "a cell written in an unusual way"
                break
            before = dict(self.classes)
            self._note(cell.group(1), cell.group(2), cell.group(3), cell.group(4),
                       cell.group(5) == b"/")
            if self.unusual is None:
                if self.classes == before:  # cannot happen: a misfit changes a class
                    self.unusual = "a cell the scan cannot place"
                    break
                self._compile()
            pos = m.start()
        return b"" if final else carry(buf, end)

    def finish(self) -> tuple[dict[int, str], str | None]:
        """(column -> class, why the sheet is unusual or None); the header's columns are in
        :attr:`header_columns`."""
        if self.unusual is None:
            if not self._started:
                self.unusual = "no sheetData in the sheet's XML"
            elif self._buf:
                self._scan(self._buf, final=True)
        self._buf = b""
        return self.classes, self.unusual

