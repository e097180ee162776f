"""Which kind of cell each column of a sheet part holds, streamed: the guard of the Arrow route.

fastexcel gives a column one Arrow type, cast from each cell. This scan proves, from the
sheet's XML, which *class* every cell of a column is of, so that the column is read by
fastexcel as its class's type and the cells of any other class (the *misfits*) are put in
from the XML itself:

- ``text``: ``t="s"``, ``t="inlineStr"`` or ``t="str"`` (a formula's text);
- ``number``: no ``t`` (or ``t="n"``) under a style whose number format is a plain number;
  ``padN``: the same under a format that pads whole numbers to N digits (``0000000000``);
- ``date`` / ``datetime``: no ``t`` (or ``t="n"``) under a style of that kind of date format;
- ``bool``: ``t="b"``.

Empty cells (``<c r="B7" s="1"/>``) and error cells (``t="e"``, found by :mod:`.scans`)
go with any class. Row 1 (the headers) must hold text cells only. Anything else (a cell not
spelled as Excel writes it, ``t="d"``, a time or duration format) is *unusual*: the caller
reads the sheet another way.

Speed: each column's class is the most common one among the first chunk's cells; then one
regular expression finds only the cells that do not fit their column's class (a negative
look-ahead after each ``<c``, in C). A misfit is recorded with its body (its value's XML);
the expression is rebuilt only when a column appears that the first chunk did not have
(at most :data:`MAX_COLUMNS` times: a sheet of more columns is unusual).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from xl_ameyo.cells import column_letter
from xl_ameyo.xlsx.formats import DATE, DATETIME, Style
from xl_ameyo.xlsx.scans import MAX_CARRY, column_index

TEXT = "text"
NUMBER = "number"
BOOL = "bool"

#: columns a sheet may have for the scan (each column's class is in its expression)
MAX_COLUMNS = 256
#: cells below row 1 whose classes make the guess
GUESS_CELLS = 4096

#: what Excel writes after t: cm (a dynamic array formula's cell), vm (a rich value's)
_TAIL = r'(?: cm="[0-9]+")?(?: vm="[0-9]+")?'
_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"(?: s="([0-9]+)")?(?: t="([A-Za-z]+)")?'
                   + _TAIL.encode() + rb'\s*(/?)>')
_BODY_END = re.compile(rb"</c\s*>")
_TEXT_TYPES = (b"s", b"inlineStr", b"str")


def style_classes(styles: dict[int, Style] | None) -> dict[int, str]:
    """Cell style index -> ``number``, ``padN``, ``date`` or ``datetime`` (styles of other
    formats left out: their number cells are unusual)."""
    out: dict[int, str] = {}
    for index, style in (styles or {}).items():
        if style.kind in (DATE, DATETIME):
            out[index] = style.kind
        elif style.kind is None and style.pad:
            out[index] = f"pad{style.pad}"
        elif style.plain_number:
            out[index] = NUMBER
    return out


class Misfit(NamedTuple):
    """A cell not of its column's class."""

    row: int  # 0-based sheet row
    col: int
    kind: str  # its own class
    t: bytes | None
    body: bytes  # between its start tag and </c>


