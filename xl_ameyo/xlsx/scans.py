"""Byte scans of a sheet part for what the fast libraries lose, and the cell references they read.

python-calamine and fastexcel return an error cell as empty, pick a date cell's Python type
from its value rather than its format, and know nothing of zero-padding formats (see
reference/excel-traps.md). The reader takes their values and corrects them from these scans
of the streamed sheet XML:

- :class:`ErrorCellScanner`: the error cells (``t="e"``) and their cached codes;
- :class:`DateCellScanner`: the date cells whose style and cached value disagree the way
  python-calamine guesses wrong (a fraction under a date format, a whole number under a
  date-time format, 1 or more under a time format) and every number under a zero-padding
  format; :func:`corrected` gives them the kind their format shows;
- :func:`too_large`: a sheet whose cells span an area python-calamine cannot allocate (one
  stray value at ``XFD1048576`` aborts the process inside Rust), refused before it is read.

The first two assume Excel's spelling of a cell (``<c r="B7" s="3" t="e">``: ``r``, ``s``,
``t`` in that order, double quotes, no prefix), which :mod:`.spelling` (the per-cell route)
or :mod:`.celltypes` (the Arrow route) proves on every cell of the same pass: a sheet spelled
otherwise is read by the exact reader and these results are not used. So each is one regular
expression anchored on a literal, run in C, and a substring test that skips chunks without a
candidate. The extent scan runs before anything is proved and reads any spelling. Every scan
is linear: a cut-off tag carries at most :data:`MAX_CARRY` bytes into the next chunk.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from collections.abc import Callable
from typing import BinaryIO

from xl_ameyo.cells import column_letter
from xl_ameyo.xlsx.formats import DATE, DATETIME, TIME, Style

#: bytes read from a decompressed part at a time (the extent scan)
CHUNK_SIZE = 1 << 20
#: bytes of a tag cut off at a chunk's end carried into the next one, at most: a longer
#: tail is text or blank space (a run of it must not make a scan re-read a growing buffer)
MAX_CARRY = 1 << 16
#: cells (rows x columns, from A1) read at most: about 3 GB at the peak of a read. A sheet of
#: 1,048,576 rows x 47 columns fits.
MAX_CELLS = 50_000_000

_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")


def column_index(letters: str | bytes) -> int:
    """``A`` -> 0, ``Z`` -> 25, ``AA`` -> 26 (text or bytes, any case)."""
    raw = letters.encode("ascii") if isinstance(letters, str) else letters
    col = 0
    for ch in raw.upper():
        col = col * 26 + ch - 64
    return col - 1


def cell_ref(row: int, col: int) -> str:
    """0-based (row, column) -> ``B3``."""
    return f"{column_letter(col)}{row + 1}"


def parse_cell_ref(ref: str) -> tuple[int, int] | None:
    """``"B3"`` -> ``(2, 1)`` (0-based row, column); None when it is not a cell reference."""
    m = _CELL_REF.fullmatch(ref.strip())
    if not m or int(m.group(2)) < 1:
        return None
    return int(m.group(2)) - 1, column_index(m.group(1))


def carry(buf: bytes, cut: int) -> bytes:
    """``buf[cut:]`` to keep for the next chunk, or nothing when that is longer than
    :data:`MAX_CARRY` (what keeps every chunked scan linear)."""
    return buf[cut:] if len(buf) - cut <= MAX_CARRY else b""


def _cut(buf: bytes, literal: bytes = b"<c ") -> int:
    """Where the last (perhaps cut-off) cell of ``buf`` starts: it waits for the next chunk."""
    at = buf.rfind(literal)
    return at if at >= 0 else max(len(buf) - len(literal) + 1, 0)


# --- error cells ----------------------------------------------------------------------------

#: an error cell that is not self-closing (one without a value is empty, as the exact reader
#: reads it)
_ERROR_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"(?: s="[0-9]+")? t="e"[^<>]*(?<!/)>')
_VALUE = re.compile(rb"<v>([^<]*)</v>")


class ErrorCellScanner:
    """Push-style: :meth:`feed` the decompressed part chunk by chunk, then :meth:`finish`
    (one pass over the part feeds several scanners)."""

    def __init__(self) -> None:
        self._found: list[tuple[int, int, str]] = []
        self._columns: dict[bytes, int] = {}
        self._codes: dict[bytes, str] = {}
        self._buf = b""

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        buf = self._buf + chunk if self._buf else chunk
        end = len(buf) if final else _cut(buf)
        # each t="e" (a one-pass search), then its cell's tag matched where it starts: the
        # work goes with the error cells, not with every cell of a chunk holding one
        at, done = buf.find(b't="e"', 0, end), 0
        while at >= 0:
            start = buf.rfind(b"<c ", done, at)
            m = _ERROR_CELL.match(buf, start, end) if start >= 0 else None
            if m is not None and m.end() > at:  # this t="e" is the cell's type
                # its value lies before its </c> and before the next cell (a cell not
                # closed holds none: not the next one's)
                close = buf.find(b"</c>", m.end(), end)
                after = buf.find(b"<c ", m.end(), end)
                closed = close >= 0 and (after < 0 or close < after)
                value = _VALUE.search(buf, m.end(), close) if closed else None
                if value is not None:
                    self._found.append((int(m.group(2)) - 1, self._column(m.group(1)),
                                        self._code(value.group(1))))
                done = m.end()
            at = buf.find(b't="e"', max(at + 1, done), end)
        self._buf = b"" if final else carry(buf, end)

    def _column(self, letters: bytes) -> int:
        col = self._columns.get(letters)
        if col is None:
            col = self._columns[letters] = column_index(letters)
        return col

    def _code(self, raw: bytes) -> str:
        code = self._codes.get(raw)
        if code is None:
            code = self._codes[raw] = html.unescape(raw.decode("utf-8", "replace")).strip()
        return code

    def finish(self) -> list[tuple[int, int, str]]:
        """Error cells as (row, column, code), 0-based; ``code`` is the cell's cached error
        text (``#N/A``)."""
        if self._buf:
            self.feed(b"", final=True)
        return self._found


# --- date cells and zero padding ------------------------------------------------------------

#: cached values that mismatch each kind (see the module docstring)
_MISMATCH = {
    DATE: rb"[0-9]+\.[0-9]*[1-9][0-9]*",
    DATETIME: rb"[0-9]+(?:\.0*)?",
    TIME: rb"[1-9][0-9]*(?:\.[0-9]*)?",
}
#: the cached values under a zero-padding format: every number (the rules pad whole ones)
_WHOLE = rb"-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
_LITERAL = b'<c r="'


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
    """Push-style scan for the cells :func:`corrected` must correct."""

    def __init__(self, kinds: dict[int, str]) -> None:
        self._kinds = kinds
        self._buf = b""
        self._columns: dict[bytes, int] = {}
        self.found: list[tuple[int, int, str]] = []
        branches = []
        for kind in sorted(set(kinds.values())):
            ids = sorted((i for i, k in kinds.items() if k == kind), reverse=True)
            branches.append(b"(?P<" + kind.encode() + b">" + b"|".join(
                str(i).encode() for i in ids) + rb')"(?: t="n")?>(?:<f[^>]*/>|<f[^>]*>[^<]*'
                rb"</f>)?<v>(?:" + _MISMATCH.get(kind, _WHOLE) + b")</v>")
        self._regex = re.compile(re.escape(_LITERAL) + rb'([A-Z]{1,3})([0-9]+)" s="(?:'
                                 + b"|".join(branches) + b")")

    def feed(self, chunk: bytes) -> None:
        if not self._kinds:
            return
        buf = self._buf + chunk if self._buf else chunk
        last_end = 0
        for m in self._regex.finditer(buf):
            col = self._columns.get(m.group(1))
            if col is None:
                col = self._columns[m.group(1)] = column_index(m.group(1))
            self.found.append((int(m.group(2)) - 1, col, m.lastgroup or ""))
            last_end = m.end()
        self._buf = carry(buf, max(last_end, _cut(buf, _LITERAL)))

    def finish(self) -> list[tuple[int, int, str]]:
        """(row, column, kind) of the cells to correct, 0-based."""
        self._buf = b""
        return self.found


def correct_dates(rows: list[list], cells: list[tuple[int, int, str]]) -> None:
    """Give each cell found the kind its format shows (only calamine's date/datetime
    values are touched)."""
    for r, c, kind in cells:
        if r < len(rows) and c < len(rows[r]):
            rows[r][c] = corrected(rows[r][c], kind)


def corrected(value: object, kind: str) -> object:
    """``value`` as the kind ``kind`` of its number format: date format -> ``date``,
    date-time format -> ``datetime``, time format -> ``time``, a number under a zero-padding
    format -> :class:`~xl_ameyo.columns.PaddedNumber`."""
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


# --- the extent: runaway sheets ---------------------------------------------------------------

_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)")
#: start tag of a cell that is not self-closing, with its reference (any spelling)
_VALUE_CELL = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?c\s[^>]*?\br\s*=\s*[\"']\$?([A-Z]{1,3})\$?([0-9]+)[\"'][^>]*(?<!/)>"
)


