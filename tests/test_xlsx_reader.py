"""xlsx/reader.py: values as the analyst sees them, positions, sheet names, bad files."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.xlsx_fixtures import (
    STYLES,
    R,
    build_xlsx,
    macro_book,
    openpyxl_book,
    package_parts,
    sheet_xml,
    styled_book,
)
from xl_ameyo.columns import CellError
from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx import package, scans
from xl_ameyo.xlsx.reader import XlsxBook


def book(tmp_path: Path, rows: str, *, name: str = "Data", **kwargs) -> Path:
    parts = package_parts([(name, sheet_xml(rows, prefix=kwargs.pop("prefix", "")))],
                          prefix=kwargs.pop("wb_prefix", ""), **kwargs)
    return build_xlsx(tmp_path / "book.xlsx", parts)


# --- values -----------------------------------------------------------------------------------


def test_values_by_kind(tmp_path):
    rows = (
        '<row r="1">'
        '<c r="A1" t="s"><v>0</v></c>'  # shared string
        '<c r="B1" t="inlineStr"><is><t xml:space="preserve">  padded </t></is></c>'
        '<c r="C1"><v>42</v></c>'
        '<c r="D1"><v>3.25</v></c>'
        '<c r="E1" t="b"><v>1</v></c>'
        '<c r="F1" t="b"><v>0</v></c>'
        '<c r="G1" s="1"><v>43832</v></c>'  # date
        '<c r="H1" s="2"><v>43832.5</v></c>'  # date-time
        '<c r="I1" s="3"><v>0.25</v></c>'  # time
        '<c r="J1" s="4"><v>1.5</v></c>'  # [h]:mm:ss duration
        '<c r="K1" t="s"><v>1</v></c>'  # shared empty string
        '<c r="L1" s="5"/>'  # styled, empty
        '<c r="M1" t="inlineStr"><is><t>05566009041</t></is></c>'
        '<c r="N1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'  # formula with text result
        '<c r="O1"><f>C1*2</f><v>84</v></c>'  # formula with number result
        "</row>"
    )
    path = book(tmp_path, rows, shared_strings=["text", ""], styles=STYLES)
    assert XlsxBook(path).read_sheet("Data") == [[
        "text", "  padded ", 42.0, 3.25, True, False, dt.date(2020, 1, 2),
        dt.datetime(2020, 1, 2, 12, 0), dt.time(6, 0), dt.timedelta(days=1, hours=12),
        None, None, "05566009041", "ab", 84.0,
    ]]


def test_error_cells_come_back_as_cell_error(tmp_path):
    rows = (
        '<row r="1"><c r="A1" t="e"><v>#N/A</v></c><c r="B1" t="e"><v>#REF!</v></c>'
        '<c r="C1" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D1"><v>1</v></c>'
        "<c r='E1' t='e'><v>#NAME?</v></c></row>"
        '<row r="2"><c r="A2" t="e" s="0"><f>NA()</f><v>#N/A</v></c></row>'
    )
    assert XlsxBook(book(tmp_path, rows)).read_sheet("Data") == [
        [CellError("#N/A"), CellError("#REF!"), CellError("#DIV/0!"), 1.0, CellError("#NAME?")],
        [CellError("#N/A"), None, None, None, None],
    ]


def test_formula_text_mentioning_e_is_not_an_error(tmp_path):
    rows = (
        '<row r="1"><c r="A1" t="str"><f>IF(B1="e","e","x")</f><v>e</v></c>'
        '<c r="B1" t="inlineStr"><is><t>"e" \'e\'</t></is></c>'
        '<c r="C1" t="e"><f>IF(B1="e",NA(),1)</f><v>#N/A</v></c></row>'
    )
    assert XlsxBook(book(tmp_path, rows)).read_sheet("Data") == [
        ["e", "\"e\" 'e'", CellError("#N/A")]
    ]


def test_rich_text_inline_strings_and_phonetic_runs_read_as_text(tmp_path):
    sst = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><si><r><rPr><b/></rPr><t>rich</t></r><r><t xml:space='
        '"preserve"> text</t></r></si><si><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh>'
        "</si></sst>"
    )
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="inlineStr"><is><r><t>in</t></r><r><t>line</t></r></is></c></row>'
    )
    path = book(tmp_path, rows, shared_strings=sst)
    assert XlsxBook(path).read_sheet("Data") == [["rich text", "漢字", "inline"]]


# --- positions --------------------------------------------------------------------------------


def test_data_starting_at_b3_keeps_sheet_positions(tmp_path):
    rows = (
        '<row r="3"><c r="B3" t="inlineStr"><is><t>h1</t></is></c>'
        '<c r="C3" t="inlineStr"><is><t>h2</t></is></c></row>'
        '<row r="5"><c r="C5" t="e"><v>#N/A</v></c></row>'
    )
    assert XlsxBook(book(tmp_path, rows)).read_sheet("Data") == [
        [None, None, None],
        [None, None, None],
        [None, "h1", "h2"],
        [None, None, None],
        [None, None, CellError("#N/A")],
    ]


def test_error_cell_alone_in_the_last_row_and_column(tmp_path):
    rows = ('<row r="1"><c r="A1"><v>1</v></c></row>'
            '<row r="4"><c r="D4" t="e"><v>#VALUE!</v></c></row>')
    rows_read = XlsxBook(book(tmp_path, rows)).read_sheet("Data")
    assert rows_read[0][0] == 1.0
    assert rows_read[3][3] == CellError("#VALUE!")
    assert len(rows_read) == 4


def test_cells_without_r_attribute_count_positions(tmp_path):
    rows = (
        '<row><c><v>1</v></c><c t="e"><v>#N/A</v></c><c><v>3</v></c></row>'
        '<row><c r="C2"><v>5</v></c><c t="e"><v>#REF!</v></c></row>'
        '<row r="5"><c t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
        '<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    )
    assert XlsxBook(book(tmp_path, rows)).read_sheet("Data") == [
        [1.0, CellError("#N/A"), 3.0, None],
        [None, None, 5.0, CellError("#REF!")],
        [None, None, None, None],
        [None, None, None, None],
        [CellError("#DIV/0!"), None, None, None],
        ["x", None, None, None],
    ]


def test_prefixed_spreadsheetml_and_absolute_targets(tmp_path):
    rows = ('<x:row r="2"><x:c r="B2" t="inlineStr"><x:is><x:t>hi</x:t></x:is></x:c>'
            '<x:c r="C2" t="e"><x:v>#N/A</x:v></x:c></x:row>')
    path = book(tmp_path, rows, prefix="x", wb_prefix="x", absolute_targets=True)
    reader = XlsxBook(path)
    assert reader.sheet_names == ["Data"]
    assert reader.read_sheet("data") == [[None, None, None], [None, "hi", CellError("#N/A")]]


def test_empty_sheet_is_no_rows(tmp_path):
    assert XlsxBook(book(tmp_path, "")).read_sheet("Data") == []


# --- books from real writers ----------------------------------------------------------------


def test_openpyxl_book_with_cached_formulas_and_errors(tmp_path):
    reader = XlsxBook(styled_book(tmp_path / "styled.xlsx"))
    assert reader.sheet_names == ["Leads", "Notes"]
    assert reader.read_sheet("Leads") == [
        ["name", "phone1", "amount", "double", "merged"],
        ["Ann", "05566009041", 42.0, 84.0, None],
        ["Bob", 9876543210.0, 0.0, CellError("#DIV/0!"), None],
        ["Cy", CellError("#N/A"), 7.0, 14.0, None],
    ]
    assert reader.read_sheet("NOTES") == [[None] * 3, [None] * 3, [None, "see Leads", 43.0]]


def test_excel_made_xlsm(tmp_path):
    reader = XlsxBook(macro_book(tmp_path / "macro.xlsm"))
    assert reader.sheet_names == ["Sheet1", "_xlwings.conf"]
    assert reader.read_sheet("sheet1") == [
        ["python", "double", None], [42.0, 84.0, CellError("#DIV/0!")]
    ]


def test_dates_from_openpyxl(tmp_path):
    path = openpyxl_book(tmp_path / "d.xlsx", {"S": [
        [dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5), dt.time(13, 14, 15),
         dt.timedelta(hours=30, minutes=5)]
    ]})
    assert XlsxBook(path).read_sheet("S") == [[
        dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5), dt.time(13, 14, 15),
        dt.timedelta(hours=30, minutes=5),
    ]]


# --- sheet names ----------------------------------------------------------------------------


def test_find_sheet_is_case_insensitive(tmp_path):
    path = openpyxl_book(tmp_path / "n.xlsx", {"Settings": [["a"]], "Leads 2024": [["b"]]})
    reader = XlsxBook(path)
    assert reader.sheet_names == ["Settings", "Leads 2024"]
    assert reader.find_sheet("SETTINGS") == "Settings"
    assert reader.find_sheet(" leads 2024 ") == "Leads 2024"
    assert reader.find_sheet("Mapping") is None
    assert reader.read_sheet("leads 2024") == [["b"]]


def test_missing_sheet_names_file_and_sheets(tmp_path):
    path = openpyxl_book(tmp_path / "n.xlsx", {"Settings": [["a"]]})
    with pytest.raises(WorkbookFileError) as info:
        XlsxBook(path).read_sheet("Mapping")
    assert "n.xlsx" in str(info.value)
    assert "'Mapping'" in str(info.value)
    assert "Settings" in str(info.value)


# --- files that are not readable workbooks -------------------------------------------------


def _error_for(path: Path) -> str:
    with pytest.raises(WorkbookFileError) as info:
        XlsxBook(path)
    text = str(info.value)
    assert "\n" not in text
    assert path.name in text
    return text


def test_missing_file(tmp_path):
    assert "does not exist" in _error_for(tmp_path / "nope.xlsx")


def test_folder(tmp_path):
    folder = tmp_path / "dir.xlsx"
    folder.mkdir()
    assert "folder" in _error_for(folder)


def test_csv_renamed(tmp_path):
    path = tmp_path / "leads.xlsx"
    path.write_text("name,phone\nAnn,123\n")
    assert "not an Excel workbook" in _error_for(path)


def test_old_xls(tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert ".xls" in _error_for(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert "damaged" in _error_for(path)


def test_truncated_zip(tmp_path):
    path = styled_book(tmp_path / "cut.xlsx")
    path.write_bytes(path.read_bytes()[:-200])
    assert "damaged" in _error_for(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<document/>")
    assert "no workbook part" in _error_for(path)


def test_xlsb(tmp_path):
    path = tmp_path / "bin.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.bin", b"\0")
    assert ".xlsb" in _error_for(path)


def test_broken_workbook_xml(tmp_path):
    parts = package_parts([("Data", sheet_xml(""))])
    parts["xl/workbook.xml"] = "<workbook><sheets>"
    assert "damaged" in _error_for(build_xlsx(tmp_path / "bad.xlsx", parts))


def test_corrupt_sheet_part(tmp_path):
    path = book(tmp_path, '<row r="1"><c r="A1" t="e"><v>#N/A</v></c></row>')
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + 10
    data[start : start + 8] = b"\xff" * 8  # garbage in the deflate stream
    path.write_bytes(bytes(data))
    reader = XlsxBook(path)
    with pytest.raises(WorkbookFileError) as exc:
        reader.read_sheet("Data")
    assert "book.xlsx" in str(exc.value)


def test_workbook_part_in_an_unusual_place(tmp_path):
    parts = package_parts([("Data", sheet_xml(""))], workbook_member="xl/wb2.xml")
    assert "unusual layout" in _error_for(build_xlsx(tmp_path / "odd.xlsx", parts))


# --- the error overlay's scanner ------------------------------------------------------------


def _scan(xml: bytes, chunk: int) -> list[tuple[int, int, str]]:
    scanner = scans.ErrorCellScanner()
    for i in range(0, len(xml), chunk):
        scanner.feed(xml[i : i + chunk])
    return scanner.finish()


SCAN_XML = (
    b'<worksheet><sheetData><row r="1"><c r="A1" t="e"><f>IF(B1="e",1,2)</f><v>#N/A</v></c>'
    b'<c r="B1" t="inlineStr"><is><t>"e"</t></is></c><c r="C1" s="1" t="e" cm="1">'
    b'<v>#DIV/0!</v></c></row><row r="7"><c r="AB7" t="e"><v>#REF!</v></c>'
    b'<c r="AC7" t="e"/><c r="AD7" t="n"><v>1</v></c><c r="AE7" t="inlineStr"><is><t>t="e"'
    b"</t></is></c></row></sheetData></worksheet>"
)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 16, 64, 10_000])
def test_scanner_is_independent_of_chunk_boundaries(chunk):
    assert _scan(SCAN_XML, chunk) == [
        (0, 0, "#N/A"), (0, 2, "#DIV/0!"), (6, 27, "#REF!")
    ]  # AC7, an error cell without a value, holds none


def test_scanner_fast_path_and_what_it_leaves_to_the_spelling_proof():
    """The scanner reads Excel's spelling only; a cell spelled otherwise (no r, another
    order) is the spelling scan's to refuse, and the exact reader then reads the sheet."""
    from xl_ameyo.xlsx.spelling import SpellingScanner

    assert _scan(b"<sheetData><row><c><v>1</v></c></row></sheetData>", 4) == []
    for odd in (b'<c t="e"><v>#N/A</v></c>', b'<c t="e" r="A1"><v>#N/A</v></c>',
                b"<c r='A1' t='e'><v>#N/A</v></c>"):
        xml = b"<worksheet><sheetData><row>" + odd + b"</row></sheetData></worksheet>"
        assert _scan(xml, 4) == []
        spelling = SpellingScanner()
        spelling.feed(xml)
        assert spelling.finish() is not None


