"""Read a sheet of an .xlsx/.xlsm file the way the analyst sees it, fast and without Excel.

python-calamine (Rust) does the bulk of the work: shared strings, inline and rich text, cached
formula results, number formats -> dates. What it gets wrong for us is fixed here:

- empty cells come back as ``''``: they become ``None`` (an empty text cell is empty to the
  analyst too);
- error cells (``#N/A``, ``#REF!``, a formula whose cached result is ``#DIV/0!``) come back as
  ``''`` as well: they are found in the sheet's XML (:mod:`.errorcells`) and put back as
  :class:`~xl_ameyo.columns.CellError`;
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
(on Windows an open handle would stop the Log writer from replacing the file). Inside
``with book.reading():`` one python-calamine workbook serves every read instead (its shared
strings, 0.7 s for a million of them, are parsed once), closed at the end of the block.

In a workbook with many shared strings, :meth:`XlsxBook.read_sheet` reads a small sheet
(Settings, Mapping, Log) from a mini workbook built in memory (:mod:`.smallbook`): the small
sheets and only the shared strings they use, so that python-calamine does not parse the data
sheet's million shared strings for them. Whenever the mini workbook cannot be made exactly, or
python-calamine fails on it, the full workbook is read as before (its errors are reported).

Speed on a full sheet (1,048,575 rows x 10 columns, see docs/performance.md):

- python-calamine parses the sheet in Rust without holding the GIL, so the streamed scan of
  the sheet's XML for error cells and date formats runs meanwhile, on the other core;
- the cyclic garbage collector is paused while the values become Python objects (it would
  re-scan the growing sheet again and again: 1.7 s instead of 0.6 s for ``to_python``);
- :meth:`XlsxBook.read_columns` gives the sheet column by column, as the checks use it,
  transposed from python-calamine's rows a few thousand at a time (no list per row kept).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import python_calamine

from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.gcpause import gc_paused
from xl_ameyo.xlsx import smallbook
from xl_ameyo.xlsx.cells import cell_ref
from xl_ameyo.xlsx.datecells import DateCellScanner, correct_dates, corrected, style_kinds
from xl_ameyo.xlsx.errorcells import ErrorCellScanner
from xl_ameyo.xlsx.extent import too_large
from xl_ameyo.xlsx.formats import Style, parse_styles
from xl_ameyo.xlsx.package import (
    MAX_BIG_PART,
    MAX_PART,
    MAX_SHARED,
    Package,
    damaged,
    open_zip,
    read_member,
    read_package,
    stream_member,
    too_big,
)
from xl_ameyo.xlsx.sheetxml import SheetRead, read_shared_strings, read_sheet_xml, refused
from xl_ameyo.xlsx.spelling import CLASSIC_ERRORS, SpellingScanner

#: rows of python-calamine's output turned into columns at a time (small enough to stay in the
#: CPU caches; measured fastest between 1,024 and 65,536)
BLOCK_ROWS = 4096

#: a sheet part at least this big is scanned before a library parses it (a hostile part,
#: a 2 GB cell, must be found before a library that cannot stop is handed it)
SCAN_FIRST = 1 << 30
#: ... and so is a part that expands more than this many times (sheets Excel writes expand
#: 5 to 30 times; blank space a thousand)
EXPANSION = 100


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
            sizes = {info.filename: (info.file_size, info.compress_size)
                     for info in zf.infolist()}
            _check_sizes(path, self._package, sizes)
            member = self._package.styles_member
            parsed = parse_styles(read_member(zf, member, path, MAX_PART) if member else None)
            #: cell style index -> what its number format shows (see formats.py)
            self.styles: dict[int, Style] = parsed if parsed is not None else {}
            #: cell style index -> kind of date format (see datecells.py)
            self._date_kinds = style_kinds(self.styles)
        #: the sheet parts read_sheet reads from a mini workbook (see smallbook.py)
        self._small_members = smallbook.worth_it(
            self._package, {name: size for name, (size, _) in sizes.items()})
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
        self._sizes = sizes
        self._depth = 0  # nested reading() blocks
        self._shared: python_calamine.CalamineWorkbook | None = None
        #: inside reading(): the mini workbook of the small sheets, once built (None inside
        #: when it cannot be made: the full workbook serves)
        self._small: _Small | None = None
        #: fastexcel opening the file in a thread (see :meth:`_prefetch_arrow`)
        self._prefetch: tuple[threading.Thread, dict[str, Any]] | None = None
        #: reads served by the mini workbook (tests tell the route by it)
        self.small_reads = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[XlsxBook]:
        """Within the block, reads share one open python-calamine workbook (the shared
        strings parsed once), and one mini workbook of the small sheets (see smallbook.py);
        they are closed when the block ends (before the Log is written: on Windows an open
        handle stops the file from being replaced).

        :meth:`read_columns` closes it too, once the sheet is parsed: the big sheet is read
        last, and its shared strings need not stay in memory while it is checked (a later
        read in the block opens the file again).
        """
        self._depth += 1
        if self._depth == 1:
            self._prefetch_arrow()
        try:
            yield self
        finally:
            self._depth -= 1
            if not self._depth:
                self._release()

    def _prefetch_arrow(self) -> None:
        """Start opening the file with fastexcel (the Arrow route's reader) in a thread: it
        parses the shared strings without holding the GIL (0.8 s for a full sheet's), while
        this thread reads Settings, Mapping and Log. :meth:`arrow_sheet` takes the reader;
        the end of :meth:`reading` lets it go (and waits for the thread: no handle stays
        open)."""
        from xl_ameyo.xlsx.arrow_reader import available

        if self._prefetch is not None or not available():
            return
        box: dict[str, Any] = {}

        def run() -> None:
            import fastexcel

            try:
                box["reader"] = fastexcel.read_excel(os.fspath(self.path))
            except Exception as exc:  # the reads that need the file report it their way
                box["error"] = exc

        worker = threading.Thread(target=run, name="xl-ameyo-prefetch", daemon=True)
        worker.start()
        self._prefetch = (worker, box)

    def take_arrow_reader(self) -> Any:
        """The fastexcel reader opened by :meth:`_prefetch_arrow` (None when there is none,
        or it failed); handed over once."""
        if self._prefetch is None:
            return None
        worker, box = self._prefetch
        self._prefetch = None
        worker.join()
        return box.pop("reader", None)  # held nowhere else: no handle outlives its user

    def _drop_prefetch(self) -> None:
        """Let the prefetched fastexcel reader go (waiting for its thread)."""
        if self._prefetch is not None:
            worker, box = self._prefetch
            self._prefetch = None
            worker.join()
            box.clear()

    def _release(self) -> None:
        self._drop_prefetch()
        if self._shared is not None:
            shared, self._shared = self._shared, None
            shared.close()
        if self._small is not None:
            small, self._small = self._small, None
            small.close()

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
        actual, member = self._worksheet(name)
        with gc_paused():
            read = self._read_small(actual, member)
            if read is None:
                with self._workbook() as workbook:
                    read = self._read_rows(workbook, actual, member)
            if read is None:
                return _padded(self.read_exact(actual, member).rows)
        rows, scans = read
        correct_dates(rows, scans.dates)
        if scans.errors:
            put_cells(rows, scans.errors, _cell_error)
        return rows

    def read_exact(self, actual: str, member: str) -> SheetRead:
        """Sheet ``actual`` (part ``member``) read by the exact reader (sheetxml.py)."""
        path = self.path
        package = self._package
        with open_zip(path) as zf:

            def shared() -> list[str]:
                if package.shared_member is None:
                    raise damaged(path, "its cells use shared strings but it has none")
                return read_shared_strings(
                    stream_member(zf, package.shared_member, path, MAX_SHARED))

            try:
                return read_sheet_xml(stream_member(zf, member, path), shared=shared,
                                      styles=self.styles, date1904=package.date1904)
            except WorkbookFileError:
                raise
            except Exception as exc:  # expat's, a value that is not its type, a refusal
                raise refused(path, member, exc) from None

    def _read_rows(
        self, workbook: python_calamine.CalamineWorkbook, actual: str, member: str
    ) -> tuple[list[list], _Scans] | None:
        """Sheet ``actual`` parsed by ``workbook``: its rows (empty cells None) and the
        scans of its XML; None when the scans cannot be trusted on it (the exact reader's)."""
        parsed = self._parse(workbook, actual, member)
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
                read = self._read_rows(workbook, actual, member)
            except BaseException as exc:
                if not _recoverable(exc):
                    raise
                return None
        if read is not None:
            self.small_reads += 1
        return read

    def read_columns(self, name: str) -> SheetColumns:
        """Sheet ``name`` column by column: the same values as :meth:`read_sheet` (``None``
        for empty cells, ``CellError`` for errors, dates by their format), as row 1 and one
        list per column (A first) of the rows below it, to the last row holding a value.
        Inside :meth:`reading` this closes the shared workbook (see there)."""
        with gc_paused():
            stream = self.stream_columns(name)
            columns: list[list] = [[] for _ in range(stream.width)]
            kinds: list[set[type]] = [set() for _ in range(stream.width)]
            for block, block_kinds in stream.blocks:
                for column, kind, values, more in zip(columns, kinds, block, block_kinds,
                                                      strict=True):
                    column += values
                    kind |= more
        return SheetColumns(header=stream.header, columns=columns, kinds=kinds)

    def stream_columns(self, name: str) -> SheetStream:
        """Sheet ``name`` (values as :meth:`read_sheet` gives them) as row 1 and then blocks
        of :data:`BLOCK_ROWS` rows, each as columns: what the checks consume, so that a
        million rows never exist as a million Python lists, nor as ten million-item columns
        of raw values. The sheet is parsed (and the XML scanned) here; the blocks are made as
        they are consumed, from python-calamine's parsed sheet, which lives as long as the
        iterator. Inside :meth:`reading` this closes the shared workbook (see there)."""
        # an Arrow attempt that did not qualify, or fastexcel's reader opened for one that
        # was not made: their memory goes back before python-calamine parses the sheet
        self._drop_prefetch()
        _release_arrow_memory()
        actual, member = self._worksheet(name)
        with gc_paused(), self._workbook() as workbook:
            parsed = self._parse(workbook, actual, member)
            if self._depth:
                self._release()  # the sheet keeps its own values
            if parsed is None:
                read = self.read_exact(actual, member)
                return _stream_rows(read.rows, read.unsaved)
            sheet, scans = parsed

            def failed(exc: Exception) -> WorkbookFileError:
                return damaged(self.path, f"the sheet '{actual}' cannot be read ({exc})")

            stream = _stream(sheet, scans.errors, scans.dates, failed)
            stream.unsaved = scans.unsaved
            return stream

    def arrow_sheet(self, name: str, columns: set[str] | None = None) -> Any:
        """Sheet ``name`` as Arrow columns (fastexcel) when that is provably what the other
        reads give, else None (see arrow_reader.py). ``columns``, the headers that matter
        (trimmed, case-folded), lets it give up early when one of them mixes cell types.
        Inside :meth:`reading` the shared workbook is closed when it is."""
        from xl_ameyo.xlsx.arrow_reader import read_arrow

        sheet = read_arrow(self, name, columns)
        if sheet is not None and self._depth:
            self._release()
        return sheet

    def sheet_columns(self, name: str, columns: set[str] | None = None) -> Any:
        """Sheet ``name`` as :class:`~xl_ameyo.columns.SheetColumns` (what the rules
        consume): from fastexcel's typed columns with the misfits and error cells put in
        (tocolumns.py) when the XML scans prove that exact, else from the per-cell reads.
        Every column, every shape; ``unsaved`` lists the formula cells without a saved
        result. ``columns``: the headers that matter (unused: every column is read)."""
        from xl_ameyo.xlsx.arrow_reader import read_arrow
        from xl_ameyo.xlsx.tocolumns import from_arrow_sheet, from_stream

        with gc_paused():
            sheet = read_arrow(self, name, columns, typed=True)
            if sheet is not None:
                if self._depth:
                    self._release()
                try:
                    columns = from_arrow_sheet(sheet, self._shared_items)
                    columns.route = "arrow"
                    return columns
                except smallbook.Unusual:
                    del sheet
            columns = from_stream(self.stream_columns(name))
            columns.route = "cells"
            return columns

    def _shared_items(self, needed: list[int]) -> dict[int, str]:
        """The shared strings at ``needed`` (ascending), read no further than the last."""
        member = self._package.shared_member
        if member is None:
            raise smallbook.Unusual("shared-string cells without a shared-strings part")
        with open_zip(self.path) as zf:
            chunks = stream_member(zf, member, self.path, MAX_SHARED)
            part = smallbook.pick_items(lambda: next(chunks, b""), needed)
        return dict(zip(needed, read_shared_strings([part]), strict=True))

    def _worksheet(self, name: str) -> tuple[str, str]:
        """(actual name, zip member) of worksheet ``name``; its extent checked."""
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
        return actual, part.member

    def _parse(
        self, workbook: python_calamine.CalamineWorkbook, name: str, member: str
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

    def scan_first(self, member: str) -> bool:
        """Whether sheet part ``member`` is scanned before a library parses it: when it is
        big, or expands far more than sheets do (blank space or one text repeated: what a
        hostile part holds), so that no library is handed what the scan refuses."""
        size, packed = self._sizes.get(member, (0, 0))
        return size >= SCAN_FIRST or size > EXPANSION * max(packed, 1)

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
        unusual = spelling.finish()
        if spelling.hostile is not None:
            raise refused(self.path, member, ValueError(spelling.hostile), hostile=True)
        errors = errors_scan.finish() if unusual is None else []
        if unusual is None and errors is None:
            unusual = "error cells without r"
        if unusual is None and self._package.date1904:
            unusual = "the 1904 date system"
        newer = sorted({code for _, _, code in errors or ()} - CLASSIC_ERRORS)
        if unusual is None and newer:
            unusual = f"the error code {newer[0]}"
        return _Scans(errors or [], dates_scan.finish(), spelling.unsaved, unusual)


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


def _stream(
    sheet: python_calamine.CalamineSheet,
    errors: list[tuple[int, int, str]],
    dates: list[tuple[int, int, str]],
    failed: Callable[[Exception], WorkbookFileError],
) -> SheetStream:
    """python-calamine's parsed sheet as a :class:`SheetStream`, the XML scan's error cells
    and date kinds put in place.

    ``iter_rows`` gives the used range's columns only (the columns left of it are empty)
    and, in python-calamine 0.9, every row from row 1. A sheet whose row 1 is empty (no
    header: the pipeline stops there anyway) is read by ``to_python(skip_empty_area=False)``
    instead, which is documented to start at A1. Error cells can lie beyond calamine's range
    (it takes them for empty): the sheet is widened and lengthened for them.
    """
    start, end = sheet.start, sheet.end
    last_row, last_col = end if end is not None else (-1, -1)
    if errors:
        last_row = max(last_row, max(r for r, _, _ in errors))
        last_col = max(last_col, max(c for _, c, _ in errors))
    width = last_col + 1
    left = 0
    try:
        if start is None:
            rows: Iterator[list] = iter(())
        elif start[0] == 0:
            rows = sheet.iter_rows()
            left = start[1]
        else:
            rows = iter(sheet.to_python(skip_empty_area=False))
        first = next(rows, None) if start is not None else None
    except python_calamine.CalamineError as exc:
        raise failed(exc) from None
    header: list = [None] * width
    for k, v in enumerate(first or ()):
        header[left + k] = None if v == "" else v

    made: dict[str, Any] = {}
    fixes: list[tuple[int, int, int, Any]] = []  # (row, 0 date / 1 error, column, kind/value)
    for r, c, kind in dates:
        fixes.append((r, 0, c, kind))
    for r, c, code in errors:
        value = made.get(code)
        if value is None:
            value = made[code] = _cell_error(code)
        fixes.append((r, 1, c, value))
    fixes.sort(key=lambda f: (f[0], f[1]))
    at = 0
    while at < len(fixes) and fixes[at][0] == 0:
        _r, what, c, arg = fixes[at]
        if c < width:
            header[c] = corrected(header[c], arg) if what == 0 else arg
        at += 1
    none = type(None)

    def blocks() -> Iterator[tuple[list[Sequence], list[set[type]]]]:
        nonlocal sheet, rows, at
        r0 = 1  # the sheet row (0-based) of the block's first row
        while r0 <= last_row:
            try:
                block = list(itertools.islice(rows, BLOCK_ROWS))
            except python_calamine.CalamineError as exc:
                raise failed(exc) from None
            m = len(block) if block else min(BLOCK_ROWS, last_row + 1 - r0)
            values: list[Sequence] = list(zip(*block, strict=True)) if block else []
            kinds = [set(map(type, column)) for column in values]
            for k, column in enumerate(values):
                if str in kinds[k] and "" in column:  # empty cells
                    column = list(column)
                    _empty_to_none_column(column)
                    values[k] = column
                    kinds[k].add(none)
            right = width - left - len(values)
            columns = [[None] * m for _ in range(left)] + values
            columns += [[None] * m for _ in range(right)]
            kinds = [{none} for _ in range(left)] + kinds + [{none} for _ in range(right)]
            while at < len(fixes) and fixes[at][0] < r0 + m:
                r, what, c, arg = fixes[at]
                at += 1
                column = columns[c]
                if not isinstance(column, list):
                    column = columns[c] = list(column)
                value = corrected(column[r - r0], arg) if what == 0 else arg
                column[r - r0] = value
                kinds[c].add(type(value))
            yield columns, kinds
            r0 += m
        sheet = rows = None  # type: ignore[assignment]  # python-calamine's copy, freed

    return SheetStream(header=header, width=width, height=max(last_row, 0), blocks=blocks())


def _empty_to_none_column(column: list) -> int:
    """:func:`_empty_to_none` for one column; how many cells it replaced."""
    i = -1
    count = 0
    index = column.index
    try:
        while True:
            i = index("", i + 1)
            column[i] = None
            count += 1
    except ValueError:
        return count


def _check_sizes(
    path: str | os.PathLike, package: Package, sizes: dict[str, tuple[int, int]]
) -> None:
    """Refuse, before any library is handed the file, a part that the libraries parse whole
    and whose recorded size is beyond what a workbook holds (a zip bomb: a 3 MB styles part
    that expands to gigabytes). The sizes are checked again while the parts stream."""
    limits = {package.workbook_member: MAX_PART, package.workbook_rels_member: MAX_PART,
              package.styles_member: MAX_PART, package.shared_member: MAX_SHARED}
    limits.update((sheet.member, MAX_BIG_PART) for sheet in package.sheets)
    for name, (size, _) in sizes.items():
        limit = limits.get(name)
        if limit is None and name.casefold().endswith((".xml", ".rels")):
            limit = MAX_BIG_PART
        if limit is not None and size > limit:
            raise too_big(path, name, size, limit)


def _stream_rows(rows: list[list], unsaved: list[tuple[int, int]]) -> SheetStream:
    """Rows (row 0 = sheet row 1, as read_sheet gives them) as a :class:`SheetStream`."""
    width = max(map(len, rows), default=0)
    header = list(rows[0]) + [None] * (width - len(rows[0])) if rows else []
    body = rows[1:]
    # the last row holding a value ends the sheet
    while body and not any(v is not None for v in body[-1]):
        body.pop()

    def blocks() -> Iterator[tuple[list[Sequence], list[set[type]]]]:
        for start in range(0, len(body), BLOCK_ROWS):
            chunk = [row + [None] * (width - len(row)) for row in body[start:start + BLOCK_ROWS]]
            columns: list[Sequence] = [list(c) for c in zip(*chunk, strict=True)]
            yield columns, [set(map(type, c)) for c in columns]

    return SheetStream(header=header, width=width, height=len(body), blocks=blocks(),
                       unsaved=unsaved, exact=True)


def _padded(rows: list[list]) -> list[list]:
    """Every row as wide as the widest, as python-calamine gives a sheet."""
    width = max(map(len, rows), default=0)
    for row in rows:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    return rows
