"""The exact reader: a sheet part parsed by expat, every cell by the standard, whoever wrote it.

The fast routes (python-calamine, fastexcel) hold their values in Rust and the reader's own
byte scans must prove what those values mean (error cells, date formats): they assume the
spelling Excel writes. Any sheet whose spelling they cannot prove is read here instead: a
real XML parser (expat, in C, with Python handlers: about 9 s of CPU per million cells on
the benchmark machine, so it is for the rare sheet only), namespaces resolved (any prefix,
the transitional and the Strict namespaces), attributes in any order and quoting, cells and
rows with or without ``r``, inline strings and rich text (phonetic runs left out),
``t="str"``, ``t="d"`` ISO dates, shared formulas (their saved results), the 1904 date
system, every error code (``#GETTING_DATA``, ``#SPILL!`` and codes not known yet).

Values are those of :meth:`~.reader.XlsxBook.read_sheet` (python-calamine's, corrected: dates
by their format, see :func:`.formats.from_serial`), with a number under a zero-padding format
as a :class:`~xl_ameyo.columns.PaddedNumber`. A formula cell without a saved result reads as
empty and is listed in :attr:`SheetRead.unsaved`.

Bounded: the part's decompressed size is counted while it streams (:mod:`.package`), a cell's
text is refused above :data:`MAX_CELL_CHARS`, a DOCTYPE (entity definitions: the "billion
laughs") is refused outright.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx.formats import DAYS_1904, DURATION, Style, from_iso, from_serial
from xl_ameyo.xlsx.scans import cell_ref, column_index

#: a cell's text longer than this is refused (Excel holds at most 32,767 characters; this
#: leaves room for other writers without letting one cell take the memory)
MAX_CELL_CHARS = 1 << 20

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_CELL_REF = re.compile(r"\s*\$?([A-Za-z]{1,3})\$?([0-9]+)\s*")


def unescape(text: str) -> str:
    """Excel's ``_xHHHH_`` escapes decoded (``_x000D_`` is a carriage return)."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


class _Refused(Exception):
    """The part is hostile or broken; the message says how (one line)."""


def _no_doctype(*_args: object) -> None:
    raise _Refused("it declares a DOCTYPE (entity definitions), which no workbook needs")


def _parser() -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.EntityDeclHandler = _no_doctype
    return parser


def _parse(chunks: Iterable[bytes], start: Callable, end: Callable, text: Callable) -> None:
    """Feed the part, chunk by chunk, to a parser calling these handlers."""
    parser = _parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    for chunk in chunks:
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


_PRESERVE = "http://www.w3.org/XML/1998/namespace space"
_XML_SPACE = " \t\r\n"


def _run_text(parts: list[str], start: int, preserve: bool) -> None:
    """A ``<t>``'s text, ``parts[start:]``, trimmed of XML white space unless it says
    ``xml:space="preserve"`` (as python-calamine and fastexcel read it)."""
    if not preserve:
        parts[start:] = ["".join(parts[start:]).strip(_XML_SPACE)]


def read_shared_strings(chunks: Iterable[bytes], limit: int = MAX_CELL_CHARS) -> list[str]:
    """Every item of a shared-strings part: its text runs joined, phonetic runs left out,
    ``_xHHHH_`` decoded (as python-calamine reads them)."""
    items: list[str] = []
    parts: list[str] = []
    depth_rph = 0
    in_t = False
    size = 0
    run = (0, False)  # where the <t> being read starts in parts, and whether it preserves

    def start(name: str, attrs: dict) -> None:
        nonlocal depth_rph, in_t, size, run
        local = _local(name)
        if local == "si":
            parts.clear()
            size = 0
        elif local == "rPh":
            depth_rph += 1
        elif local == "t" and not depth_rph:
            in_t = True
            run = (len(parts), attrs.get(_PRESERVE) == "preserve")

    def end(name: str) -> None:
        nonlocal depth_rph, in_t
        local = _local(name)
        if local == "si":
            items.append(unescape("".join(parts)))
        elif local == "rPh":
            depth_rph -= 1
        elif local == "t" and in_t:
            in_t = False
            _run_text(parts, *run)

    def text(data: str) -> None:
        nonlocal size
        if in_t:
            size += len(data)
            if size > limit:
                raise _Refused(f"shared string {len(items) + 1} is longer than {limit:,} "
                               "characters")
            parts.append(data)

    _parse(chunks, start, end, text)
    return items


@dataclass
class SheetRead:
    """A sheet read by :func:`read_sheet_xml`."""

    rows: list[list] = field(default_factory=list)  # row 0 = sheet row 1, column 0 = A
    #: (row, column), 0-based, of formula cells without a saved result
    unsaved: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Cell:
    row: int = 0
    col: int = 0
    t: str = "n"
    s: int = 0
    formula: bool = False
    value: bool = False  # a <v> element was seen
    inline: bool = False  # an <is> element was seen