@pytest.mark.parametrize("chunk", [7, 10_000])
def test_an_error_cell_not_closed_does_not_take_the_next_cells_value(chunk):
    xml = (b'<worksheet><sheetData><row r="2"><c r="A2" t="e"><c r="B2" t="e"><v>#REF!</v>'
           b'</c><c r="C2"><v>1</v></c></row></sheetData></worksheet>')
    assert _scan(xml, chunk) == [(1, 1, "#REF!")]


def test_many_errors_across_small_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(package, "CHUNK", 97)
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="e"><v>#N/A</v></c><c r="B{r}"><v>{r}</v>'
                   "</c></row>" for r in range(1, 501))
    read = XlsxBook(book(tmp_path, rows)).read_sheet("Data")
    assert read == [[CellError("#N/A"), float(r)] for r in range(1, 501)]


def test_no_file_handle_stays_open(tmp_path):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc")
    path = styled_book(tmp_path / "open.xlsx")
    reader = XlsxBook(path)
    reader.read_sheet("Leads")
    held = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")]
    assert str(path) not in held


# --- the scanner against a full parse, on generated sheets ---------------------------------

_CODES = ["#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!"]


@st.composite
def _sheets(draw):
    rows = []
    for r in range(1, draw(st.integers(1, 6)) + 1):
        cells = []
        for c in range(draw(st.integers(0, 5))):
            ref = f"{'ABCDEFGH'[c]}{r}"
            kind = draw(st.sampled_from(["e", "ef", "n", "s", "fs"]))
            code = draw(st.sampled_from(_CODES))
            if kind == "e":
                cells.append(f'<c r="{ref}" t="e"><v>{code}</v></c>')
            elif kind == "ef":
                cells.append(f'<c r="{ref}" s="2" t="e"><f>IF(A1="e",NA(),1)</f><v>{code}</v></c>')
            elif kind == "n":
                cells.append(f'<c r="{ref}"><v>{r}</v></c>')
            elif kind == "s":
                cells.append(f"<c r=\"{ref}\" t=\"inlineStr\"><is><t>\"e\" 'e'</t></is></c>")
            else:
                cells.append(f'<c r="{ref}" t="str"><f>"e"</f><v>e</v></c>')
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    return f'<worksheet><sheetData>{"".join(rows)}</sheetData></worksheet>'.encode()


@settings(max_examples=200, deadline=None)
@given(xml=_sheets(), chunk=st.integers(1, 80))
def test_scanner_matches_a_full_parse(xml, chunk):
    from xl_ameyo.columns import CellError
    from xl_ameyo.xlsx.sheetxml import read_sheet_xml

    rows = read_sheet_xml([xml], shared=list, styles={}).rows
    expected = [(r, c, v.code) for r, row in enumerate(rows) for c, v in enumerate(row)
                if isinstance(v, CellError)]
    assert _scan(xml, chunk) == expected


def test_sheet_names_with_xml_entities_and_chartsheets(tmp_path):
    parts = package_parts([
        ("R&amp;D 'x'", sheet_xml('<row r="1"><c r="A1" t="e"><v>#N/A</v></c></row>')),
        ("Chart1", sheet_xml("")),
    ])
    rels = "xl/_rels/workbook.xml.rels"
    parts[rels] = parts[rels].replace('rId2" Type="' + R + "/worksheet",
                                      'rId2" Type="' + R + "/chartsheet")
    reader = XlsxBook(build_xlsx(tmp_path / "names.xlsx", parts))
    assert reader.sheet_names == ["R&D 'x'", "Chart1"]
    assert reader.read_sheet("r&d 'X'") == [[CellError("#N/A")]]
    with pytest.raises(WorkbookFileError) as info:
        reader.read_sheet("Chart1")
    assert "chartsheet" in str(info.value)


