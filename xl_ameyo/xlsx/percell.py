"""The per-cell route: python-calamine's values of a sheet, corrected by the XML scans.

python-calamine (Rust) reads shared strings, inline and rich text, cached formula results and
number formats; what it gets wrong for us is fixed here from one streamed pass over the
sheet's XML (spelling.py proves the spelling those scans assume; anything else is read by the
exact reader, sheetxml.py):

- empty cells and error cells both come back as ``''``: ``None``, and the error cells found
  by :mod:`.scans` put back as :class:`~xl_ameyo.columns.CellError`;
- date cells get the kind their number format shows (:mod:`.scans`), numbers under a
  zero-padding format become :class:`~xl_ameyo.columns.PaddedNumber`.

python-calamine parses in a thread while the scan runs (both release the GIL for most of
their work); the sheet is handed over a block of :data:`BLOCK_ROWS` rows at a time, column by
column (no million Python lists). Inside ``XlsxBook.reading()`` one python-calamine workbook
serves every read (its shared strings parsed once), and the small sheets come from a mini
workbook holding only the shared strings they use (:mod:`.smallbook`).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import python_calamine

from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx import smallbook
from xl_ameyo.xlsx.package import damaged, open_zip, stream_member
from xl_ameyo.xlsx.scans import DateCellScanner, ErrorCellScanner, cell_ref, too_large
from xl_ameyo.xlsx.sheetxml import refused
from xl_ameyo.xlsx.spelling import CLASSIC_ERRORS, MAX_RUN, SpellingScanner

#: rows of python-calamine's output turned into columns at a time (small enough to stay in the
#: CPU caches; measured fastest between 1,024 and 65,536)
BLOCK_ROWS = 4096


@dataclass
class _Scans:
    """What the streamed pass over a sheet's XML found (:meth:`XlsxBook._scan_xml`)."""

    errors: list[tuple[int, int, str]]  # (row, column, code) of error cells
    dates: list[tuple[int, int, str]]  # (row, column, kind) of date cells to correct
    unsaved: list[tuple[int, int]]  # (row, column) of formulas without a saved result
    #: why the fast routes' scans cannot be trusted on this sheet (None: they can)
    unusual: str | None


@dataclass
class SheetColumns:
    """A sheet read column by column (:meth:`XlsxBook.read_columns`)."""

    header: list  # row 1, column A first (empty cells None)
    columns: list[list]  # columns[k]: column k's values in rows 2, 3, ... (all equally long)
    #: for each column, a superset of the types of its values
    kinds: list[set[type]] = field(default_factory=list)

    @property
    def height(self) -> int:
        """The number of rows below the header (to the last row holding a value)."""
        return len(self.columns[0]) if self.columns else 0


@dataclass
class SheetStream:
    """A sheet handed over a block of rows at a time (:meth:`XlsxBook.stream_columns`)."""

    header: list  # row 1, column A first (empty cells None), ``width`` values
    width: int  # columns, from A to the last one holding a value
    height: int  # rows below the header, to the last one holding a value
    #: the rows below the header, :data:`BLOCK_ROWS` at a time: each block is ``(columns,
    #: kinds)``, ``width`` sequences of equal length (A first) and for each a superset of
    #: the types in it. Consumed once.
    blocks: Iterator[tuple[list[Sequence], list[set[type]]]]
    #: (row, column), 0-based, of formula cells without a saved result (they read empty)
    unsaved: list[tuple[int, int]] = field(default_factory=list)
    #: read by the exact reader (tests tell the route by it)
    exact: bool = False


def _cell_error(code: str) -> Any:
    from xl_ameyo.columns import CellError

    return CellError(code or "#N/A")


