"""Read a sheet of an .xlsx/.xlsm file the way the analyst sees it, fast and without Excel.

python-calamine (Rust) does the bulk of the work: shared strings, inline and rich text, cached
formula results, number formats -> dates. What it gets wrong for us is fixed here:

- empty cells come back as ``''``: they become ``None`` (an empty text cell is empty to the
  analyst too);
- error cells (``#N/A``, ``#REF!``, a formula whose cached result is ``#DIV/0!``) come back as
  ``''`` as well: they are found in the sheet's XML (:mod:`.errorcells`) and put back as
  :class:`~xl_ameyo.values.CellError`;
- date cells get the kind (date, date-time, time) their number format shows (below).

Values by kind, as python-calamine 0.9 gives them (kept as they are):

- numbers: ``float`` always (``42`` -> ``42.0``), whatever the number format (``0.00%``
  -> ``0.5``, text-formatted ``@`` number -> ``5.0``);
- booleans: ``bool``; text (shared, inline, rich, formula ``t="str"``): ``str`` with spaces
  kept and ``_xHHHH_`` escapes decoded; phonetic runs are left out;
- date formats: ``datetime.date`` when the serial has no time part, else
  ``datetime.datetime``; a serial below 1 -> ``datetime.time``; ``[h]:mm``-style elapsed
  formats -> ``datetime.timedelta``; ISO cells (``t="d"``) -> ``datetime``. The kind follows
  the value, not the format: corrected here from the format (:mod:`.datecells`), so a
  date-time format holding midnight is a ``datetime``, a date format holding a time part a
  ``date``, a time format holding a serial of 1 or more a ``time``.

The file is opened for each read and closed afterwards: no handle stays open between reads
(on Windows an open handle would stop the Log writer from replacing the file).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, BinaryIO

import python_calamine

from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx.cells import cell_ref
from xl_ameyo.xlsx.datecells import DateCellScanner, correct_dates, style_kinds
from xl_ameyo.xlsx.errorcells import (
    ErrorCellScanner,
    iter_chunks,
    scan_error_cells_by_position,
)
from xl_ameyo.xlsx.extent import too_large
from xl_ameyo.xlsx.package import Package, damaged, open_zip, read_member, read_package


def _cell_error(code: str) -> Any:
    # values.py is another module's; import it where it is needed (see the design notes)
    from xl_ameyo.values import CellError

    return CellError(code or "#N/A")


class XlsxBook:
    """A workbook file read headless: sheet names, and whole sheets as lists of rows."""

    def __init__(self, path: str | os.PathLike) -> None:
        """Check that ``path`` is a readable .xlsx/.xlsm workbook and list its sheets.

        Raises :class:`WorkbookFileError` when it is missing, not a workbook (an .xls, a CSV
        renamed, an .xlsb) or damaged.
        """
        self.path = path
        with open_zip(path) as zf:
            self._package: Package = read_package(zf, path)
            styles = self._package.styles_member
            #: cell style index -> kind of date format (see datecells.py)
            self._date_kinds = style_kinds(read_member(zf, styles, path)) if styles else {}
        if self._package.workbook_member.casefold() != "xl/workbook.xml":
            # python-calamine only looks for the workbook part at xl/workbook.xml
            raise WorkbookFileError(
                f"The workbook {os.fspath(path)} has an unusual layout that cannot be read "
                f"(its workbook part is {self._package.workbook_member})",
                hint="Open it in Excel, save it again as .xlsx and run again",
            )
        # from workbook.xml, as python-calamine lists them (not opened here: it would parse
        # the shared strings, 0.6 s for a million of them, only to list the sheets)
        self.sheet_names: list[str] = [sheet.name for sheet in self._package.sheets]

    def _open_calamine(self) -> python_calamine.CalamineWorkbook:
        try:
            return python_calamine.CalamineWorkbook.from_path(os.fspath(self.path))
        except python_calamine.PasswordError:
            raise WorkbookFileError(
                f"The workbook {os.fspath(self.path)} is password-protected",
                hint="Remove the password in Excel and run again",
            ) from None
        except (python_calamine.CalamineError, ValueError, OSError) as exc:
            raise damaged(self.path, str(exc) or type(exc).__name__) from None

    def find_sheet(self, name: str) -> str | None:
        """The actual name of sheet ``name``, matched case-insensitively; None if missing."""
        if name in self.sheet_names:
            return name
        folded = name.strip().casefold()
        for actual in self.sheet_names:
            if actual.strip().casefold() == folded:
                return actual
        return None

    def read_sheet(self, name: str) -> list[list]:
        """All rows of sheet ``name`` (found case-insensitively) as the analyst sees them.

        Row 0 is sheet row 1 and column 0 is column A, wherever the data starts. Empty cells
        are ``None``; error cells are ``CellError``; rows may be ragged (a cell missing at
        the end of a row is empty).
        """
        actual = self.find_sheet(name)
        if actual is None:
            raise WorkbookFileError(
                f"The workbook {os.fspath(self.path)} has no sheet '{name}'",
                hint=f"Sheets in it: {', '.join(self.sheet_names) or '(none)'}",
            )
        part = self._package.find_sheet(actual)
        if part is not None and part.kind != "worksheet":
            raise WorkbookFileError(
                f"The sheet '{actual}' of {os.fspath(self.path)} is a {part.kind}, not a "
                "worksheet with cells",
                hint="Choose a worksheet",
            )
        if part is None or part.member is None:
            raise damaged(self.path, f"the part holding sheet '{actual}' cannot be found")
        self._check_extent(actual, part.member)
        workbook = self._open_calamine()
        try:
            sheet = workbook.get_sheet_by_name(actual)
            # skip_empty_area=False: row 0 is sheet row 1 and column 0 is column A, even when
            # the used range starts lower or further right
            rows = sheet.to_python(skip_empty_area=False)
            del sheet
        except python_calamine.CalamineError as exc:
            raise damaged(self.path, f"the sheet '{actual}' cannot be read ({exc})") from None
        finally:
            workbook.close()
        _empty_to_none(rows)
        self._correct_from_xml(rows, part.member)
        return rows

    def _check_extent(self, name: str, member: str) -> None:
        """Refuse a sheet too large to read (a stray far-away value would abort the process
        inside python-calamine, see extent.py)."""
        with open_zip(self.path) as zf:

            def open_part() -> BinaryIO:
                return zf.open(member)

            try:
                with open_part() as stream:
                    head = stream.read(1 << 16)
                corner = too_large(head, open_part)
            except Exception as exc:  # zlib.error, BadZipFile ...
                raise damaged(self.path, f"the part {member} cannot be read ({exc})") from None
        if corner is not None:
            rows, cols = corner[0] + 1, corner[1] + 1
            raise WorkbookFileError(
                f"The sheet '{name}' of {os.fspath(self.path)} reaches cell "
                f"{cell_ref(*corner)} ({rows:,} rows x {cols:,} columns), too large to read",
                hint="A stray value far from the data? In Excel press Ctrl+End on that sheet, "
                "delete the rows and columns beyond the data, save and run again",
            )

    def _correct_from_xml(self, rows: list[list], member: str) -> None:
        """One streamed pass over the sheet's XML: error cells, and date cells whose kind
        calamine guessed from the value."""
        errors_scan = ErrorCellScanner()
        dates_scan = DateCellScanner(self._date_kinds)
        with open_zip(self.path) as zf:
            try:
                with zf.open(member) as stream:
                    for chunk in iter_chunks(stream):
                        errors_scan.feed(chunk)
                        dates_scan.feed(chunk)
                errors = errors_scan.finish()
                if errors is None:  # error cells without r: count positions
                    with zf.open(member) as stream:
                        errors = scan_error_cells_by_position(stream)
            except Exception as exc:  # zlib.error, BadZipFile, ParseError ...
                raise damaged(self.path, f"the part {member} cannot be read ({exc})") from None
        correct_dates(rows, dates_scan.finish())
        if errors:
            put_cells(rows, errors, _cell_error)


def _empty_to_none(rows: list[list]) -> None:
    """Replace calamine's ``''`` (empty cell, empty text, error) by ``None``, in place.

    In place and by ``list.index`` (a C loop) because this touches every cell of sheets with
    a million rows: about 0.45 s per 10 million cells against 2.2 s for a comprehension.
    """
    for row in rows:
        i = -1
        try:
            while True:
                i = row.index("", i + 1)
                row[i] = None
        except ValueError:
            pass


def put_cells(
    rows: list[list], cells: list[tuple[int, int, str]], make: Callable[[str], Any]
) -> None:
    """Put ``make(code)`` at each (row, column), growing the rows where needed.

    One value per code is made and shared (``CellError`` is immutable): a column of a
    million ``#N/A`` holds one object.
    """
    made: dict[str, Any] = {}
    for r, c, code in cells:
        value = made.get(code)
        if value is None:
            value = made[code] = make(code)
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        row[c] = value
