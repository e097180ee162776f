"""Replace a file atomically: write a temporary file next to it, then ``os.replace`` it.

A crash, a full disk, an exception or a signal while writing leaves the original untouched
and no temporary file behind; readers see either the old file or the new one, never half of
one.

The new file must be a named file in the workbook's folder (``os.replace`` is atomic only
within one file system, and no system offers an atomic "link this anonymous file over that
name"), so a process killed outright (SIGKILL, power loss) between writing it and swapping it
in leaves it there: a copy of the workbook, customers' data. :func:`sweep` removes such
copies on a later write once they are :data:`STALE_AFTER` seconds old (a live run's own is
seconds old).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".~xl-ameyo-"
TEMP_SUFFIX = ".tmp"
#: the whole name of such a file (see :func:`temp_path_for`)
TEMP_NAME = re.escape(TEMP_PREFIX) + "[0-9a-f]{16}" + re.escape(TEMP_SUFFIX)
#: seconds after which a copy is taken for one of a killed run
STALE_AFTER = 6 * 3600


def sweep(
    folder: str | os.PathLike, *, older_than: float = STALE_AFTER, now: float | None = None
) -> list[Path]:
    """Remove the files in ``folder`` named exactly as :func:`temp_path_for` names them and
    last changed more than ``older_than`` seconds ago; the ones removed. Links are never
    followed; what cannot be removed (another user's, in use on Windows) is left alone.
    Never raises for a file system problem (it must not stop the write it precedes)."""
    now = time.time() if now is None else now
    pattern = re.compile(TEMP_NAME)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if now - info.st_mtime < older_than or not stat.S_ISREG(info.st_mode):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def temp_path_for(target: Path) -> Path:
    """A fresh temporary name in the target's folder (same file system: rename is atomic)."""
    return target.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles for this)."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _replace(tmp: Path, target: Path) -> None:
    """``os.replace``; on Windows retried briefly, as a virus scanner or the search indexer
    may hold the new file for a moment (a real lock, Excel's, persists and still fails)."""
    attempts = 5 if os.name == "nt" else 1
    for attempt in range(attempts):
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def replace_atomically(
    target: Path,
    write: Callable[[BinaryIO], None],
    *,
    verify: Callable[[Path], None] | None = None,
) -> None:
    """Write the new content of ``target`` with ``write(stream)``, then swap it in.

    The new file gets the original's permission bits (and, best effort on POSIX, its owner
    and group). ``verify(temp_path)`` may inspect the finished temporary file and raise to
    stop the replacement. Any exception leaves ``target`` as it was and is re-raised.
    """
    original = os.stat(target)
    sweep(target.parent)  # a killed run's copy of a workbook
    tmp = temp_path_for(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, stat.S_IMODE(original.st_mode))
        if hasattr(os, "chown"):
            with contextlib.suppress(OSError):
                made = os.stat(tmp)
                if (made.st_uid, made.st_gid) != (original.st_uid, original.st_gid):
                    os.chown(tmp, original.st_uid, original.st_gid)
        if verify is not None:
            verify(tmp)
        _replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(target.parent)
