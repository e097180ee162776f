"""What a killed run leaves behind, removed by a later run.

A run that is killed (power cut, ``kill -9``, Excel closed mid-upload) cannot clean up: its
folder with the CSV in the system temporary folder, or the half-written copy of a workbook
next to it, stays, with customers' data in it. Every run therefore removes the items that
carry xl-ameyo's own prefix and have not been touched for :data:`STALE_AFTER` seconds: a
live run's own are minutes old (a CSV folder lives as long as its upload, a workbook copy a
few seconds). Symbolic links are never followed; anything that cannot be removed (another
user's, in use on Windows) is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from pathlib import Path

#: seconds after which a leftover is taken for one of a killed run
STALE_AFTER = 6 * 3600


def sweep(
    folder: str | os.PathLike,
    name: str,
    *,
    folders: bool,
    older_than: float = STALE_AFTER,
    now: float | None = None,
) -> list[Path]:
    """Remove the folders (``folders``) or else the files in ``folder`` whose whole name
    matches the regular expression ``name`` and that were last changed more than
    ``older_than`` seconds ago; the ones removed. Never raises for a file system problem (a
    sweep must not stop the run it precedes)."""
    now = time.time() if now is None else now
    pattern = re.compile(name)
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
            if now - info.st_mtime < older_than:
                continue
            if folders and stat.S_ISDIR(info.st_mode):
                shutil.rmtree(entry.path)
            elif not folders and stat.S_ISREG(info.st_mode):
                os.unlink(entry.path)
            else:
                continue  # a link, or not the kind asked for
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed
