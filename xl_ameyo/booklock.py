"""One upload run per workbook at a time (SPEC §5: "Two runs at the same moment never both
send the same rows: the second waits for the first or stops with a clear line").

The lock covers the whole run (read, check, send, write the Log), for the command line and
the Excel add-in alike. It is an operating-system lock (``filelock``: ``flock`` on POSIX,
``msvcrt.locking`` on Windows) on a small file in the user's data folder named by the hash of
the workbook's path (:func:`xl_ameyo.ledger.workbook_key`), so it works for a workbook in
any folder (or known only by a URL) and leaves nothing next to it. The system releases the
lock of a process that died, however it died: a stale lock is taken over by the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from xl_ameyo.errors import WorkbookError
from xl_ameyo.ledger import LedgerError, data_dir, workbook_key

__all__ = ["WAIT_S", "BookBusy", "book_lock", "lock_path"]

#: how long a second run waits for the first before it stops (seconds)
WAIT_S = 5.0


class BookBusy(WorkbookError):
    """Another run holds the workbook's lock: nothing was sent."""

    hint = "Nothing was sent. Wait for it to finish, then run again"


def lock_path(book: str | os.PathLike) -> Path:
    digest = hashlib.sha256(workbook_key(book).encode("utf-8", "surrogatepass")).hexdigest()
    return data_dir() / "locks" / f"{digest[:32]}.lock"


@contextlib.contextmanager
def book_lock(book: str | os.PathLike, *, wait: float = WAIT_S,
              shown: str | None = None) -> Iterator[None]:
    """Hold the lock of ``book`` for the block; wait up to ``wait`` seconds for another run
    to let go, else raise :class:`BookBusy` naming it as ``shown`` (default: its name)."""
    name = shown or Path(os.fspath(book)).name
    path = lock_path(book)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(
            f"The lock folder {path.parent} cannot be made: {exc.strerror or exc}"
        ) from None
    lock = FileLock(path, timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise BookBusy(f"Another upload of {name} is running") from None
    except OSError as exc:
        raise LedgerError(
            f"The lock file {path} cannot be used: {exc.strerror or exc}"
        ) from None
    try:
        yield
    finally:
        lock.release()