class CalamineReads:
    """What ``XlsxBook`` reads through python-calamine (a mixin: it uses the book's path,
    package, sizes and reading state)."""

    path: Any
    _package: Any
    _date_kinds: dict[int, str]
    _depth: int
    _shared: python_calamine.CalamineWorkbook | None
    _small: _Small | None
    _small_members: frozenset[str]
    sizes: Any
    small_reads: int

    def scan_first(self, member: str) -> bool:  # see XlsxBook
        raise NotImplementedError

    @contextlib.contextmanager
    def _workbook(self) -> Iterator[python_calamine.CalamineWorkbook]:
        """The shared workbook inside :meth:`reading`, else one for this read only."""
        if self._depth:
            if self._shared is None:
                self._shared = self._open_calamine()
            yield self._shared
            return
        workbook = self._open_calamine()
        try:
            yield workbook
        finally:
            workbook.close()

    def _open_calamine(self) -> python_calamine.CalamineWorkbook:
        self.sizes.prove_opening()  # before python-calamine parses them, see PartSizes
        try:
            return python_calamine.CalamineWorkbook.from_path(os.fspath(self.path))
        except python_calamine.PasswordError:
            raise WorkbookFileError(
                f"The workbook {os.fspath(self.path)} is password-protected",
                hint="Remove the password in Excel and run again",
            ) from None
        except (python_calamine.CalamineError, ValueError, OSError) as exc:
            raise damaged(self.path, str(exc) or type(exc).__name__) from None

    @contextlib.contextmanager
    def _small_workbook(self, member: str) -> Iterator[python_calamine.CalamineWorkbook | None]:
        """The mini workbook if it holds ``member`` (shared inside :meth:`reading`), else
        None: the full workbook is to be read."""
        if member not in self._small_members:
            yield None
            return
        if self._depth:
            if self._small is None:
                self._small = _Small.open(smallbook.build(self.path, self._package))
            yield self._small.workbook_for(member)
            return
        small = _Small.open(smallbook.build(self.path, self._package))
        try:
            yield small.workbook_for(member)
        finally:
            small.close()

    def _read_rows(
        self, workbook: python_calamine.CalamineWorkbook, actual: str, member: str,
        mini: bool = False,
    ) -> tuple[list[list], _Scans] | None:
        """Sheet ``actual`` parsed by ``workbook``: its rows (empty cells None) and the
        scans of its XML; None when the scans cannot be trusted on it (the exact reader's)."""
        parsed = self._parse(workbook, actual, member, mini)
        if parsed is None:
            return None
        sheet, scans = parsed
        try:
            # skip_empty_area=False: row 0 is sheet row 1 and column 0 is column A, even
            # when the used range starts lower or further right
            rows = sheet.to_python(skip_empty_area=False)
        except python_calamine.CalamineError as exc:
            raise damaged(self.path, f"the sheet '{actual}' cannot be read ({exc})") from None
        del sheet
        from xl_ameyo.xlsx.tocolumns import _empty_to_none  # it imports this module

        _empty_to_none(rows)
        return rows, scans

    def _read_small(self, actual: str, member: str) -> tuple[list[list], _Scans] | None:
        """:meth:`_read_rows` from the mini workbook; None when it does not serve (the sheet
        is big, the mini workbook cannot be made, or reading it fails: the full workbook
        then gives today's values or errors)."""
        with self._small_workbook(member) as workbook:
            if workbook is None:
                return None
            try:
                read = self._read_rows(workbook, actual, member, mini=True)
            except BaseException as exc:
                if not _recoverable(exc):
                    raise
                return None
        if read is not None:
            self.small_reads += 1
        return read

    def _parse(
        self, workbook: python_calamine.CalamineWorkbook, name: str, member: str,
        mini: bool = False,
    ) -> tuple[python_calamine.CalamineSheet, _Scans] | None:
        """python-calamine's sheet ``name`` and the scans of its XML (:meth:`_scan_xml`);
        None when the scans find the sheet spelled otherwise than they assume (the exact
        reader reads it then).

        python-calamine parses in Rust without the GIL: it runs in a thread while this one
        scans the XML (for a full sheet, 4 s and 2 s that overlap on two cores). A part of
        :data:`SCAN_FIRST` bytes or more is scanned first, alone.
        """
        result: dict[str, Any] = {}
        first = self.scan_first(member)
        if first:
            scans = self._scan_xml(member)
            if scans.unusual is not None:
                return None

        def parse() -> None:
            try:
                if not mini:  # the mini workbook is made of parts read here
                    self.sizes.prove([member])
                result["sheet"] = workbook.get_sheet_by_name(name)
            except BaseException as exc:  # handed to the caller below
                result["error"] = exc

        worker = threading.Thread(target=parse, name="xl-ameyo-calamine", daemon=True)
        worker.start()
        try:
            if not first:
                scans = self._scan_xml(member)
        finally:
            worker.join()
        if scans.unusual is not None:
            return None
        error = result.get("error")
        if isinstance(error, python_calamine.CalamineError):
            raise damaged(self.path, f"the sheet '{name}' cannot be read ({error})") from None
        if error is not None:
            raise error
        return result["sheet"], scans

    def _check_extent(self, name: str, member: str) -> None:
        """Refuse a sheet too large to read (a stray far-away value would abort the process
        inside python-calamine, see scans.py)."""
        with open_zip(self.path) as zf:

            def open_part() -> BinaryIO:
                return zf.open(member)

            try:
                with open_part() as stream:
                    head = stream.read(1 << 16)
                corner = too_large(head, open_part, MAX_RUN)
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

    def _scan_xml(self, member: str) -> _Scans:
        """One streamed pass over the sheet's XML: its spelling proved (spelling.py), error
        cells, and date cells whose kind calamine guessed from the value."""
        spelling = SpellingScanner()
        errors_scan = ErrorCellScanner()
        dates_scan = DateCellScanner(self._date_kinds)
        with open_zip(self.path) as zf:
            for chunk in stream_member(zf, member, self.path):
                spelling.feed(chunk)
                if spelling.unusual is not None:
                    break
                errors_scan.feed(chunk)
                dates_scan.feed(chunk)
            else:  # to its end, as a proof reads it: not inflated again for python-calamine
                self.sizes.streamed(member)
        unusual = spelling.finish()
        if spelling.hostile is not None:
            raise refused(self.path, member, ValueError(spelling.hostile), hostile=True)
        errors = errors_scan.finish() if unusual is None else []
        if unusual is None and self._package.date1904:
            unusual = "the 1904 date system"
        newer = sorted({code for _, _, code in errors} - CLASSIC_ERRORS)
        if unusual is None and newer:
            unusual = f"the error code {newer[0]}"
        return _Scans(errors, dates_scan.finish(), spelling.unsaved, unusual)


