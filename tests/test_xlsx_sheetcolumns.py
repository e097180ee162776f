"""``XlsxBook.sheet_columns``: every shape of sheet as columns with cell kinds (what the rules
consume), the same whichever route reads it. Mixed columns (typed text among numbers, error
results, a date among texts) stay on the columnar route, their misfit cells put in from the
XML; the per-cell reads (python-calamine corrected, or the exact reader) are the reference."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_xlsx_spellings import SPELLINGS, write
from tests.xlsx_fixtures import NS, build_xlsx, package_parts, sheet_xml
from xl_ameyo.columns import NUMERIC_KINDS, Kind
from xl_ameyo.xlsx.reader import XlsxBook
from xl_ameyo.xlsx.tocolumns import from_stream

FIXTURES = Path(__file__).parent / "fixtures"
STYLES = (
    f'<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" '
    'formatCode="00000"/></numFmts><cellXfs count="4"><xf numFmtId="0"/>'
    '<xf numFmtId="14"/><xf numFmtId="22"/><xf numFmtId="164"/></cellXfs></styleSheet>'
)


def _reference(path: Path, name: str):
    return from_stream(XlsxBook(path).stream_columns(name))


def assert_same(got, want) -> None:
    assert got.header == want.header
    assert got.rows == want.rows
    assert list(got.nonempty) == list(want.nonempty)
    assert sorted(got.unsaved) == sorted(want.unsaved)
    for k in sorted(set(got.columns) | set(want.columns)):
        a, b = got.column(k), want.column(k)
        assert a.kinds.tolist() == b.kinds.tolist(), k
        kinds = a.kinds
        numeric = np.isin(kinds, list(NUMERIC_KINDS))
        if numeric.any():
            x, y = a.number[numeric], b.number[numeric]
            assert np.allclose(x, y, rtol=0, atol=1e-8) and (
                x[np.isin(kinds[numeric], [Kind.NUMBER, Kind.BOOL])]
                == y[np.isin(kinds[numeric], [Kind.NUMBER, Kind.BOOL])]).all(), k
            pa_ = a.pad if a.pad is not None else np.zeros(len(kinds), np.int8)
            pb = b.pad if b.pad is not None else np.zeros(len(kinds), np.int8)
            assert pa_[numeric].tolist() == pb[numeric].tolist(), k
        texty = np.flatnonzero(np.isin(kinds, [Kind.TEXT, Kind.ERROR]))
        if len(texty):
            assert (a.text.take(texty).to_pylist() == b.text.take(texty).to_pylist()), k


@pytest.mark.parametrize("name", list(SPELLINGS))
def test_every_spelling_as_columns(tmp_path, name):
    path = write(tmp_path / "s.xlsx", SPELLINGS[name])
    assert_same(XlsxBook(path).sheet_columns("Leads"), _reference(path, "Leads"))


def test_newer_error_codes_stay_on_the_columnar_route(tmp_path):
    """fastexcel reads a copy whose newer codes (#GETTING_DATA, #SPILL!, unknown ones) are
    #N/A; the columns hold the real codes, from the XML."""
    path = write(tmp_path / "s.xlsx", SPELLINGS["excel"])
    got = XlsxBook(path).sheet_columns("Leads")
    assert got.route == "arrow"
    assert_same(got, _reference(path, "Leads"))
    code = got.column(6)
    assert code.text.to_pylist() == ["#N/A", "#GETTING_DATA", None, "#SPILL!",
                                     "#SOMETHING_NEW!"]


def test_self_closing_error_cells_in_any_spelling(tmp_path):
    """An error cell without a value holds none: empty on every route, as the exact reader
    reads it; spelled otherwise than Excel does (single quotes), the class scan sends the
    sheet away from the Arrow route."""
    head = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>Code</t></is></c></row>')
    body = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>n{r}</t></is></c>{cell}'
                   "</row>" for r, cell in ((2, '<c r="B2"><v>1</v></c>'),
                                            (3, '<c r="B3" t="e"/>'), (4, "{odd}")))
    for odd, route in (('<c r="B4" s="0" t="e"/>', "arrow"),
                       ('<c r="B4" t="e"><v>#N/A</v></c>', "arrow"),
                       ("<c r='B4' t='e'><v>#N/A</v></c>", "cells")):
        path = build_xlsx(tmp_path / f"{route}.xlsx", package_parts(
            [("Leads", sheet_xml(head + body.replace("{odd}", odd)))], styles=STYLES))
        got = XlsxBook(path).sheet_columns("Leads")
        assert got.route == route
        assert_same(got, _reference(path, "Leads"))
        last = Kind.EMPTY if odd.endswith("/>") else Kind.ERROR
        assert got.column(1).kinds.tolist() == [Kind.NUMBER, Kind.EMPTY, last]


