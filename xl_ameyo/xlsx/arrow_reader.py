"""The data sheet on the Arrow route: fastexcel's typed columns, taken only where provably exact.

fastexcel (Rust) reads a sheet into Arrow arrays, one type per column, without a Python object
per cell. Each column is read as the class most of its cells in the sheet's first bytes are
of (:func:`head_dtypes`); meanwhile, in a thread, one streamed pass over the sheet's XML
proves the spelling (:mod:`.spelling`), finds the error cells (:mod:`.scans`) and every
cell not of its column's class, the *misfits* (:mod:`.celltypes`), which the caller puts in
from the XML (:mod:`.tocolumns`). :func:`read_arrow` returns None, and the caller takes
another route, unless: the spelling is Excel's; row 1 holds text cells only, from A1, and no
name fastexcel renamed; no error cell in row 1 or outside fastexcel's range; every column
came back as its class's type, with no time, no date before 1900-03-01.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from xl_ameyo.xlsx.celltypes import BOOL, NUMBER, TEXT, CellTypeScanner, style_classes
from xl_ameyo.xlsx.formats import DATE, DATETIME
from xl_ameyo.xlsx.package import open_zip, stream_member
from xl_ameyo.xlsx.scans import ErrorCellScanner
from xl_ameyo.xlsx.spelling import CLASSIC_ERRORS, SpellingScanner
from xl_ameyo.xlsx.tocolumns import shared_indices


@dataclass
class ArrowSheet:
    """A data sheet read by fastexcel, with what the XML scan proved about it."""

    header: list  # row 1, column A first (empty cells None)
    columns: list = field(repr=False)  # Arrow arrays, column A first, rows 2, 3, ...
    errors: list[tuple[int, int, str]]  # (row, column, code), 0-based
    #: (row, column), 0-based, of formula cells without a saved result (they read empty)
    unsaved: list[tuple[int, int]] = field(default_factory=list)
    #: column -> the class of most of its cells (each column was read as its type)
    majority: dict[int, str] = field(default_factory=dict)
    #: the cells not of their column's majority class (celltypes.Misfit)
    misfits: list = field(default_factory=list)
    #: the shared strings the misfits use, read while fastexcel parsed (index -> text)
    shared: dict[int, str] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def available() -> bool:
    try:
        import fastexcel  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - runtime dependencies
        return False
    return True


def read_arrow(book: Any, name: str) -> ArrowSheet | None:
    """Sheet ``name`` of ``book`` (an :class:`~xl_ameyo.xlsx.reader.XlsxBook`) on the Arrow
    route, or None when the route cannot be proved exact for it (see the module docstring).
    Each column is read as the type of most of its cells in the sheet's first bytes; the
    others (misfits) are kept for the caller to put in: a mixed column does not stop it."""
    if not available():
        return None
    import fastexcel
    import pyarrow as pa

    # its notes on columns it reads as text ("could not determine dtype") are no news here
    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    actual, member = book._worksheet(name)  # errors (missing sheet, too large) as the reader
    path = os.fspath(book.path)
    if book._package.date1904:
        return None  # the classes below count dates from 1900
    classes_of_styles = style_classes(book.styles)
    with open_zip(path) as zf:
        dtypes = head_dtypes(zf, member, classes_of_styles)
    if dtypes is None:
        return None
    if book.scan_first(member) and book._scan_xml(member).unusual is not None:
        return None  # an unusual part is not handed to fastexcel (a hostile one raised)
    # fastexcel is handed only parts proved to hold what the zip records (see PartSizes);
    # the sheet's proof runs while the prefetch thread still opens the file
    book.sizes.prove_opening()
    book.sizes.prove([member])
    result: dict[str, Any] = {}

    def scan() -> None:
        try:
            spelling = SpellingScanner(cells=False)
            errors_scan = ErrorCellScanner()
            types_scan = CellTypeScanner(classes_of_styles)
            with open_zip(path) as zf:
                for chunk in stream_member(zf, member, path):
                    spelling.feed(chunk)
                    if spelling.unusual is not None:
                        break
                    errors_scan.feed(chunk)
                    types_scan.feed(chunk)
            result["unusual"] = spelling.finish()
            result["unsaved"] = spelling.unsaved
            result["errors"] = errors_scan.finish()
            result["types_unusual"] = types_scan.finish()
            result["header_columns"] = types_scan.header_columns
            result["majority"] = types_scan.majority
            result["misfits"] = types_scan.misfits
        except Exception as exc:  # the reader's route reports a damaged part
            result["failed"] = exc
            return
        # the misfits' shared strings (a mixed column's typed text: a pass over the shared
        # strings part) are read here, while fastexcel is still parsing
        with contextlib.suppress(Exception):  # else read afterwards, failures reported then
            proved = result["unusual"] is None and result["types_unusual"] is None
            needed = shared_indices(result["misfits"]) if proved else []
            result["shared"] = book._shared_items(needed) if needed else {}
        _warm_pyarrow()

    def load(source: Any) -> Any:
        # eager: straight into one record batch (no lazy sheet kept, then converted: about
        # 0.7 s less for a full sheet, and its cells are not held twice)
        return source.load_sheet(actual, schema_sample_rows=None, dtypes=dtypes or None,
                                 dtype_coercion="coerce", eager=True)

    worker = threading.Thread(target=scan, name="xl-ameyo-xmlscan", daemon=True)
    worker.start()
    batch = None
    try:
        batch = load(book.take_arrow_reader() or fastexcel.read_excel(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # pyo3's PanicException (a value out of chrono's range) is one
        pass  # a newer error code (see below), or the other route reports what is wrong
    finally:
        worker.join()
    if "failed" in result or result["unusual"] is not None:
        return None
    if result["types_unusual"] is not None:
        return None
    errors = result["errors"]
    newer = {code for _, _, code in errors} - CLASSIC_ERRORS
    if batch is None:
        if not newer:
            return None
        # fastexcel reads only Excel 2007's error codes: it is handed a copy whose newer
        # codes read #N/A; the real codes come from the scan (errors)
        try:
            batch = load(fastexcel.read_excel(classic_codes_copy(path, member)))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # a panic too
            return None
    width, height = batch.num_columns, batch.num_rows
    # the header: fastexcel's column names, unless it renamed one (an empty header cell
    # becomes __UNNAMED__n, a repeated one gets _1): every column must have a text header
    # cell in row 1 (so the sheet starts at A1) and no name may look renamed
    header = list(batch.schema.names)
    if result["header_columns"] != set(range(width)):
        return None
    names = set(header)
    for h in header:
        if not h.strip() or h.startswith("__UNNAMED__"):
            return None
        m = re.fullmatch(r"(.*)_[0-9]+", h, re.DOTALL)
        if m is not None and m.group(1) in names:
            return None
    if any(r == 0 or r > height or c >= width for r, c, _ in errors):
        return None
    if any(c >= width for c in result["majority"]):
        return None
    columns = [batch.column(k) for k in range(width)]
    columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    if not all(_typed_ok(result["majority"].get(k), c) for k, c in enumerate(columns)):
        return None
    return ArrowSheet(header=header, columns=columns, errors=errors,
                      unsaved=result["unsaved"], majority=result["majority"],
                      misfits=result["misfits"], shared=result.get("shared", {}))


#: bytes of the sheet's XML whose cells give each column's type (see celltypes.GUESS_CELLS)
GUESS_BYTES = 1 << 18
#: the value of an error cell whose code fastexcel cannot read (any but Excel 2007's seven)
_NEWER_CODE = re.compile(
    rb'(t="e"(?: [a-z]+="[^"<>]*")*>(?:<f(?: [^<>]*)?(?:/>|>[^<]*</f>))?<v>)'
    rb"#(?!N/A<|REF!<|DIV/0!<|VALUE!<|NAME\?<|NUM!<|NULL!<)[^<]*</v>")


def classic_codes_copy(path: str, member: str) -> bytes:
    """The workbook (as bytes) with every error code of sheet part ``member`` that is not
    one of Excel 2007's seven written ``#N/A``, everything else as it was (the sheet part is
    recompressed as it streams, the other members copied)."""
    import io
    import zipfile

    out = io.BytesIO()
    with open_zip(path) as zf, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                               compresslevel=1) as copy:
        for info in zf.infolist():
            if info.filename != member:
                copy.writestr(info, zf.read(info))
                continue
            with copy.open(info.filename, "w", force_zip64=True) as dst:
                tail = b""
                for chunk in stream_member(zf, member, path):
                    buf = tail + chunk
                    cut = buf.rfind(b"<c")  # the last cell waits for the next chunk
                    cut = cut if cut >= 0 and len(buf) - cut <= 1 << 16 else len(buf)
                    dst.write(_NEWER_CODE.sub(rb"\1#N/A</v>", buf[:cut]))
                    tail = buf[cut:]
                dst.write(_NEWER_CODE.sub(rb"\1#N/A</v>", tail))
    return out.getvalue()


#: fastexcel's dtype for each class of cells
_DTYPES = {TEXT: "string", NUMBER: "float", BOOL: "boolean", DATE: "datetime",
           DATETIME: "datetime"}


def head_dtypes(zf: Any, member: str, styles: dict[int, str]) -> dict[int, str] | None:
    """Column -> fastexcel dtype of the class most of its cells in the sheet's first
    :data:`GUESS_BYTES` bytes are of; None when those bytes are unusual."""
    with zf.open(member) as stream:
        head = stream.read(GUESS_BYTES)
    end = head.rfind(b"</row>")
    scanner = CellTypeScanner(styles)
    scanner.feed(head[: end + len(b"</row>")] if end >= 0 else head)
    if scanner.unusual is not None:
        return None
    return {k: _DTYPES.get(kind, "float") for k, kind in scanner.majority.items()}


def _typed_ok(kind: str | None, array: Any) -> bool:
    """Whether a column read with its class's dtype came back as that type."""
    import pyarrow as pa

    t = array.type
    if kind is None:
        return array.null_count == len(array)
    if kind == TEXT:
        return pa.types.is_string(t) or pa.types.is_large_string(t)
    if kind == BOOL:
        return pa.types.is_boolean(t)
    if kind in (DATE, DATETIME):
        if not (pa.types.is_timestamp(t) and t.tz is None):
            return False
        # serials below 61: times, the 1900 leap-year bug; compared as integers (a value
        # before year 1 is no Python datetime)
        import datetime

        import pyarrow.compute as pc

        floor = pa.scalar(datetime.datetime(1900, 3, 1), type=t).cast(pa.int64()).as_py()
        lowest = pc.min(pc.cast(array, pa.int64())).as_py()
        return lowest is None or lowest >= floor
    return pa.types.is_float64(t)


def _warm_pyarrow() -> None:
    """pyarrow looks for pandas the first time it converts a Python value (a scalar in a
    compute call), importing it when it is installed: 0.2 s. Done in the scan's thread while
    fastexcel parses the sheet without the GIL, it is not in the checks' time."""
    import pyarrow as pa

    with contextlib.suppress(Exception):  # only a warm-up
        pa.scalar(0.0)

