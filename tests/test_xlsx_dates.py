"""xlsx/scans.py: date cells get the kind their number format shows."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.xlsx_fixtures import NS, XML_DECL, build_xlsx, openpyxl_book, package_parts, sheet_xml
from xl_ameyo.xlsx import package
from xl_ameyo.xlsx.formats import DATE, DATETIME, DURATION, TIME, classify_format, parse_styles
from xl_ameyo.xlsx.reader import XlsxBook
from xl_ameyo.xlsx.scans import style_kinds

#: cellXfs: 0 General, 1 built-in date 14, 2 built-in date-time 22, 3 built-in time 21,
#: 4 elapsed 46, 5 custom date-time 164, 6 custom date 165, 7 custom time 166, 8 percent
STYLES = (
    f'{XML_DECL}<styleSheet xmlns="{NS}"><numFmts count="3">'
    '<numFmt numFmtId="164" formatCode="dd/mm/yyyy\\ hh:mm"/>'
    '<numFmt numFmtId="165" formatCode="[$-409]d\\-mmm\\-yyyy;@"/>'
    '<numFmt numFmtId="166" formatCode="h:mm\\ AM/PM"/></numFmts>'
    '<cellXfs count="9"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="22"/>'
    '<xf numFmtId="21"/><xf numFmtId="46"/><xf numFmtId="164"/><xf numFmtId="165"/>'
    '<xf numFmtId="166"/><xf numFmtId="10"/></cellXfs></styleSheet>'
)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("yyyy-mm-dd", DATE),
        ("d-mmm", DATE),
        ("mmm-yy", DATE),
        ("mmmm", DATE),
        ("[$-409]mmmm d, yyyy;@", DATE),
        ('dd"th of "mmmm', DATE),
        ("dd/mm/yyyy hh:mm", DATETIME),
        ("yyyy-mm-dd\\Thh:mm:ss", DATETIME),
        ("m/d/yy h:mm AM/PM", DATETIME),
        ("hh:mm:ss", TIME),
        ("h:mm AM/PM", TIME),
        ("mm:ss.0", TIME),
        ("[h]:mm:ss", DURATION),
        ("[mm]:ss", DURATION),
        ("General", None),
        ("0.00%", None),
        ("#,##0.00_);[Red](#,##0.00)", None),
        ("0.00E+00", None),
        ('0 "days"', None),
        ("@", None),
        ("[Red]0.00", None),
    ],
)
def test_classify_format(code, kind):
    assert classify_format(code) == kind


def test_style_kinds():
    assert style_kinds(parse_styles(STYLES.encode())) == {
        1: DATE, 2: DATETIME, 3: TIME, 5: DATETIME, 6: DATE, 7: TIME
    }
    assert parse_styles(b"<not xml") is None


def _book(tmp_path, rows: str, prefix: str = ""):
    parts = package_parts([("S", sheet_xml(rows, prefix=prefix))], prefix=prefix,
                          styles=STYLES)
    return build_xlsx(tmp_path / "d.xlsx", parts)


ROWS = (
    '<row r="1">'
    '<c r="A1" s="2"><v>43832</v></c>'  # date-time format at midnight
    '<c r="B1" s="5"><v>43832.0</v></c>'  # custom date-time, midnight
    '<c r="C1" s="1"><v>43832.75</v></c>'  # date format with a time part
    '<c r="D1" s="6" t="n"><f>TODAY()+0.5</f><v>43832.5</v></c>'  # custom date, formula
    '<c r="E1" s="3"><v>1.25</v></c>'  # time format, serial >= 1
    '<c r="F1" s="7"><v>0.25</v></c>'  # time format, serial < 1 (calamine is right)
    '<c r="G1" s="4"><v>1.5</v></c>'  # elapsed: timedelta stays
    '<c r="H1" s="2"><v>43832.5</v></c>'  # date-time with a time: right already
    '<c r="I1" s="1"><v>43832</v></c>'  # date: right already
    '<c r="J1" s="8"><v>0.5</v></c>'  # percent: a number
    "</row>"
)
EXPECTED = [
    dt.datetime(2020, 1, 2), dt.datetime(2020, 1, 2), dt.date(2020, 1, 2), dt.date(2020, 1, 2),
    dt.time(6, 0), dt.time(6, 0), dt.timedelta(days=1, hours=12),
    dt.datetime(2020, 1, 2, 12, 0), dt.date(2020, 1, 2), 0.5,
]


def test_kinds_follow_the_format(tmp_path):
    assert XlsxBook(_book(tmp_path, ROWS)).read_sheet("S") == [EXPECTED]


def test_prefixed_sheet(tmp_path):
    rows = ROWS.replace("<c ", "<x:c ").replace("</c>", "</x:c>").replace("<v>", "<x:v>")
    rows = rows.replace("</v>", "</x:v>").replace("<f>", "<x:f>").replace("</f>", "</x:f>")
    rows = rows.replace("<row", "<x:row").replace("</row>", "</x:row>")
    assert XlsxBook(_book(tmp_path, rows, prefix="x")).read_sheet("S") == [EXPECTED]


@pytest.mark.parametrize("chunk", [1, 3, 7, 50])
def test_chunk_boundaries(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(package, "CHUNK", chunk)
    many = "".join(
        f'<row r="{r}"><c r="A{r}" s="2"><v>{43000 + r}</v></c>'
        f'<c r="B{r}" s="1"><v>{43000 + r}.5</v></c></row>' for r in range(1, 40)
    )
    read = XlsxBook(_book(tmp_path, many)).read_sheet("S")
    base = dt.date(1899, 12, 30)
    assert read == [
        [dt.datetime.combine(base + dt.timedelta(days=43000 + r), dt.time()),
         base + dt.timedelta(days=43000 + r)]
        for r in range(1, 40)
    ]


def test_openpyxl_written_dates(tmp_path):
    from openpyxl import load_workbook

    path = openpyxl_book(tmp_path / "o.xlsx", {"S": [[dt.datetime(2020, 1, 2), 43832.75]]})
    wb = load_workbook(path)
    wb["S"]["B1"].number_format = "yyyy-mm-dd"
    wb.save(path)
    assert XlsxBook(path).read_sheet("S") == [[dt.datetime(2020, 1, 2), dt.date(2020, 1, 2)]]


def test_other_attribute_order_reads_by_the_format(tmp_path):
    # the exact reader reads a sheet spelled otherwise than Excel writes it
    rows = '<row r="1"><c s="2" r="A1"><v>43832</v></c></row>'
    assert XlsxBook(_book(tmp_path, rows)).read_sheet("S") == [[dt.datetime(2020, 1, 2)]]
