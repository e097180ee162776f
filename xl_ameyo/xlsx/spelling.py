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

from xl_ameyo.xlsx.scans import parse_cell_ref

#: a tag longer than this is not one Excel writes
MAX_TAG = 1 << 16
#: bytes without a tag that the fast routes' libraries are not handed (a cell holds at most
#: 32,767 characters, 128 KB in UTF-8)
MAX_RUN = 4 << 20

#: the error codes python-calamine 0.9 and fastexcel 0.21 read (others make them fail)
CLASSIC_ERRORS = frozenset(("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!",
                            "#NULL!"))

#: a cell start tag as Excel, LibreOffice and openpyxl write it: ``r`` first, then ``s``,
#: ``t`` and the rest in this order, in double quotes
_CANONICAL = (
    rb'r="[A-Z]{1,3}[1-9][0-9]*"(?: s="[0-9]+")?(?: t="(?:s|n|b|e|str|inlineStr)")?'
    rb'(?: cm="[0-9]+")?(?: vm="[0-9]+")?(?: ph="[01]")? ?/?>'
)
#: a cell start tag spelled otherwise (anchored on the literal ``<c``: searched in C)
_ODD_CELL = re.compile(rb"<c(?=[\s/>])(?! " + _CANONICAL + rb")")
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?worksheet[\s>]([^>]*)>")
#: a prefix bound to SpreadsheetML's namespace (transitional or Strict)
_MAIN_PREFIX = re.compile(rb"""xmlns:[\w.\-]+\s*=\s*["'](?:http://schemas\.openxmlformats"""
                          rb"""\.org/spreadsheetml/2006/main|http://purl\.oclc\.org/ooxml/"""
                          rb"""spreadsheetml/main)["']""")
_SHEET_DATA = re.compile(rb"<([A-Za-z_][\w.\-]*:)?sheetData(?=[\s/>])(/?)")
_END_DATA = b"</sheetData"
#: a formula (``<f>..</f>``, or a shared one's ``<f .../>``) with nothing, or an empty value,
#: after it before the cell's end (matched where each ``<f`` is: no regex searches the part)
_UNSAVED = re.compile(rb"<f(?:\s[^<>]*)?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")
_CELL_START = re.compile(rb'<c r="([A-Z]{1,3}[0-9]+)"(?: s="[0-9]+")?(?: t="([a-zA-Z]+)")?')
#: what no cell data needs: comments, CDATA, processing instructions, namespace declarations
#: (which could make ``<c`` another element, or a prefixed element a cell)
_ODD_BYTES = (b"<!--", b"<![CDATA[", b"<?", b"xmlns")


