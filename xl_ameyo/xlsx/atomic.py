"""Replace a file atomically: write a temporary file next to it, then ``os.replace`` it.

A crash, a full disk or an exception while writing leaves the original untouched and no
temporary file behind (a killed process can: :mod:`xl_ameyo.leftovers` removes it later);
readers see either the old file or the new one, never half of one.
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

from xl_ameyo.leftovers import sweep

TEMP_PREFIX = ".~xl-ameyo-"
TEMP_SUFFIX = ".tmp"
#: the whole name of such a file (see :func:`temp_path_for`)
TEMP_NAME = re.escape(TEMP_PREFIX) + "[0-9a-f]{16}" + re.escape(TEMP_SUFFIX)


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
    sweep(target.parent, TEMP_NAME, folders=False)  # a killed run's copy of a workbook
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