class CellTypeScanner:
    """Push-style: :meth:`feed` the decompressed part chunk by chunk, then :meth:`finish`."""

    def __init__(self, styles: dict[int, str]) -> None:
        self._styles = styles
        #: column -> the class of most of its cells
        self.majority: dict[int, str] = {}
        self.misfits: list[Misfit] = []
        #: columns of the non-empty cells of row 1 found in the first chunk (where a sheet's
        #: row 1 is, unless it is longer than a chunk)
        self.header_columns: set[int] = set()
        self.unusual: str | None = None  # why the sheet cannot take the Arrow route
        self._regex: re.Pattern[bytes] | None = None
        self._buf = b""
        self._started = False
        self._ended = False  # past the end of sheetData

    def _class_of(self, s: bytes | None, t: bytes | None) -> str | None:
        if t in _TEXT_TYPES:
            return TEXT
        if t == b"b":
            return BOOL
        if t is None or t == b"n":
            return self._styles.get(int(s) if s else 0)
        return None

    def _kind(self, cell: re.Match[bytes]) -> tuple[int, str | None] | None:
        """(column, class) of a cell below row 1 holding a value (class None: empty or an
        error); None after noting row 1 or something unusual."""
        letters, row, s, t, closed = cell.groups()
        col = column_index(letters)
        if col >= MAX_COLUMNS:
            self.unusual = f"more than {MAX_COLUMNS} columns"
            return None
        if row == b"1":
            if not closed and t not in _TEXT_TYPES:
                self.unusual = "a header cell in row 1 is not text"
            elif not closed and not self._started:
                self.header_columns.add(col)
            return None
        if closed or t == b"e":
            return col, None
        kind = self._class_of(s, t)
        if kind is None:
            self.unusual = f"a cell of an unusual type in {letters.decode()}{row.decode()}"
            return None
        return col, kind

    def _compile(self) -> None:
        by_class: dict[str, list[str]] = {}
        for col, kind in self.majority.items():
            by_class.setdefault(kind, []).append(column_letter(col))
        data_row = r'(?:[2-9]|[1-9][0-9]+)"'

        def cols(kind: str) -> str:
            letters = sorted(by_class[kind])
            single = "".join(x for x in letters if len(x) == 1)
            longer = [x for x in letters if len(x) > 1]
            options = ([f"[{single}]"] if single else []) + longer
            return "(?:" + "|".join(options) + ")" + data_row

        # the classes of the most columns first: most cells fit the first alternatives
        good = []
        for kind in sorted(by_class, key=lambda k: -len(by_class[k])):
            if kind == TEXT:
                good.append(cols(TEXT) + r'(?: s="[0-9]+")? t="(?:s|inlineStr|str)"' + _TAIL
                            + ">")
            elif kind == BOOL:
                good.append(cols(BOOL) + r'(?: s="[0-9]+")? t="b"' + _TAIL + ">")
            else:
                ids = sorted(str(i) for i, k in self._styles.items() if k == kind)
                style = ' s="(?:' + "|".join(ids) + ')"'
                style = f"(?:{style})?" if self._styles.get(0) == kind else style
                good.append(cols(kind) + style + r'(?: t="n")?' + _TAIL + ">")
        good += [r'[A-Z]{1,3}[0-9]+"[^<>]*/>',
                 r'[A-Z]{1,3}[0-9]+"(?: s="[0-9]+")? t="e"[\s/>]',
                 r'[A-Z]{1,3}1"(?: s="[0-9]+")? t="(?:s|inlineStr|str)"' + _TAIL + ">"]
        # a cell that does not start with r (the others are looked at by _CELL)
        self._regex = re.compile(rb'<c(?:(?=[\s/>])(?! r=")| r="(?!'
                                 + "|".join(good).encode() + rb"))")

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
            self._guess(buf, data.end())
            if self.unusual is not None:
                return
            self._started = True
            self._compile()
            buf = buf[data.end():]
        self._buf = self._scan(buf, final=False)

    def _guess(self, buf: bytes, start: int) -> None:
        """Each column's class: the most common among the chunk's first
        :data:`GUESS_CELLS` cells (the others are checked by the expression)."""
        counts: dict[int, Counter[str]] = {}
        seen = 0
        for m in _CELL.finditer(buf, start):
            found = self._kind(m)
            if self.unusual is not None:
                return
            if found is not None and found[1] is not None:
                counts.setdefault(found[0], Counter())[found[1]] += 1
                seen += 1
                if seen >= GUESS_CELLS:
                    break
        self.majority = {col: c.most_common(1)[0][0] for col, c in counts.items()}

    def _scan(self, buf: bytes, *, final: bool) -> bytes:
        assert self._regex is not None
        if self._ended:
            return b""
        # the last cell, perhaps cut off, waits for the next chunk
        end = len(buf)
        if not final:
            end = buf.rfind(b"<c")
            if end < 0:
                end = max(buf.rfind(b"<"), 0)
            if len(buf) - end > MAX_CARRY:
                self.unusual = "a cell longer than 64 KB"
                return b""
        stop = buf.find(b"</sheetData", 0, end)
        if stop >= 0:
            end, self._ended = stop, True
        pos = 0
        while self.unusual is None:
            m = self._regex.search(buf, pos, end)
            if m is None:
                break
            cell = _CELL.match(buf, m.start())
            if cell is None:
                self.unusual = "a cell written in an unusual way"
                break
            pos = cell.end()
            found = self._kind(cell)
            if found is None or found[1] is None:
                continue
            col, kind = found
            if col not in self.majority:  # a column the first chunk did not have
                self.majority[col] = kind
                self._compile()
                continue
            close = _BODY_END.search(buf, pos)
            if close is None:
                self.unusual = "a cell not closed"
                break
            self.misfits.append(Misfit(int(cell.group(2)) - 1, col, kind, cell.group(4),
                                       buf[pos:close.start()]))
            pos = close.end()
        return b"" if final else buf[end:]

    def finish(self) -> str | None:
        """Why the sheet is unusual, or None; the header's columns are in
        :attr:`header_columns`, the majority classes in :attr:`majority`, the misfits in
        :attr:`misfits`."""
        if self.unusual is None:
            if not self._started:
                self.unusual = "no sheetData in the sheet's XML"
            elif self._buf:
                self._scan(self._buf, final=True)
        self._buf = b""
        return self.unusual