# --- sheets too large to read ---------------------------------------------------------------

FAR = '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>'


@pytest.mark.parametrize("dimension", ["A1:XFD1048576", None])
def test_stray_far_value_is_refused_not_a_crash(tmp_path, dimension):
    rows = '<row r="1"><c r="A1"><v>1</v></c></row>' + FAR
    path = build_xlsx(tmp_path / "far.xlsx",
                      package_parts([("S", sheet_xml(rows, dimension=dimension))]))
    with pytest.raises(WorkbookFileError) as info:
        XlsxBook(path).read_sheet("S")
    message = str(info.value)
    assert "far.xlsx" in message and "XFD1048576" in message and "Ctrl+End" in message


def test_far_formatting_only_is_fine(tmp_path):
    rows = ('<row r="1"><c r="A1"><v>1</v></c></row>'
            '<row r="1048576"><c r="XFD1048576" s="0"/></row>')
    path = build_xlsx(tmp_path / "fmt.xlsx",
                      package_parts([("S", sheet_xml(rows, dimension="A1:XFD1048576"))]))
    assert XlsxBook(path).read_sheet("S") == [[1.0]]


def test_extent_limit_without_dimension(tmp_path, monkeypatch):
    monkeypatch.setattr(scans, "MAX_CELLS", 20)
    monkeypatch.setattr(scans, "CHUNK_SIZE", 13)
    small = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="D{r}" t="inlineStr">'
                    f"<is><t>x</t></is></c></row>" for r in range(1, 6))
    path = build_xlsx(tmp_path / "ok.xlsx", package_parts([("S", sheet_xml(small))]))
    assert len(XlsxBook(path).read_sheet("S")) == 5  # 5 x 4 = 20 cells
    wide = small + '<row r="6"><c r="E6"><v>1</v></c></row>'
    path = build_xlsx(tmp_path / "wide.xlsx", package_parts([("S", sheet_xml(wide))]))
    with pytest.raises(WorkbookFileError) as info:
        XlsxBook(path).read_sheet("S")
    assert "E6" in str(info.value)