def _area(last_row: int, last_col: int) -> int:
    return (last_row + 1) * (last_col + 1)


def value_extent(stream: BinaryIO, max_run: int) -> tuple[int, int]:
    """(last row, last column), 0-based, of the cells that can hold a value (not
    self-closing ``<c .../>``: a sheet only *formatted* far out reads fine); (-1, -1) when
    there are none. A run of ``max_run`` bytes without a tag ends the scan (the spelling
    scan refuses it)."""
    last_row = last_col = -1
    col_letters = b""
    buf = b""
    blank = 0  # bytes since the last '<'
    for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
        tag = chunk.rfind(b"<")
        blank = blank + len(chunk) if tag < 0 else len(chunk) - tag
        if blank > max_run:
            break
        buf = buf + chunk if buf else chunk
        cut = buf.rfind(b"<")
        cut = len(buf) if cut < 0 else cut
        refs = _VALUE_CELL.findall(buf, 0, cut)
        if refs:
            last_row = max(last_row, max(int(row) for _, row in refs) - 1)
            widest = max({letters for letters, _ in refs}, key=lambda s: (len(s), s))
            if (len(widest), widest) > (len(col_letters), col_letters):
                col_letters = widest
        buf = carry(buf, cut)
    if col_letters:
        last_col = column_index(col_letters)
    return last_row, last_col


def too_large(head: bytes, open_part: Callable[[], BinaryIO], max_run: int
              ) -> tuple[int, int] | None:
    """None when the sheet is small enough to read; else its (last row, last column). The
    ``<dimension ref>`` in the part's first bytes (``head``) is an upper bound (it counts
    formatted cells too): when its area is small enough nothing else is read."""
    m = _DIMENSION.search(head)
    corner = parse_cell_ref(m.group(1).decode("ascii", "replace").split(":")[-1]) if m else None
    if corner is not None and _area(*corner) <= MAX_CELLS:
        return None
    with open_part() as stream:
        last_row, last_col = value_extent(stream, max_run)
    return None if _area(last_row, last_col) <= MAX_CELLS else (last_row, last_col)