@pytest.mark.parametrize("name", ["libreoffice-1900.xlsx", "libreoffice-1904.xlsx"])
def test_libreoffice_books_as_columns(name):
    path = FIXTURES / name
    assert_same(XlsxBook(path).sheet_columns("Leads"), _reference(path, "Leads"))


# --- mixed columns on the columnar route -------------------------------------------------

#: one cell of each kind the columnar route puts in from the XML (with the shared strings)
_CELLS = {
    "num": lambda r, k, v: f'<c r="{k}{r}"><v>{v}</v></c>',
    "pad": lambda r, k, v: f'<c r="{k}{r}" s="3"><v>{v}</v></c>',
    "date": lambda r, k, v: f'<c r="{k}{r}" s="1"><v>{40000 + v % 5000}</v></c>',
    "datetime": lambda r, k, v: f'<c r="{k}{r}" s="2"><v>{40000.25 + v % 5000}</v></c>',
    "shared": lambda r, k, v: f'<c r="{k}{r}" t="s"><v>{v % 4}</v></c>',
    "inline": lambda r, k, v: (f'<c r="{k}{r}" t="inlineStr"><is><t>in &amp; {v}_x0041_</t>'
                               "</is></c>"),
    "str": lambda r, k, v: f'<c r="{k}{r}" t="str"><f>T(1)</f><v>s&lt;{v}</v></c>',
    "bool": lambda r, k, v: f'<c r="{k}{r}" t="b"><v>{v % 2}</v></c>',
    "error": lambda r, k, v: f'<c r="{k}{r}" t="e"><f>NA()</f><v>'
                             f'{["#N/A", "#DIV/0!", "#REF!"][v % 3]}</v></c>',
    "empty": lambda r, k, v: f'<c r="{k}{r}" s="1"/>',
    "none": lambda r, k, v: "",
}
SHARED = ["one", " two ", "", "dré 李"]


def _mixed_book(path: Path, columns: list[list[tuple[str, int]]]) -> Path:
    height = max(len(c) for c in columns)
    letters = "ABCDEFGH"
    rows = ['<row r="1">' + "".join(
        f'<c r="{letters[k]}1" t="inlineStr"><is><t>H{k}</t></is></c>'
        for k in range(len(columns))) + "</row>"]
    for i in range(height):
        r = i + 2
        cells = "".join(_CELLS[col[i][0]](r, letters[k], col[i][1])
                        for k, col in enumerate(columns) if i < len(col))
        rows.append(f'<row r="{r}">{cells}</row>')
    return build_xlsx(path, package_parts([("Leads", sheet_xml("".join(rows)))],
                                          shared_strings=SHARED, styles=STYLES))


def test_a_mixed_phone_column_stays_columnar(tmp_path):
    mobile = [("num", 9000000000 + i) for i in range(300)]
    mobile[7] = ("shared", 3)
    mobile[120] = ("inline", 5)
    mobile[200] = ("error", 0)
    mobile[201] = ("str", 1)
    mobile[250] = ("bool", 1)
    amount = [("num", i) for i in range(300)]
    amount[13] = ("shared", 0)
    amount[17] = ("error", 1)
    amount[40] = ("date", 2)
    names = [("inline", i) for i in range(300)]
    names[3] = ("num", 5)
    path = _mixed_book(tmp_path / "m.xlsx", [names, mobile, amount])
    got = XlsxBook(path).sheet_columns("Leads")
    assert got.route == "arrow"
    assert_same(got, _reference(path, "Leads"))
    kinds = got.column(1).kinds
    assert (kinds[7], kinds[120], kinds[200], kinds[201], kinds[250]) == (
        Kind.TEXT, Kind.TEXT, Kind.ERROR, Kind.TEXT, Kind.BOOL)
    assert got.column(1).text.take([7, 200]).to_pylist() == ["dré 李", "#N/A"]


