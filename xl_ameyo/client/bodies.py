"""The CSV to send, as a binary file object with a known length (the multipart encoder
streams it from there)."""

from __future__ import annotations

import io
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any

from xl_ameyo.errors import XlAmeyoError

#: What ``csv`` may be: a path, a binary file object, or an iterable of ``bytes`` chunks.
CsvSource = str | os.PathLike | IO[bytes] | Iterable[bytes]
#: Spool chunk size for iterables and unsized streams.
_COPY_CHUNK = 1 << 20


def _is_regular_file(obj: Any) -> bool:
    try:
        return stat.S_ISREG(os.fstat(obj.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


@contextmanager
def open_csv(source: CsvSource) -> Iterator[IO[bytes]]:
    """A binary file object with a known length for ``source``; iterables and unsized streams
    are spooled to a temporary file first (never joined in memory)."""
    with ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            try:
                file = stack.enter_context(open(source, "rb"))
            except OSError as e:
                raise XlAmeyoError(
                    f"Cannot read the CSV file {os.fspath(source)}: {e.strerror or e}"
                ) from None
            yield file
            return
        if isinstance(source, (bytes, bytearray, memoryview)):
            yield io.BytesIO(bytes(source))
            return
        if isinstance(source, io.TextIOBase):
            raise TypeError("csv must be opened in binary mode ('rb')")
        if hasattr(source, "read"):
            if _is_regular_file(source) or isinstance(source, io.BytesIO):
                yield source  # type: ignore[misc]
                return
            chunks: Iterable[bytes] = iter(lambda: source.read(_COPY_CHUNK), b"")  # type: ignore[union-attr]
        else:
            chunks = source  # type: ignore[assignment]
        spool = stack.enter_context(tempfile.TemporaryFile(prefix="xl_ameyo-", suffix=".csv"))
        for chunk in chunks:
            if isinstance(chunk, str):
                raise TypeError("csv chunks must be bytes, not str")
            spool.write(chunk)
        spool.seek(0)
        yield spool