class _Small:
    """python-calamine's workbook over a mini workbook (None when none could be made)."""

    def __init__(
        self, workbook: python_calamine.CalamineWorkbook | None, members: frozenset[str]
    ) -> None:
        self.workbook = workbook
        self.members = members

    @classmethod
    def open(cls, book: smallbook.SmallBook | None) -> _Small:
        if book is None:
            return cls(None, frozenset())
        try:
            workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(book.data))
        except BaseException as exc:  # the full workbook reports what is wrong
            if not _recoverable(exc):
                raise
            return cls(None, frozenset())
        return cls(workbook, book.members)

    def workbook_for(self, member: str) -> python_calamine.CalamineWorkbook | None:
        return self.workbook if member in self.members else None

    def close(self) -> None:
        if self.workbook is not None:
            workbook, self.workbook = self.workbook, None
            workbook.close()


def _recoverable(exc: BaseException) -> bool:
    """Whether a failure on the mini workbook is left to the full workbook to report: any
    error, and a panic in python-calamine (a BaseException), but not an interruption."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _release_arrow_memory() -> None:
    """Hand back to the system the memory freed by an Arrow attempt that did not qualify
    (a whole sheet's columns, fastexcel's shared strings) before python-calamine parses the
    sheet. The allocators keep freed memory for reuse: pyarrow's pool, and glibc's heap,
    which Python's own objects do not reuse; without this both reads count in the peak
    (1.6 GB instead of 1.4 for a full sheet with a mixed column)."""
    pa = sys.modules.get("pyarrow")  # only if it was used
    if pa is None:
        return
    with contextlib.suppress(Exception):
        pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # glibc only (musl has no malloc_trim)
            ctypes.CDLL(None).malloc_trim(0)
