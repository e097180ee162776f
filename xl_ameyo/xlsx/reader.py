"""Read a sheet of an .xlsx/.xlsm file the way the analyst sees it, fast and without Excel.

python-calamine (Rust) does the bulk of the work: shared strings, inline and rich text, cached
formula results, number formats -> dates. What it gets wrong for us is fixed here:

- empty cells come back as ``''``: they become ``None`` (an empty text cell is empty to the
  analyst too);
- error cells (``#N/A``, ``#REF!``, a formula whose cached result is ``#DIV/0!``) come back as
  ``''`` as well: they are found in the sheet's XML (:mod:`.scans`) and put back as
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
  the value, not the format: corrected here from the format (:mod:`.scans`), so a
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
import os
import threading
from collections.abc import Iterator
from typing import Any

import python_calamine

from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.gcpause import gc_paused
from xl_ameyo.xlsx import smallbook
from xl_ameyo.xlsx.formats import Style, parse_styles
from xl_ameyo.xlsx.package import (
    MAX_PART,
    MAX_SHARED,
    Package,
    PartSizes,
    damaged,
    open_zip,
    read_member,
    read_package,
    stream_member,
)
from xl_ameyo.xlsx.percell import (
    CalamineReads,
    SheetColumns,
    SheetStream,
    _cell_error,
    _release_arrow_memory,
    _Small,
)
from xl_ameyo.xlsx.scans import correct_dates, style_kinds
from xl_ameyo.xlsx.sheetxml import SheetRead, read_shared_strings, read_sheet_xml, refused

#: a sheet part at least this big is scanned before a library parses it (a hostile part,
#: a 2 GB cell, must be found before a library that cannot stop is handed it)
SCAN_FIRST = 1 << 30
#: ... and so is a part that expands more than this many times (sheets Excel writes expand
#: 5 to 30 times; blank space a thousand)
EXPANSION = 100


class XlsxBook(CalamineReads):
    """A workbook file read headless: sheet names, and whole sheets as lists of rows."""

    def __init__(self, path: str | os.PathLike) -> None:
        """Check that ``path`` is a readable .xlsx/.xlsm workbook and list its sheets.

        Raises :class:`WorkbookFileError` when it is missing, not a workbook (an .xls, a CSV
        renamed, an .xlsb) or damaged.
        """
        self.path = path
        with open_zip(path) as zf:
            self._package: Package = read_package(zf, path)
            #: the parts' sizes, checked; proved before a Rust library reads a part
            self.sizes = PartSizes(zf, path, self._package)
            member = self._package.styles_member
            parsed = parse_styles(read_member(zf, member, path, MAX_PART) if member else None)
            #: cell style index -> what its number format shows (see formats.py)
            self.styles: dict[int, Style] = parsed if parsed is not None else {}
            #: cell style index -> kind of date format (see scans.py)
            self._date_kinds = style_kinds(self.styles)
        #: the sheet parts read_sheet reads from a mini workbook (see smallbook.py)
        self._small_members = smallbook.worth_it(
            self._package, {name: size for name, (size, _) in self.sizes.recorded.items()})
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
        self._depth = 0  # nested reading() blocks
        self._shared: python_calamine.CalamineWorkbook | None = None
        #: inside reading(): the mini workbook of the small sheets, once built (None inside
        #: when it cannot be made: the full workbook serves)
        self._small: _Small | None = None
        #: fastexcel opening the file in a thread (see :meth:`prefetch`)
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
            self.prefetch()
        try:
            yield self
        finally:
            self._depth -= 1
            if not self._depth:
                self._release()

    def prefetch(self) -> None:
        """Start opening the file with fastexcel (the Arrow route's reader) in a thread: it
        parses the shared strings without holding the GIL (0.8 s for a full sheet's), while
        this thread reads Settings, Mapping and Log. :meth:`sheet_columns` takes the reader;
        the end of :meth:`reading`, or :meth:`close`, lets it go (and waits for the thread: no
        handle stays open)."""
        if self._prefetch is not None:
            return
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                import fastexcel

                self.sizes.prove_opening()  # before fastexcel parses them, see PartSizes
                box["reader"] = fastexcel.read_excel(os.fspath(self.path))
            except Exception as exc:  # the reads that need the file report it their way
                box["error"] = exc

        worker = threading.Thread(target=run, name="xl-ameyo-prefetch", daemon=True)
        worker.start()
        self._prefetch = (worker, box)

    def take_arrow_reader(self) -> Any:
        """The fastexcel reader opened by :meth:`prefetch` (None when there is none,
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

    def close(self) -> None:
        """Let go of what the workbook holds open (the prefetch, the shared workbooks)."""
        self._release()

    def _release(self) -> None:
        self._drop_prefetch()
        if self._shared is not None:
            shared, self._shared = self._shared, None
            shared.close()
        if self._small is not None:
            small, self._small = self._small, None
            small.close()

    def find_sheet(self, name: str) -> str | None:
        """The actual name of sheet ``name``, matched case-insensitively; None if missing."""
        part = self._package.find_sheet(name)
        return part.name if part is not None else None

    def read_sheet(self, name: str) -> list[list]:
        """All rows of sheet ``name`` (found case-insensitively) as the analyst sees them.

        Row 0 is sheet row 1 and column 0 is column A, wherever the data starts. Empty cells
        are ``None``; error cells are ``CellError``; rows may be ragged (a cell missing at
        the end of a row is empty).
        """
        # (numpy and pyarrow, which tocolumns needs, are imported only once a sheet is read:
        # the CLI opens the workbook before it needs them, see cli.py)
        from xl_ameyo.xlsx.tocolumns import _padded, put_cells

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
        from xl_ameyo.xlsx.tocolumns import _stream, _stream_rows

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

    def sheet_columns(self, name: str, columns: set[str] | None = None) -> Any:
        """Sheet ``name`` as :class:`~xl_ameyo.columns.SheetColumns` (what the rules
        consume): from fastexcel's typed columns with the misfits and error cells put in
        (tocolumns.py) when the XML scans prove that exact, else from the per-cell reads.
        Every column, every shape; ``unsaved`` lists the formula cells without a saved
        result. ``columns``: the headers that matter (unused: every column is read)."""
        from xl_ameyo.xlsx.arrow_reader import read_arrow
        from xl_ameyo.xlsx.tocolumns import from_arrow_sheet, from_stream

        with gc_paused():
            sheet = read_arrow(self, name)
            if sheet is not None:
                if self._depth:
                    self._release()
                try:
                    def shared(needed: list[int]) -> dict[int, str]:
                        known = sheet.shared  # read in the scan's thread
                        return known if known.keys() >= set(needed) else self._shared_items(
                            needed)

                    columns = from_arrow_sheet(sheet, shared)
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

    def scan_first(self, member: str) -> bool:
        """Whether sheet part ``member`` is scanned before a library parses it: when it is
        big, or expands far more than sheets do (blank space or one text repeated: what a
        hostile part holds), so that no library is handed what the scan refuses."""
        size, packed = self.sizes.recorded.get(member, (0, 0))
        return size >= SCAN_FIRST or size > EXPANSION * max(packed, 1)