def test_sheet_names_are_the_ones_python_calamine_reads(tmp_path):
    from python_calamine import CalamineWorkbook

    names = ["Données 2024", "R&amp;D", "a  b", "Ünï'x", "漢字", "_xlnm"]
    parts = package_parts([(n, sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>'))
                           for n in names])
    for path in (build_xlsx(tmp_path / "n.xlsx", parts), macro_book(tmp_path / "m.xlsm"),
                 styled_book(tmp_path / "s.xlsx")):
        with CalamineWorkbook.from_path(str(path)) as wb:
            expected = wb.sheet_names
        reader = XlsxBook(path)
        assert reader.sheet_names == expected
        for name in expected:
            reader.read_sheet(name)


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.sampled_from([b"<", b"f", b"!", b"-", b"?", b"x", b"m", b"l", b"n",
                                       b"s", b"c", b"[", b"/", b" ", b"i", b'="', b"h",
                                       b"sheetData", b"</sheetData"]), max_size=40),
       case=st.sampled_from([(b"<f", None), (b"<!--", None), (b"<![CDATA[", None),
                             (b"<?", None), (b"xmlns", None), (b"<f/>", None),
                             (b' si="', 2), (b"</sheetData", 3)]),
       pos=st.integers(0, 45), end=st.integers(0, 45))
