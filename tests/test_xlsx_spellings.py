"""Every spelling of a sheet that the OOXML standard allows reads the same (SPEC §2).

One small sheet of leads (text, numbers, a date, a date-time, booleans, error cells old and
new) is written by hand in many spellings: as Excel writes it, and as streaming writers,
LibreOffice, SheetJS, openpyxl and Strict OOXML do. Each must give the same values from
``read_sheet`` and ``stream_columns``, whichever route the reader takes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

import pytest

from tests.xlsx_fixtures import NS, R, build_xlsx, package_parts, sheet_xml
from xl_ameyo.columns import CellError, PaddedNumber
from xl_ameyo.xlsx.reader import XlsxBook

STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_R = "http://purl.oclc.org/ooxml/officeDocument/relationships"

#: styles: 0 General, 1 a date (14), 2 a date-time (22), 3 ten-digit zero padding
STYLES = (
    f'<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" '
    'formatCode="0000000000"/></numFmts><cellXfs count="4"><xf numFmtId="0"/>'
    '<xf numFmtId="14"/><xf numFmtId="22"/><xf numFmtId="164"/></cellXfs></styleSheet>'
)

D1 = dt.date(2026, 1, 17)
T1 = dt.datetime(2026, 1, 17, 10, 30)
T0 = dt.datetime(2026, 1, 18)
#: (kind, value) per cell; kinds: text, number, date, datetime, bool, error, padded
ROWS = [
    [("text", "Name"), ("text", "Phone"), ("text", "When"), ("text", "At"),
     ("text", "Amount"), ("text", "Flag"), ("text", "Code"), ("text", "Zip")],
    [("text", "Asha & Co"), ("number", 9876543210), ("date", D1), ("datetime", T1),
     ("number", 12.5), ("bool", True), ("error", "#N/A"), ("padded", 981234567)],
    [("text", " Ravi "), ("text", "+91 98765 43210"), ("date", D1), ("datetime", T0),
     ("number", 0.30000000000000004), ("bool", False), ("error", "#GETTING_DATA"),
     ("padded", 12)],
    [],
    [("text", "Mei 李"), ("number", 9123456780), None, None, ("number", -7), None,
     ("error", "#SPILL!"), None],
    [None, None, None, None, None, None, ("error", "#SOMETHING_NEW!"), None],
]
EXPECTED = [
    ["Name", "Phone", "When", "At", "Amount", "Flag", "Code", "Zip"],
    ["Asha & Co", 9876543210.0, D1, T1, 12.5, True, CellError("#N/A"),
     PaddedNumber(981234567, 10)],
    [" Ravi ", "+91 98765 43210", D1, T0, 0.30000000000000004, False,
     CellError("#GETTING_DATA"), PaddedNumber(12, 10)],
    [None] * 8,
    ["Mei 李", 9123456780.0, None, None, -7.0, None, CellError("#SPILL!"), None],
    [None, None, None, None, None, None, CellError("#SOMETHING_NEW!"), None],
]


def _serial(value: dt.date) -> float:
    moment = value if isinstance(value, dt.datetime) else dt.datetime(*value.timetuple()[:3])
    return (moment - dt.datetime(1899, 12, 30)) / dt.timedelta(days=1)


@dataclass(frozen=True)
class Spelling:
    """How the sheet is written."""

    prefix: str = ""  # namespace prefix of every element
    cell_r: bool = True  # r on cells
    row_r: bool = True  # r on rows
    order: tuple[str, ...] = ("r", "s", "t")
    quote: str = '"'
    space: str = " "  # between attributes
    strings: str = "shared"  # shared | inline | str (formula results)
    rich: bool = False  # text as runs
    iso_dates: bool = False  # t="d" cells
    date1904: bool = False
    explicit_n: bool = False  # t="n" on numbers (LibreOffice)
    pretty: bool = False  # new lines and indents between the tags
    dimension: str | None = "A1:H6"
    absolute_targets: bool = False
    strict: bool = False
    shared_formulas: bool = False


SPELLINGS = {
    "excel": Spelling(),
    "no r on cells": Spelling(cell_r=False),
    "no r on rows or cells": Spelling(cell_r=False, row_r=False),
    "attributes t s r": Spelling(order=("t", "s", "r")),
    "attributes s r t": Spelling(order=("s", "r", "t")),
    "single quotes": Spelling(quote="'"),
    "spaces in tags": Spelling(space="\n   "),
    "prefix x": Spelling(prefix="x"),
    "inline strings": Spelling(strings="inline"),
    "rich text": Spelling(rich=True),
    "rich inline text": Spelling(strings="inline", rich=True),
    "formula strings": Spelling(strings="str"),
    "shared formulas": Spelling(shared_formulas=True),
    "iso dates (SheetJS)": Spelling(iso_dates=True),
    "1904 dates": Spelling(date1904=True),
    "libreoffice t=n": Spelling(explicit_n=True),
    "pretty printed": Spelling(pretty=True),
    "no dimension": Spelling(dimension=None),
    "wrong dimension": Spelling(dimension="A1:B2"),
    "absolute targets": Spelling(absolute_targets=True),
    "strict": Spelling(strict=True),
    "everything at once": Spelling(prefix="s", cell_r=False, order=("t", "s", "r"),
                                   quote="'", strings="inline", rich=True, iso_dates=True,
                                   pretty=True, dimension=None, absolute_targets=True),
}


def _text_xml(text: str, p: str, rich: bool) -> str:
    body = text.replace("&", "&amp;").replace("<", "&lt;")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    if not rich or len(text) < 2:
        return f"<{p}t{space}>{body}</{p}t>"
    half = len(text) // 2
    first, second = (part.replace("&", "&amp;").replace("<", "&lt;")
                     for part in (text[:half], text[half:]))
    return (f"<{p}r><{p}rPr><{p}b/></{p}rPr><{p}t{space}>{first}</{p}t></{p}r>"
            f'<{p}r><{p}t xml:space="preserve">{second}</{p}t></{p}r>'
            f'<{p}rPh sb="0" eb="1"><{p}t>phonetic</{p}t></{p}rPh>')


def write(path, spelling: Spelling):
    """The sheet of :data:`ROWS` in ``spelling``, with Settings-less package parts."""
    sp = spelling
    p = f"{sp.prefix}:" if sp.prefix else ""
    q = sp.quote
    nl = "\n  " if sp.pretty else ""
    strings: list[str] = []
    rows_xml = []
    formula_row = 0
    for r, row in enumerate(ROWS, start=1):
        cells = []
        for c, cell in enumerate(row):
            if cell is None:
                if not sp.cell_r:  # the position is held by an empty cell
                    cells.append(f"{nl}  <{p}c/>")
                continue
            kind, value = cell
            ref = f"{'ABCDEFGH'[c]}{r}"
            attrs: dict[str, str] = {"r": ref} if sp.cell_r else {}
            inner = ""
            if kind == "text":
                if sp.strings == "shared":
                    attrs["t"] = "s"
                    strings.append(_text_xml(value, "", sp.rich))
                    inner = f"<{p}v>{len(strings) - 1}</{p}v>"
                elif sp.strings == "inline" or r == 1:
                    attrs["t"] = "inlineStr"
                    inner = f"<{p}is>{_text_xml(value, p, sp.rich)}</{p}is>"
                else:
                    attrs["t"] = "str"
                    body = value.replace("&", "&amp;").replace("<", "&lt;")
                    inner = f"<{p}f>T(\"x\")</{p}f><{p}v>{body}</{p}v>"
            elif kind in ("number", "padded"):
                if kind == "padded":
                    attrs["s"] = "3"
                if sp.explicit_n:
                    attrs["t"] = "n"
                formula = ""
                if sp.shared_formulas and kind == "number" and c == 4:
                    formula = (f'<{p}f t="shared" ref="E2:E5" si="0">E1*1</{p}f>'
                               if not formula_row else f'<{p}f t="shared" si="0"/>')
                    formula_row += 1
                inner = f"{formula}<{p}v>{value!r}</{p}v>"
            elif kind in ("date", "datetime"):
                attrs["s"] = "1" if kind == "date" else "2"
                if sp.iso_dates:
                    attrs["t"] = "d"
                    moment = value if isinstance(value, dt.datetime) else dt.datetime(
                        value.year, value.month, value.day)
                    inner = f"<{p}v>{moment.isoformat()}.000Z</{p}v>"
                else:
                    serial = _serial(value) - (1462 if sp.date1904 else 0)
                    inner = f"<{p}v>{serial!r}</{p}v>"
            elif kind == "bool":
                attrs["t"] = "b"
                inner = f"<{p}v>{int(value)}</{p}v>"
            elif kind == "error":
                attrs["t"] = "e"
                inner = f"<{p}f>NA()</{p}f><{p}v>{value}</{p}v>"
            shown = "".join(f"{sp.space}{k}={q}{attrs[k]}{q}" for k in sp.order if k in attrs)
            cells.append(f"{nl}  <{p}c{shown}>{inner}</{p}c>")
        row_attr = f" r={q}{r}{q}" if sp.row_r else ""
        rows_xml.append(f"{nl}<{p}row{row_attr}>{''.join(cells)}{nl}</{p}row>")
    sheet = sheet_xml("".join(rows_xml), prefix=sp.prefix, dimension=sp.dimension)
    sst = None
    if strings:
        sst = (f'<sst xmlns="{NS}" count="{len(strings)}" uniqueCount="{len(strings)}">'
               + "".join(f"<si>{s}</si>" for s in strings) + "</sst>")
    parts = package_parts([("Leads", sheet)], prefix=sp.prefix,
                          absolute_targets=sp.absolute_targets, shared_strings=sst,
                          styles=STYLES)
    if sp.date1904:
        wb = "xl/workbook.xml"
        parts[wb] = re.sub(r"(<(?:\w+:)?workbook [^>]*>)", rf'\1<{p}workbookPr date1904="1"/>',
                           parts[wb], count=1)
    if sp.strict:
        for name, xml in parts.items():
            parts[name] = (xml.replace(NS, STRICT_NS).replace(R, STRICT_R)
                           .replace("http://schemas.openxmlformats.org/officeDocument/2006/"
                                    "relationships/officeDocument",
                                    "http://purl.oclc.org/ooxml/officeDocument/relationships/"
                                    "officeDocument"))
    return build_xlsx(path, parts)


def _stream_rows(book: XlsxBook) -> list[list]:
    stream = book.stream_columns("Leads")
    rows = [stream.header]
    for columns, _ in stream.blocks:
        rows += [list(row) for row in zip(*columns, strict=True)]
    return rows


def _typed(rows: list[list]) -> list[list]:
    """Values with their types (``1.0 == True``, ``date == datetime`` must not pass) and
    the padding of padded numbers."""
    return [[(type(v).__name__, v, getattr(v, "width", None)) for v in row] for row in rows]


def _expected(spelling: Spelling) -> list[list]:
    expected = [list(row) for row in EXPECTED]
    if spelling.iso_dates:
        # the date-time at midnight under a date-time format stays a date-time
        pass
    return expected


@pytest.mark.parametrize("name", list(SPELLINGS))
def test_every_spelling_reads_the_same(tmp_path, name):
    spelling = SPELLINGS[name]
    path = write(tmp_path / "s.xlsx", spelling)
    book = XlsxBook(path)
    want = _typed(_expected(spelling))
    assert _typed(book.read_sheet("Leads")) == want
    streamed = _stream_rows(XlsxBook(path))
    width = len(want[0])
    assert _typed([row + [None] * (width - len(row)) for row in streamed]) == want


def test_the_excel_spelling_takes_the_fast_route_and_others_the_exact_one(tmp_path):
    """The error codes newer than Excel 2007's make even Excel's own spelling exact-read;
    without them it is read by python-calamine."""
    plain = replace(SPELLINGS["excel"])
    path = write(tmp_path / "a.xlsx", plain)
    assert XlsxBook(path).stream_columns("Leads").exact  # #GETTING_DATA, #SPILL! ...
    saved = list(ROWS)
    try:
        ROWS[2] = [c if c is None or c[0] != "error" else ("error", "#REF!") for c in ROWS[2]]
        ROWS[4] = [c if c is None or c[0] != "error" else ("error", "#DIV/0!") for c in ROWS[4]]
        ROWS[5] = [c if c is None or c[0] != "error" else ("error", "#NUM!") for c in ROWS[5]]
        path = write(tmp_path / "b.xlsx", plain)
        assert not XlsxBook(path).stream_columns("Leads").exact
        path = write(tmp_path / "c.xlsx", SPELLINGS["no r on cells"])
        assert XlsxBook(path).stream_columns("Leads").exact
    finally:
        ROWS[:] = saved