def test_the_misfits_shared_strings_are_read_beside_fastexcel(tmp_path, monkeypatch):
    """The shared strings a mixed column's typed text uses are read in the scan's thread,
    while fastexcel parses (not after it, on the main thread), with the same values."""
    import threading

    mobile = [("num", 9000000000 + i) for i in range(50)]
    mobile[7], mobile[30] = ("shared", 3), ("shared", 1)
    path = _mixed_book(tmp_path / "m.xlsx", [[("inline", i) for i in range(50)], mobile])
    threads = []
    real = XlsxBook._shared_items

    def recording(self, needed):
        threads.append((threading.current_thread().name, list(needed)))
        return real(self, needed)

    monkeypatch.setattr(XlsxBook, "_shared_items", recording)
    got = XlsxBook(path).sheet_columns("Leads")
    assert got.route == "arrow"
    assert threads == [("xl-ameyo-xmlscan", [1, 3])]
    assert got.column(1).text.take([7]).to_pylist() == ["dré 李"]
    assert_same(got, _reference(path, "Leads"))


@st.composite
def _columns(draw):
    kinds = list(_CELLS)
    width = draw(st.integers(1, 4))
    height = draw(st.integers(1, 40))
    out = []
    for _ in range(width):
        main = draw(st.sampled_from(kinds))
        col = [(draw(st.sampled_from([main] * 6 + kinds)), draw(st.integers(0, 10**9)))
               for _ in range(height)]
        out.append(col)
    return out


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=_columns())
def test_random_mixed_sheets_read_the_same_by_either_route(tmp_path, columns):
    path = _mixed_book(tmp_path / "h.xlsx", columns)
    assert_same(XlsxBook(path).sheet_columns("Leads"), _reference(path, "Leads"))


def test_dates_keep_their_format_kind_on_both_routes(tmp_path):
    col = [("date", 1), ("date", 2), ("datetime", 3), ("num", 4)]
    path = _mixed_book(tmp_path / "d.xlsx", [col])
    got = XlsxBook(path).sheet_columns("Leads")
    assert got.column(0).kinds.tolist() == [Kind.DATE, Kind.DATE, Kind.DATETIME, Kind.NUMBER]
    assert got.column(0).number[0] == (dt.date(2009, 7, 7) - dt.date(1899, 12, 30)).days


def test_dynamic_array_cells_keep_the_columnar_route(tmp_path):
    """Excel writes cm="1" on the cells of a dynamic array formula."""
    rows = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Phone</t></is></c></row>'
            '<row r="2"><c r="A2" cm="1"><f t="array" ref="A2:A3">B2:B3</f><v>9876543210</v>'
            '</c></row><row r="3"><c r="A3"><v>9123456780</v></c></row>')
    path = build_xlsx(tmp_path / "cm.xlsx", package_parts([("Leads", sheet_xml(rows))],
                                                           styles=STYLES))
    got = XlsxBook(path).sheet_columns("Leads")
    assert got.route == "arrow"
    assert_same(got, _reference(path, "Leads"))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=_columns())
def test_the_exact_reader_agrees_with_the_fast_route_on_random_sheets(tmp_path, columns):
    """The exact reader (expat) and python-calamine corrected by the scans give the same
    values, types and paddings, on sheets spelled as Excel spells them."""
    path = _mixed_book(tmp_path / "e.xlsx", columns)
    book = XlsxBook(path)
    fast = book.read_sheet("Leads")
    exact = book.read_exact("Leads", "xl/worksheets/sheet1.xml").rows
    width = max(map(len, fast + exact), default=0)

    def typed(rows: list[list]) -> list[list]:
        rows = [row + [None] * (width - len(row)) for row in rows]
        while rows and not any(v is not None for v in rows[-1]):
            rows.pop()
        return [[(type(v).__name__, v, getattr(v, "width", None)) for v in row]
                for row in rows]

    assert typed(exact) == typed(fast)