def test_the_spelling_scans_search_is_bytes_find(parts, case, pos, end):
    from xl_ameyo.xlsx.spelling import _find

    needle, probe = case
    buf = b"".join(parts)
    assert _find(buf, needle, pos, end, probe) == buf.find(needle, pos, end)


#: (cell XML, whether it is a formula without a saved result)
_FORMULA_CELLS = [
    ('<c r="A{r}"><f>1+1</f></c>', True),
    ('<c r="B{r}"><f>1+1</f><v></v></c>', True),
    ('<c r="C{r}"><f>1+1</f><v/></c>', True),
    ('<c r="D{r}" t="str"><f>""</f><v></v></c>', False),  # its saved result: empty text
    ('<c r="E{r}"><f t="shared" si="0"/></c>', True),
    ('<c r="F{r}"><f/></c>', True),
    ('<c r="G{r}"><f>VLOOKUP(A1,Old!A:B,2,0)</f><v>2</v></c>', False),
    ('<c r="H{r}"><f t="shared" si="0"/><v>3</v></c>', False),
    ('<c r="I{r}"><f>A1</f>\n <v> </v> </c>', True),
    ('<c r="J{r}" t="e"><f>NA()</f><v>#N/A</v></c>', False),
    ('<c r="K{r}" t="s"><v>4</v></c>', False),
]


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.sampled_from(range(len(_FORMULA_CELLS))), max_size=30),
       cuts=st.lists(st.integers(1, 400), max_size=6))
def test_formulas_without_a_saved_result_wherever_the_chunks_end(cells, cuts):
    from xl_ameyo.xlsx.spelling import SpellingScanner

    rows = "".join(f'<row r="{r + 2}">{_FORMULA_CELLS[k][0].format(r=r + 2)}</row>'
                   for r, k in enumerate(cells))
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = (f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
           f"{rows}</sheetData></worksheet>").encode()
    scanner = SpellingScanner()
    at = 0
    for cut in [*cuts, len(xml)]:
        scanner.feed(xml[at : at + cut])
        at += cut
    scanner.feed(xml[at:])
    assert scanner.finish() is None
    want = [(r + 1, "ABCDEFGHIJK".index(_FORMULA_CELLS[k][0][6])) for r, k in enumerate(cells)
            if _FORMULA_CELLS[k][1]]
    assert sorted(scanner.unsaved) == want


#: cells of every kind the error scan must tell apart (a t="e" in a formula or a text too)
_SCAN_CELLS = [
    '<c r="A{r}" t="e"><v>#N/A</v></c>',
    '<c r="B{r}" s="3" t="e"><f>IF(A1="e",1,2)</f><v>#DIV/0!</v></c>',
    '<c r="C{r}" t="e" cm="1"><v>#SPILL!</v></c>',
    '<c r="D{r}" t="e"/>',
    '<c r="E{r}" t="inlineStr"><is><t>t="e"</t></is></c>',
    '<c r="F{r}" t="s"><v>7</v></c>',
    '<c r="G{r}"><f>"t=""e"""</f><v>1</v></c>',
    '<c r="H{r}" t="e">',  # left open: its value would be the next cell's
    '<c r="AB{r}" t="e"><v>#REF!</v></c>',
]


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.sampled_from(range(len(_SCAN_CELLS))), max_size=25),
       chunk=st.integers(1, 300))
def test_error_scan_finds_what_a_regex_over_the_whole_part_finds(cells, chunk):
    """The scan looks only where a t="e" is; a regex over the whole part is the definition
    (Excel's spelling: the spelling proof refuses any other)."""
    import re

    body = "".join(f'<row r="{r + 1}">{_SCAN_CELLS[k].format(r=r + 1)}</row>'
                   for r, k in enumerate(cells))
    xml = f"<worksheet><sheetData>{body}</sheetData></worksheet>".encode()
    want = []
    for m in scans._ERROR_CELL.finditer(xml):
        close, after = xml.find(b"</c>", m.end()), xml.find(b"<c ", m.end())
        if close >= 0 and (after < 0 or close < after):
            value = re.compile(rb"<v>([^<]*)</v>").search(xml, m.end(), close)
            if value is not None:
                want.append((int(m.group(2)) - 1, scans.column_index(m.group(1)),
                             value.group(1).decode()))
    assert _scan(xml, chunk) == want