def read_sheet_xml(
    chunks: Iterable[bytes],
    *,
    shared: Callable[[], list[str]],
    styles: dict[int, Style],
    date1904: bool = False,
) -> SheetRead:
    """Parse a worksheet part (decompressed, chunk by chunk). ``shared()`` gives the shared
    strings (called at the first shared-string cell). Raises :class:`WorkbookFileError`
    subclasses via :func:`read_or_refuse` callers; here :class:`_Refused` / ``ValueError``."""
    from xl_ameyo.columns import CellError, PaddedNumber  # core values (see the design notes)

    out = SheetRead()
    rows = out.rows
    errors: dict[str, Any] = {}
    strings: list[str] | None = None
    default = styles.get(0) or Style(0, None, None, 0)
    cell = _Cell()
    texts: list[str] = []
    run = (0, False)  # the inline <t> being read (see _run_text)
    size = 0
    collecting = False
    in_data = False
    row = -1
    col = -1
    depth_rph = 0

    def place(value: object) -> None:
        while len(rows) <= cell.row:
            rows.append([])
        target = rows[cell.row]
        if len(target) <= cell.col:
            target.extend([None] * (cell.col + 1 - len(target)))
        target[cell.col] = value

    def start(name: str, attrs: dict) -> None:
        nonlocal in_data, row, col, collecting, size, depth_rph, cell, run
        local = _local(name)
        if not in_data:
            in_data = local == "sheetData"
            return
        if local == "c":
            ref = attrs.get("r")
            m = _CELL_REF.fullmatch(ref) if ref is not None else None
            if m is not None and int(m.group(2)) >= 1:
                r, c = int(m.group(2)) - 1, column_index(m.group(1))
            else:
                r, c = max(row, 0), col + 1
            col = c
            s = attrs.get("s", "0").strip() or "0"
            cell = _Cell(r, c, attrs.get("t", "n").strip() or "n", int(s) if s.isdigit() else 0)
            texts.clear()
            size = 0
        elif local == "row":
            ref = attrs.get("r", "").strip()
            row = int(ref) - 1 if ref.isdigit() and int(ref) >= 1 else row + 1
            col = -1
        elif local == "v":
            cell.value = True
            collecting = True
        elif local == "f":
            cell.formula = True
        elif local == "is":
            cell.inline = True
        elif local == "rPh":
            depth_rph += 1
        elif local == "t" and cell.inline and not depth_rph:
            collecting = True
            run = (len(texts), attrs.get(_PRESERVE) == "preserve")

    def end(name: str) -> None:
        nonlocal in_data, collecting, depth_rph, strings
        local = _local(name)
        if local == "t" and collecting:
            _run_text(texts, *run)
        if local in ("v", "t"):
            collecting = False
        elif local == "rPh":
            depth_rph -= 1
        elif local == "sheetData":
            in_data = False
        elif local == "c" and in_data:
            raw = "".join(texts)
            t = cell.t
            if not cell.value and not cell.inline:
                if cell.formula:
                    out.unsaved.append((cell.row, cell.col))
                return
            if t == "s":
                if strings is None:
                    strings = shared()
                value = strings[int(raw)] if raw.strip() else ""
            elif t in ("inlineStr", "str"):
                value = unescape(raw)
            elif t == "b":
                value = raw.strip().lower() in ("1", "true")
            elif t == "e":
                code = raw.strip() or "#N/A"
                value = errors.get(code) or errors.setdefault(code, CellError(code))
            elif t == "d":
                value = from_iso(raw, styles.get(cell.s, default).kind)
            elif not raw.strip():
                if cell.formula:
                    out.unsaved.append((cell.row, cell.col))
                return
            else:
                number = float(raw)
                style = styles.get(cell.s, default)
                if style.kind is not None:
                    if date1904 and style.kind != DURATION:
                        number += DAYS_1904
                    value = from_serial(number, style.kind)
                elif style.pad:
                    value = PaddedNumber(number, style.pad)
                else:
                    value = number
            if value == "":
                return
            place(value)

    def text(data: str) -> None:
        nonlocal size
        if collecting:
            size += len(data)
            if size > MAX_CELL_CHARS:
                raise _Refused(f"cell {cell_ref(cell.row, cell.col)} holds more than "
                               f"{MAX_CELL_CHARS:,} characters (Excel holds 32,767)")
            texts.append(data)

    _parse(chunks, start, end, text)
    return out


def refused(
    path: str | os.PathLike, member: str, exc: Exception, *, hostile: bool = False
) -> WorkbookFileError:
    """One line for a part the exact reader could not read (``hostile``: that a scan
    refused, ``exc`` saying why)."""
    if isinstance(exc, _Refused) or hostile:
        detail = str(exc)
    elif isinstance(exc, expat.ExpatError):
        detail = f"it is not valid XML ({exc})"
    else:
        detail = f"it holds a value that is not what its cell type says ({exc})"
    return WorkbookFileError(
        f"The workbook {os.fspath(path)} cannot be read: in its part {member}, {detail}",
        hint="Open it in Excel, save it again (as .xlsx or .xlsm) and run again",
    )
