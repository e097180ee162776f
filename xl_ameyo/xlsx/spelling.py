"""Prove, on the bytes, that a sheet part is spelled the way the fast routes' scans assume.

The fast routes take their values from python-calamine or fastexcel and correct them from
byte scans of the sheet's XML (error cells, date formats, cell classes). Those scans assume
the spelling Excel writes: every cell ``<c r="B7" s="3" t="s">`` with ``r`` first, then
``s``, then ``t`` in double quotes, no namespace prefix, its ``<f>``/``<v>``/``<is>`` right
after the tag. This scanner checks that assumption on every cell of the part, in one
streamed pass, and names the first thing that breaks it; the reader then reads that sheet
with the exact reader (:mod:`.sheetxml`) instead. It also lists the formula cells without a
saved result (``<c r="A2"><f>1+1</f><v /></c>``, as openpyxl writes them).

Linear and bounded: the chunks are searched where they are (no buffer that grows), a cut-off
tag carries at most :data:`MAX_TAG` bytes into the next chunk, a run of :data:`MAX_RUN` bytes
without any tag (3 GB of blank space, a 2 GB cell) is reported after two ``find`` calls per
chunk, and no expression depends on the sheet's columns.
"""

from __future__ import annotations

import re

from xl_ameyo.xlsx.errorcells import parse_cell_ref

#: a tag longer than this is not one Excel writes
MAX_TAG = 1 << 16
#: bytes without a tag that the fast routes' libraries are not handed (a cell holds at most
#: 32,767 characters, 128 KB in UTF-8)
MAX_RUN = 4 << 20

#: the error codes python-calamine 0.9 and fastexcel 0.21 read (others make them fail)
CLASSIC_ERRORS = frozenset(("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!",
                            "#NULL!"))

#: a cell start tag as Excel, LibreOffice and openpyxl write it, followed by what may follow
_CANONICAL = (
    rb'r="[A-Z]{1,3}[1-9][0-9]*"(?: s="[0-9]+")?(?: t="(?:s|n|b|e|str|inlineStr)")?'
    rb'(?: cm="[0-9]+")?(?: vm="[0-9]+")?(?: ph="[01]")?'
    rb"(?: ?/>|>(?=<(?:f[\s/>]|v[\s/>]|is>|/c>)))"
)
#: at any '<': a cell tag spelled otherwise, a prefixed element, a comment, CDATA or a
#: processing instruction
_ODD = re.compile(rb"<(?:c(?=[\s/>])(?! " + _CANONICAL + rb")|[A-Za-z_][\w.\-]*:|[!?])")
_SHEET_DATA = re.compile(rb"<([A-Za-z_][\w.\-]*:)?sheetData(?=[\s/>])(/?)")
_END_DATA = b"</sheetData"
#: a formula with nothing (or an empty value) after it, then the cell's end
_UNSAVED = re.compile(rb"(?:</f>|<f(?:\s[^<>]*)?/>)(?:<v\s*/>|<v></v>)?</c>")
_CELL_START = re.compile(rb'<c r="([A-Z]{1,3}[0-9]+)"(?: s="[0-9]+")?(?: t="([a-zA-Z]+)")?')
#: blank space where the scans assume a cell's parts to be adjacent: after a formula, and
#: around a value (the tag after ``<c ...>`` is checked by :data:`_ODD`)
_SPACED = tuple(
    [tag + bytes([space]) for tag in (b"</f>", b"/>", b"<v>") for space in b" \t\r\n"]
    + [bytes([space]) + b"</v>" for space in b" \t\r\n"])


class SpellingScanner:
    """Push-style: :meth:`feed` the decompressed part chunk by chunk, then :meth:`finish`."""

    def __init__(self) -> None:
        self.unusual: str | None = None
        #: (row, column), 0-based, of formula cells without a saved result
        self.unsaved: list[tuple[int, int]] = []
        self._state = 0  # 0 before sheetData, 1 inside, 2 after
        self._tail = b""
        self._since_tag = 0
        self._first = True

    def feed(self, chunk: bytes) -> None:
        self._track_runs(chunk)
        if self.unusual is not None or self._state == 2:
            return
        if self._first:
            self._first = False
            if b"\x00" in chunk[:64]:
                self.unusual = "the sheet's XML is not UTF-8"
                return
        buf = self._tail + chunk if self._tail else chunk
        # the last cell (its formula and value with it) waits for the next chunk
        cut = buf.rfind(b"<c")
        if cut < 0 or len(buf) - cut > MAX_TAG:
            cut = buf.rfind(b"<")
            if cut < 0 or len(buf) - cut > MAX_TAG:
                cut = len(buf)
        self._tail = buf[cut:]
        self._scan(buf, cut)

    def _track_runs(self, chunk: bytes) -> None:
        first = chunk.find(b"<")
        if first < 0:
            self._since_tag += len(chunk)
        else:
            if self._since_tag + first > MAX_RUN:
                self._since_tag += first
            else:
                self._since_tag = len(chunk) - chunk.rfind(b"<") - 1
        if self._since_tag > MAX_RUN and self.unusual is None:
            self.unusual = f"more than {MAX_RUN >> 20} MB of text or blank space between tags"

    def _scan(self, buf: bytes, end: int) -> None:
        pos = 0
        if self._state == 0:
            m = _SHEET_DATA.search(buf, 0, end)
            if m is None:
                # keep the end, where the sheetData tag may start
                self._tail = buf[max(end - 64, 0):]
                return
            if m.group(1):
                self.unusual = "the sheet's XML has a namespace prefix"
                return
            if m.group(2):
                self._state = 2
                return
            self._state = 1
            pos = m.end()
        stop = buf.find(_END_DATA, pos, end)
        if stop >= 0:
            end = stop
            self._state = 2
        odd = _ODD.search(buf, pos, end)
        if odd is not None:
            self.unusual = f"a tag written in an unusual way: {_show(buf, odd.start())}"
            return
        for spaced in _SPACED:
            if buf.find(spaced, pos, end) >= 0:
                self.unusual = "blank space between the parts of its cells"
                return
        for m in _UNSAVED.finditer(buf, pos, end):
            start = buf.rfind(b"<c ", pos, m.start())
            cell = _CELL_START.match(buf, start) if start >= 0 else None
            if cell is None:
                self.unusual = "a formula whose cell cannot be placed"
                return
            if cell.group(2) == b"str" and not m.group().startswith(b"</f></c>") and (
                    b"<v" in m.group()):
                continue  # a formula whose saved result is empty text
            where = parse_cell_ref(cell.group(1).decode("ascii"))
            if where is not None:
                self.unsaved.append(where)

    def finish(self) -> str | None:
        """Why the sheet is not spelled as the fast routes assume, or None."""
        if self.unusual is None and self._tail and self._state != 2:
            self._scan(self._tail, len(self._tail))
        if self.unusual is None and self._state == 0:
            self.unusual = "no sheetData in the sheet's XML"
        self._tail = b""
        return self.unusual


def _show(buf: bytes, at: int) -> str:
    """A short, printable excerpt of the tag at ``at``."""
    return buf[at : at + 40].decode("utf-8", "replace").split(">", 1)[0] + ">"
