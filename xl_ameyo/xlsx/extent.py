"""Refuse a sheet whose cells span an area too large to read, before python-calamine tries.

python-calamine builds a sheet as a dense grid from its first to its last value cell. One
stray value far from the data (``XFD1048576``, typed by mistake) makes that grid 17 billion
cells: the allocation fails inside Rust and the process aborts — no exception, no message,
no Log row (measured with python-calamine 0.9.1). So the extent is checked first:

1. the ``<dimension ref>`` at the top of the sheet part (an upper bound: it counts formatted
   cells too) — when its area is small enough, nothing else is read;
2. otherwise the part is streamed and the last row and column of the cells that can hold a
   value (not self-closing ``<c .../>``) are found — a sheet that is only *formatted* far out
   reads fine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import BinaryIO

from xl_ameyo.xlsx.errorcells import carry, iter_chunks, parse_cell_ref
from xl_ameyo.xlsx.spelling import MAX_RUN

#: cells (rows x columns, from A1) read at most: about 3 GB at the peak of a read. A sheet of
#: 1,048,576 rows x 47 columns fits.
MAX_CELLS = 50_000_000

_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)")
#: start tag of a cell that is not self-closing, with its reference
_VALUE_CELL = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?c\s[^>]*?\br\s*=\s*[\"']\$?([A-Z]{1,3})\$?([0-9]+)[\"'][^>]*(?<!/)>"
)


def _area(last_row: int, last_col: int) -> int:
    return (last_row + 1) * (last_col + 1)


def dimension_corner(head: bytes) -> tuple[int, int] | None:
    """The bottom-right (row, column) of the ``<dimension ref>`` in the part's first bytes."""
    m = _DIMENSION.search(head)
    if m is None:
        return None
    return parse_cell_ref(m.group(1).decode("ascii", "replace").split(":")[-1])


def value_extent(stream: BinaryIO) -> tuple[int, int]:
    """(last row, last column), 0-based, of the cells that can hold a value; (-1, -1) when
    there are none."""
    last_row = last_col = -1
    col_letters = b""
    buf = b""
    blank = 0  # bytes since the last '<': a hostile run is left to the scan to refuse
    for chunk in iter_chunks(stream):
        tag = chunk.rfind(b"<")
        blank = blank + len(chunk) if tag < 0 else len(chunk) - tag
        if blank > MAX_RUN:
            break
        buf = buf + chunk if buf else chunk
        cut = buf.rfind(b"<")
        if cut < 0:
            cut = len(buf)
        refs = _VALUE_CELL.findall(buf, 0, cut)
        if refs:
            last_row = max(last_row, max(int(row) for _, row in refs) - 1)
            widest = max({letters for letters, _ in refs}, key=lambda s: (len(s), s))
            if (len(widest), widest) > (len(col_letters), col_letters):
                col_letters = widest
        buf = carry(buf, cut)
    if col_letters:
        where = parse_cell_ref(col_letters.decode("ascii") + "1")
        last_col = where[1] if where else -1
    return last_row, last_col


def too_large(head: bytes, open_part: Callable[[], BinaryIO]) -> tuple[int, int] | None:
    """None when the sheet is small enough to read; else its (last row, last column)."""
    corner = dimension_corner(head)
    if corner is not None and _area(*corner) <= MAX_CELLS:
        return None
    with open_part() as stream:
        last_row, last_col = value_extent(stream)
    if _area(last_row, last_col) <= MAX_CELLS:
        return None
    return last_row, last_col
