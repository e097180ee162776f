""":class:`~xl_ameyo.checks.CheckedData` -> the CSV that is sent (SPEC §3).

UTF-8 without a byte-order mark, comma-separated, RFC 4180 quoting (``csv`` module,
``QUOTE_MINIMAL``: a field is quoted only when it holds a comma, a quote, CR or LF; quotes are
doubled), CRLF line ends, the header row first. ``start``/``stop`` pick a slice of the valid
rows (Python slice rules) so a large sheet can be sent as several uploads, each with the
header. The rows are written in chunks: memory stays bounded beyond the CheckedData itself.
The SHA-256 is of exactly the bytes written.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO

from xl_ameyo.checks import CheckedData

__all__ = ["CHUNK_ROWS", "CsvInfo", "write_csv"]

#: rows per chunk written to the stream
CHUNK_ROWS = 16_384


@dataclass(frozen=True)
class CsvInfo:
    sha256: str  # hex digest of the bytes written
    bytes: int  # number of bytes written
    rows: int  # data rows written (the header not counted)


def write_csv(
    data: CheckedData, out: BinaryIO, *, start: int = 0, stop: int | None = None
) -> CsvInfo:
    """Write the header and the valid rows ``[start:stop]`` to the binary stream ``out``."""
    total = len(data.row_numbers)
    first, last, _ = slice(start, stop).indices(total)
    last = max(first, last)
    digest = hashlib.sha256()
    size = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")

    def flush() -> None:
        nonlocal size
        chunk = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)

    writer.writerow(data.header)
    columns = data.columns
    for a in range(first, last, CHUNK_ROWS):
        b = min(a + CHUNK_ROWS, last)
        writer.writerows(zip(*(col[a:b] for col in columns), strict=True))
        flush()
    if buffer.tell():
        flush()
    return CsvInfo(sha256=digest.hexdigest(), bytes=size, rows=last - first)
