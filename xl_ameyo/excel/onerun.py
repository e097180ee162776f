"""One upload per workbook at a time, whatever the clicks.

On Windows, Excel waits for ``RunPython`` (it is frozen during the call), so clicks cannot
overlap there. On macOS, xlwings' AppleScript starts Python in the background and Excel stays
usable: a second click on "Upload leads" starts a second Python while the first is still
asking, reading or sending. The second must not upload the same rows again.

The guard is an operating-system lock on a small file per workbook in the temp folder
(``filelock``: ``fcntl.flock`` on macOS/Linux, ``msvcrt.locking`` on Windows). The system
drops the lock when its process ends, however it ends, so a crashed or killed run never leaves
the workbook locked. The file is named after a hash of the workbook's full name: the same
workbook, wherever it is opened from, is the same lock; two workbooks do not block each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xl_ameyo.errors import XlAmeyoError

__all__ = ["AlreadyRunning", "lock_path", "one_run"]

#: where the lock files go (None: the temp folder; tests give each run its own folder)
LOCK_FOLDER: Path | None = None


class AlreadyRunning(XlAmeyoError):
    """An upload of this workbook is already running."""

    exit_code = 3


def lock_path(workbook: str) -> Path:
    """The lock file of the workbook whose full name (path or URL) is ``workbook``."""
    digest = hashlib.sha256(workbook.strip().casefold().encode("utf-8")).hexdigest()[:16]
    folder = LOCK_FOLDER if LOCK_FOLDER is not None else Path(tempfile.gettempdir())
    return folder / f"xl_ameyo-upload-{digest}.lock"


@contextlib.contextmanager
def one_run(workbook: str, *, what: str = "An upload") -> Iterator[None]:
    """Hold the workbook's lock for the ``with`` block; AlreadyRunning when another process
    (or another run in this one) holds it."""
    try:
        from filelock import FileLock, Timeout
    except ImportError:  # an install without the [excel] extra's filelock: as before, unguarded
        yield
        return

    lock = FileLock(lock_path(workbook), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise AlreadyRunning(
            f"{what} from this workbook is already running",
            hint="Wait for its message, then click again (nothing was started now)",
        ) from None
    except OSError:  # no writable temp folder: xlwings' own log needs it too; run unguarded
        yield
        return
    try:
        yield
    finally:
        lock.release()
