"""Find the error cells (``#N/A``, ``#REF!`` ...) of a sheet part, which python-calamine loses.

python-calamine 0.9 returns an error cell as ``''``, the same as an empty cell, and no other
fast reader keeps them either (see reference/excel-traps.md); openpyxl keeps them but parses
every cell in Python, about 7x slower. So the reader takes calamine's values and overlays the
errors found here.

The scan streams the decompressed part in chunks and never parses every cell:

1. fast path: an error cell carries the attribute ``t="e"`` (or ``t='e'``). When the bytes
   ``"e"`` and ``'e'`` never occur, there is nothing to find: a substring search over the part
   at memory speed.
2. each occurrence is checked: is it inside a ``<c ...>`` start tag (any prefix) whose ``t``
   attribute is ``e``? Then the cell's ``<v>`` holds the error code and its ``r`` attribute the
   position. A formula's text (``IF(A1="e",...)``) also contains ``"e"``: it is rejected here.
3. when an error cell has no ``r`` attribute (some writers omit it; positions then count
   from the previous cell/row), the scan gives up and the exact reader reads the sheet.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from xl_ameyo.xlsx.cells import column_index

#: bytes read from the decompressed part at a time
CHUNK_SIZE = 1 << 20
#: bytes of a tag cut off at a chunk's end carried into the next one, at most: a longer
#: tail is text or blank space (a run of it must not make a scan re-read a growing buffer)
MAX_CARRY = 1 << 16


def carry(buf: bytes, cut: int) -> bytes:
    """``buf[cut:]`` to keep for the next chunk, or nothing when that is longer than
    :data:`MAX_CARRY` (what keeps every chunked scan linear)."""
    return buf[cut:] if len(buf) - cut <= MAX_CARRY else b""

_PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"
_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"c\s[^<>]*>")
_CELL_CLOSE = re.compile(rb"</" + _PREFIX + rb"c\s*>")
_VALUE = re.compile(
    rb"<" + _PREFIX + rb"v(?:\s[^<>]*)?(?:/>|>([^<]*)</" + _PREFIX + rb"v\s*>)"
)
#: the attributes an error cell is recognised by, in its start tag (any order, any quotes)
_T_IS_E = re.compile(rb"\st\s*=\s*[\"']e[\"']")
_R_ATTR = re.compile(rb"\sr\s*=\s*[\"']\s*\$?([A-Za-z]{1,3})\$?([0-9]+)\s*[\"']")
_HAS_R = re.compile(rb"\sr\s*=")
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")


def parse_cell_ref(ref: str) -> tuple[int, int] | None:
    """``"B3"`` -> ``(2, 1)`` (0-based row, column); None when it is not a cell reference."""
    m = _CELL_REF.fullmatch(ref.strip())
    if not m:
        return None
    row = int(m.group(2))
    if row < 1:
        return None
    return row - 1, column_index(m.group(1))


class _Scan:
    """Per-part memo: column letters and error codes repeat over a million cells."""

    def __init__(self) -> None:
        self.columns: dict[bytes, int] = {}
        self.codes: dict[bytes, str] = {}

    def column(self, letters: bytes) -> int:
        col = self.columns.get(letters)
        if col is None:
            col = self.columns[letters] = column_index(letters.decode("ascii"))
        return col

    def code(self, raw: bytes | None) -> str:
        if not raw:
            return ""
        code = self.codes.get(raw)
        if code is None:
            code = self.codes[raw] = html.unescape(raw.decode("utf-8", "replace")).strip()
        return code


class _NeedsPositions(Exception):
    """An error cell without an ``r`` attribute: positions must be counted."""


def _scan_buffer(
    buf: bytes, found: list[tuple[int, int, str]], final: bool, memo: _Scan
) -> int:
    """Record the error cells complete in ``buf``; return how many bytes are done with."""
    pos = 0
    # next occurrence of each quoting; -1 once there is none left (each searched at most
    # once per position, so many error cells do not make the scan quadratic)
    next_dq = buf.find(b'"e"')
    next_sq = buf.find(b"'e'")
    while True:
        if 0 <= next_dq < pos:
            next_dq = buf.find(b'"e"', pos)
        if 0 <= next_sq < pos:
            next_sq = buf.find(b"'e'", pos)
        p = next_dq if next_sq < 0 else next_sq if next_dq < 0 else min(next_dq, next_sq)
        if p < 0:
            break
        # only a tag after what is done with can be a new error cell
        tag_start = buf.rfind(b"<", pos, p)
        if tag_start < 0:
            pos = p + 3
            continue
        tag_end = buf.find(b">", p)
        if tag_end < 0:
            if final:
                break
            return tag_start
        tag = buf[tag_start : tag_end + 1]
        if not _CELL_TAG.fullmatch(tag) or not _T_IS_E.search(tag):
            pos = p + 3
            continue
        if tag.endswith(b"/>"):
            value = None
            end = tag_end + 1
        else:
            close = _CELL_CLOSE.search(buf, tag_end + 1)
            if close is None:
                if final:
                    break
                return tag_start
            value = _VALUE.search(buf, tag_end + 1, close.start())
            end = close.end()
        ref = _R_ATTR.search(tag)
        if ref is None:
            if _HAS_R.search(tag) is None:
                raise _NeedsPositions
            pos = end  # an r that is not a cell reference: not a cell anyone can place
            continue
        row = int(ref.group(2))
        if row >= 1:
            found.append((row - 1, memo.column(ref.group(1)),
                          memo.code(value.group(1) if value else None)))
        pos = end
    if final:
        return len(buf)
    # keep a tag that may be cut off at the end of the buffer for the next round
    last = buf.rfind(b"<", pos)
    return last if last >= 0 else len(buf)


def iter_chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's bytes, :data:`CHUNK_SIZE` at a time."""
    while True:
        chunk = stream.read(CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


class ErrorCellScanner:
    """Push-style scan: :meth:`feed` the decompressed part chunk by chunk, then
    :meth:`finish` (so one pass over the part can feed several scanners)."""

    def __init__(self) -> None:
        self._found: list[tuple[int, int, str]] = []
        self._memo = _Scan()
        self._buf = b""
        self._needs_positions = False

    def feed(self, chunk: bytes) -> None:
        if self._needs_positions:
            return
        buf = self._buf + chunk if self._buf else chunk
        try:
            done = _scan_buffer(buf, self._found, False, self._memo)
        except _NeedsPositions:
            self._needs_positions = True
            self._buf = b""
            return
        self._buf = carry(buf, done)

    def finish(self) -> list[tuple[int, int, str]] | None:
        """Error cells as (row, column, code), 0-based; None when some lack an ``r``
        attribute (the exact reader counts positions then).

        ``code`` is the cell's cached error text (``#N/A``); ``""`` when a writer left it
        out.
        """
        if not self._needs_positions:
            try:
                _scan_buffer(self._buf, self._found, True, self._memo)
            except _NeedsPositions:
                self._needs_positions = True
        self._buf = b""
        return None if self._needs_positions else self._found


def scan_error_cells_in_chunks(chunks: Iterable[bytes]) -> list[tuple[int, int, str]] | None:
    """:class:`ErrorCellScanner` over ``chunks``."""
    scanner = ErrorCellScanner()
    for chunk in chunks:
        scanner.feed(chunk)
    return scanner.finish()