class SpellingScanner:
    """Push-style: :meth:`feed` the decompressed part chunk by chunk, then :meth:`finish`."""

    def __init__(self, *, cells: bool = True) -> None:
        #: check every cell's start tag too (the Arrow route's class scan does it itself)
        self._cells = cells
        self.unusual: str | None = None
        #: why the part must not be read at all (no workbook holds it), or None
        self.hostile: str | None = None
        #: (row, column), 0-based, of formula cells without a saved result
        self.unsaved: list[tuple[int, int]] = []
        self._state = 0  # 0 before sheetData, 1 inside, 2 after
        self._tail = b""
        self._since_tag = 0
        self._first = True
        self._data_end: int | None = None
        #: whether the root tag is spelled as the fast routes assume (None: not seen yet)
        self._root: bool | None = None

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
        if self._since_tag > MAX_RUN and self.hostile is None:
            self.hostile = self.unusual = (
                f"it holds more than {MAX_RUN >> 20} MB of text or blank space in one run "
                "(no cell holds that much)")

    def _scan(self, buf: bytes, end: int) -> None:
        pos = 0
        if self._state == 0:
            m = _SHEET_DATA.search(buf, 0, end)
            if self._root is None:  # the root tag: looked at once, wherever the chunk ends
                root = _ROOT.search(buf, 0, m.start() if m is not None else end)
                if root is not None:
                    self._root = not root.group(1) and not _MAIN_PREFIX.search(root.group(2))
            if m is None:
                # keep the end, where the root or the sheetData tag may start
                at = buf.rfind(b"<", 0, end)
                self._tail = buf[at if at >= 0 and end - at <= MAX_TAG else end:]
                return
            if m.group(1) or not self._root:
                self.unusual = "the sheet's XML has a namespace prefix"
                return
            if m.group(2):
                self._state = 2
                return
            self._state = 1
            pos = m.end()
        self._data_end = None  # where sheetData ends in buf, once looked for
        if self._odd_bytes(buf, pos, end):
            return
        if self._cells:
            cell = _ODD_CELL.search(buf, pos, end)
            if cell is not None and self._in_data(buf, pos, cell.start()):
                self.unusual = f"a cell written in an unusual way: {_show(buf, cell.start())}"
                return
        at = _find(buf, b"<f", pos, end)
        while at >= 0:  # each formula
            m = _UNSAVED.match(buf, at, end)
            if m is not None and (not self._in_data(buf, pos, at)
                                  or not self._unsaved(buf, pos, m)):
                return
            at = _find(buf, b"<f", m.end() if m is not None else at + 2, end)

    def _odd_bytes(self, buf: bytes, pos: int, end: int) -> bool:
        for odd in _ODD_BYTES:
            at = _find(buf, odd, pos, end)
            if at >= 0 and self._in_data(buf, pos, at):
                self.unusual = f"its cells hold {odd.decode()}"
                return True
        return False

    def _in_data(self, buf: bytes, pos: int, at: int) -> bool:
        """Whether ``at`` lies before the end of sheetData (what follows it, extensions with
        their own namespaces, is no cell data); the scan stops at that end. The end is looked
        for once per buffer (its ``h`` is rare in a sheet's markup: a fast search)."""
        if self._data_end is None:
            self._data_end = _find(buf, _END_DATA, pos, len(buf), 3)
        stop = self._data_end
        if stop < 0 or stop >= at:
            return True
        self._state = 2
        return False

    def _unsaved(self, buf: bytes, pos: int, m: re.Match[bytes]) -> bool:
        """Note the cell of the formula without a result ``m``; False when it cannot be
        placed (the sheet is unusual then)."""
        start = buf.rfind(b"<c ", pos, m.start())
        cell = _CELL_START.match(buf, start) if start >= 0 else None
        if cell is None:
            self.unusual = "a formula whose cell cannot be placed"
            return False
        if cell.group(2) == b"str" and b"<v" in m.group():
            return True  # a formula whose saved result is empty text
        where = parse_cell_ref(cell.group(1).decode("ascii"))
        if where is not None:
            self.unsaved.append(where)
        return True

    def finish(self) -> str | None:
        """Why the sheet is not spelled as the fast routes assume, or None."""
        if self.unusual is None and self._tail and self._state != 2:
            self._scan(self._tail, len(self._tail))
        if self.unusual is None and self._state == 0:
            self.unusual = "no sheetData in the sheet's XML"
        self._tail = b""
        return self.unusual


def _find(buf: bytes, needle: bytes, pos: int, end: int, probe: int | None = None) -> int:
    """``buf.find(needle, pos, end)``, searched from the first of its byte ``probe`` (by
    default its second, its first for ``xmlns``): a one-byte search runs at memory speed,
    one for a needle that starts with the ubiquitous ``<`` or a space ten times slower, and
    in most sheets the probe byte never occurs."""
    if probe is None:
        probe = 0 if needle[:1] != b"<" else 1
    byte, at = needle[probe : probe + 1], pos + probe
    for _ in range(8):  # a few false hits (the ``!`` of a formula's ``Old!A:B``), one by one
        at = buf.find(byte, at, end)
        if at < 0:
            return -1
        if buf.startswith(needle, at - probe):
            return at - probe if at - probe + len(needle) <= end else -1
        at += 1
    return buf.find(needle, at - probe, end)


def _show(buf: bytes, at: int) -> str:
    """A short, printable excerpt of the tag at ``at``."""
    return buf[at : at + 40].decode("utf-8", "replace").split(">", 1)[0] + ">"
