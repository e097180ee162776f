"""Refuse a workbook file that cannot be replaced safely, before anything is sent.

The Log row is written by replacing the file (:mod:`.atomic`): that must be possible, or the
upload would reach Ameyo with no record in the workbook. Excel and LibreOffice say that they
have a workbook open only through the lock files they keep next to it (and, on Windows, a
deny-write share mode), so those are what is checked.
"""

from __future__ import annotations

import os
from pathlib import Path

from xl_ameyo.errors import WorkbookFileError

__all__ = ["check_writable"]

_EXCEL_LOCK = "~$"
_LIBREOFFICE_LOCK = (".~lock.", "#")


def _lock_files(target: Path) -> list[Path]:
    """Lock files Excel or LibreOffice keep next to a workbook they have open.

    Excel: ``~$NAME.xlsx`` (the whole name; it is Word that shortens long names, so the
    shortened form is not checked: it would match another workbook's lock). LibreOffice:
    ``.~lock.NAME.xlsx#``.
    """
    name = target.name
    candidates = [
        target.with_name(_EXCEL_LOCK + name),
        target.with_name(_LIBREOFFICE_LOCK[0] + name + _LIBREOFFICE_LOCK[1]),
    ]
    return [c for c in candidates if c.exists()]


def check_writable(path: str | os.PathLike) -> None:
    """Raise :class:`WorkbookFileError` when the workbook cannot be replaced safely.

    Called before an upload, so nothing is sent that cannot be logged: the workbook is open
    in Excel or LibreOffice (their lock file is next to it, or on Windows the file cannot be
    opened for writing), the file is read-only, or its folder is not writable (the new file
    is written there first).
    """
    shown = os.fspath(path)
    given = Path(path)
    if not given.exists():
        raise WorkbookFileError(
            f"The workbook {shown} does not exist", hint="Check the file name and folder"
        )
    target = Path(os.path.realpath(given))
    if target.is_dir():
        raise WorkbookFileError(
            f"{shown} is a folder, not a workbook", hint="Give the path of the .xlsx/.xlsm file"
        )
    locks = _lock_files(target) or (_lock_files(given) if given != target else [])
    if locks:
        app = "LibreOffice" if locks[0].name.startswith(".~lock.") else "Excel"
        raise WorkbookFileError(
            f"The workbook {shown} is open in {app} (its lock file {locks[0].name} is next to "
            "it), so the Log row cannot be written",
            hint=f"Close it in {app} and run again; if it is not open anywhere, delete "
            f"{locks[0].name}",
        )
    st = target.stat()
    if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise WorkbookFileError(
            f"The workbook {shown} is read-only, so the Log row cannot be written",
            hint="Make it writable (file properties) and run again",
        )
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise WorkbookFileError(
            f"The folder of {shown} is not writable, so the updated workbook cannot be saved",
            hint="Move the workbook to a folder you can write to and run again",
        )
    if os.name == "nt":
        # Excel holds an open workbook with a deny-write share mode: opening it for
        # writing fails with a sharing violation (nothing is written here)
        try:
            with open(target, "r+b"):
                pass
        except PermissionError:
            raise WorkbookFileError(
                f"The workbook {shown} is open in another program (Excel?), so the Log row "
                "cannot be written",
                hint="Close it in Excel and run again",
            ) from None
        except OSError as exc:
            raise WorkbookFileError(
                f"The workbook {shown} cannot be opened for writing: {exc.strerror or exc}",
                hint="Close it in Excel (or make it writable) and run again",
            ) from None
