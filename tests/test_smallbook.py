"""xlsx/smallbook.py: small sheets read from a mini workbook give exactly the full workbook's
values; anything unusual falls back to the full workbook; the shared strings are read no
further than needed."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.books import lead_book, mapping_rows, settings_rows, write_book
from tests.xlsx_fixtures import (
    NS,
    STYLES,
    XML_DECL,
    build_xlsx,
    macro_book,
    openpyxl_book,
    package_parts,
    sheet_xml,
    styled_book,
)
from xl_ameyo.columns import CellError
from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx import sharedstrings, smallbook
from xl_ameyo.xlsx.reader import XlsxBook


@pytest.fixture(autouse=True)
def forced(monkeypatch):
    """The mini workbook for every small sheet, however few the shared strings (the tests'
    workbooks are small)."""
    monkeypatch.setattr(smallbook, "MIN_SHARED", 0)
    monkeypatch.setattr(smallbook, "SHARED_PER_SMALL", 0)


def typed(rows: list[list]) -> list[list]:
    return [[(type(v), v) for v in row] for row in rows]


def outcome(path: Path, names: list[str]) -> tuple[str, object, int]:
    """What ``read_sheet`` gives for each sheet inside one ``reading()`` block: values with
    their types, or the error's message and hint; and how many reads the mini book served."""
    try:
        book = XlsxBook(path)
        with book.reading():
            rows = [typed(book.read_sheet(name)) for name in names]
    except WorkbookFileError as exc:
        return "error", (str(exc), exc.hint), 0
    return "rows", rows, book.small_reads


def full_outcome(path: Path, names: list[str]) -> tuple[str, object, int]:
    """:func:`outcome` by the full workbook only (as before the mini workbook)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(smallbook, "MIN_SHARED", 1 << 62)
        return outcome(path, names)


def assert_small_route(path: Path, names: list[str], *, exact: int = 0) -> list[list[list]]:
    """Both routes give the same values, and the mini workbook served every read but
    ``exact`` (sheets spelled otherwise than Excel writes, read by the exact reader); the
    values of each sheet."""
    kind, small, served = outcome(path, names)
    assert kind == "rows", small
    assert served == len(names) - exact
    assert full_outcome(path, names) == ("rows", small, 0)
    return [[[v for _, v in row] for row in rows] for rows in small]  # type: ignore[union-attr]


def assert_falls_back(path: Path, names: list[str]) -> tuple[str, object, int]:
    """The mini workbook is not made (or fails) and the reads are exactly the full ones."""
    book = XlsxBook(path)
    assert smallbook.build(path, book._package) is None
    result = outcome(path, names)
    assert result[2] == 0
    assert result == full_outcome(path, names)
    return result


def mini_parts(path: Path) -> dict[str, bytes]:
    book = smallbook.build(path, XlsxBook(path)._package)
    assert book is not None
    with zipfile.ZipFile(io.BytesIO(book.data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


# --- workbooks the other tests build ----------------------------------------------------------


def _styled(path: Path) -> tuple[Path, list[str]]:
    return styled_book(path.with_suffix(".xlsx"), with_log=True), ["Leads", "Notes", "Log"]


def _macro(path: Path) -> tuple[Path, list[str]]:
    # an Excel-made .xlsm: shared strings, a VBA project, a ribbon, a calcChain
    return macro_book(path.with_suffix(".xlsm"), with_log=True), ["Sheet1", "LOG"]


def _lead(path: Path) -> tuple[Path, list[str]]:
    log = [["timestamp", "sheet", "rows_sent", "status"],
           ["2026-01-01T10:00:00+05:30", "Leads", 2, "ok"]]
    book = lead_book(path, "http://127.0.0.1:9", extra={"Log": log},
                     settings={"timeout_s": 30.5, "update_duplicate": True})
    return book, ["Leads", "Settings", "Mapping", "Log"]


def _values(path: Path) -> tuple[Path, list[str]]:
    rows = [
        ["text", "  padded ", "05566009041", "#N/A", "#REF!", None, ""],
        [42, 3.25, 0.1 + 0.2, True, False, -1e300, 10**15],
        [dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 13, 45, 1), dt.time(6, 30),
         dt.datetime(1900, 3, 1), "=1/0", "=A2*2", "x"],
    ]
    book = write_book(path, {"Data": rows, "Settings": settings_rows("https://a.example"),
                             "Mapping": mapping_rows({"name": "Name", "phone1": None})},
                      cached={"Data": {"E3": ("e", "#DIV/0!"), "F3": (None, "84")}})
    return book, ["Data", "Settings", "Mapping"]


def _openpyxl(path: Path) -> tuple[Path, list[str]]:
    sheets = {"Leads": [["Name", "Mobile"], ["Ann", 9876543210]],
              "Settings": [["Setting", "Value"], ["base_url", "http://x"], ["lead_id", 17]],
              "Empty": []}
    return openpyxl_book(path, sheets), list(sheets)


@pytest.mark.parametrize("make", [_styled, _macro, _lead, _values, _openpyxl],
                         ids=lambda f: f.__name__.strip("_"))
def test_workbooks_of_the_other_tests_read_the_same(tmp_path, make):
    path, names = make(tmp_path / "book.xlsx")
    assert_small_route(path, names)


def test_excel_made_shared_strings_are_renumbered(tmp_path):
    path, names = _macro(tmp_path / "book")
    sheet1, _ = assert_small_route(path, names)
    assert sheet1[0][:2] == ["python", "double"]
    book = smallbook.build(path, XlsxBook(path)._package)
    assert book is not None and book.strings > 1
    parts = mini_parts(path)
    sst = parts["xl/sharedStrings.xml"]
    assert sst.count(b"<si>") == book.strings
    assert f'count="{book.strings}" uniqueCount="{book.strings}"'.encode() in sst
    with zipfile.ZipFile(path) as zf:
        original = zf.read("xl/sharedStrings.xml")
        assert b'<c r="A1" t="s"><v>13</v></c>' in zf.read("xl/worksheets/sheet1.xml")
    # A1's index 13 became the place of the same item among those copied
    new = re.search(rb'<c r="A1" t="s"><v>([0-9]+)</v></c>', parts["xl/worksheets/sheet1.xml"])
    assert new is not None
    item = re.compile(rb"<si>.*?</si>", re.S)
    assert item.findall(sst)[int(new.group(1))] == item.findall(original)[13]
    assert len(sst) < len(original)
    assert not any("vbaProject" in name for name in parts)  # not read by python-calamine


# --- hand-made packages: the needed strings at the end of a big part -------------------------

#: items as writers write them, and what python-calamine reads in them
ITEMS = [
    ("<si><t>plain</t></si>", "plain"),
    ('<si><r><rPr><b/><sz val="11"/></rPr><t>rich</t></r><r><t xml:space="preserve"> text'
     "</t></r></si>", "rich text"),
    ('<si><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh><phoneticPr fontId="1"/></si>',
     "漢字"),
    ('<si><t xml:space="preserve">  padded </t></si>', "  padded "),
    ("<si><t>line_x000D_\nbreak_x0009_tab</t></si>", "line\r\nbreak\ttab"),
    ('<si><t>&lt;tag&gt; &amp; "quotes"</t></si>', '<tag> & "quotes"'),
    ("<si><t>0123</t></si>", "0123"),
]


def big_book(path: Path, small_sheets: list[tuple[str, str]], items: list[str], *,
             filler: int = 200_000, data_rows: int = 3000, between: str = "",
             last: str = "</sst>") -> Path:
    """A data sheet first whose strings fill the shared-strings part (``filler`` items), then
    ``small_sheets`` (name, rows XML) using ``items``, which follow at the end of the part:
    the small sheets' item k is index ``filler + k``."""
    fill = between.join(f"<si><t>filler {i}</t></si>" for i in range(filler))
    sst = (f'{XML_DECL}<sst xmlns="{NS}" count="{filler + len(items)}" '
           f'uniqueCount="{filler + len(items)}">{fill}{between}{between.join(items)}{last}')
    data = "".join(
        f'<row r="{r}"><c r="A{r}" t="s"><v>{r % filler}</v></c><c r="B{r}"><v>{r}</v></c>'
        "</row>" for r in range(1, data_rows + 1)
    )
    sheets = [("Leads", sheet_xml(data)), *((n, sheet_xml(x)) for n, x in small_sheets)]
    parts = package_parts(sheets, shared_strings=sst, styles=STYLES)
    return build_xlsx(path, parts)


def s_cell(ref: str, k: int, filler: int = 200_000, quote: str = '"') -> str:
    """A shared-string cell holding the small sheets' item ``k``."""
    q = quote
    return f"<c r={q}{ref}{q} t={q}s{q}><v>{filler + k}</v></c>"


def test_strings_at_the_end_of_a_big_part(tmp_path, monkeypatch):
    monkeypatch.setattr(smallbook, "SMALL_PART", 50_000)  # the data sheet is big
    settings_xml = "".join(
        f'<row r="{k + 1}"><c r="A{k + 1}" t="inlineStr"><is><t>key{k}</t></is></c>'
        f"{s_cell(f'B{k + 1}', k)}</row>" for k in range(len(ITEMS))
    ) + (  # a date, a boolean, an error cell, a number next to them
        '<row r="9"><c r="A9" s="1"><v>45351</v></c><c r="B9" t="b"><v>1</v></c>'
        '<c r="C9" t="e"><v>#N/A</v></c><c r="D9"><v>17</v></c></row>'
    )
    mapping_xml = (  # other attribute orders and quotes; the same item twice
        "<row r=\"1\"><c t='s' r='A1'><v>200000</v></c>"
        '<c s="0" t="s" r="B1"><v>200003</v></c><c r="C1" t="s" s="5"><v>200000</v></c></row>'
    )
    log_xml = f'<row r="1">{s_cell("A1", 6)}<c r="B1" t="str"><f>A1</f><v>0123</v></c></row>'
    path = big_book(tmp_path / "big.xlsx",
                    [("Settings", settings_xml), ("Mapping", mapping_xml), ("Log", log_xml)],
                    [item for item, _ in ITEMS])
    settings, mapping, log = assert_small_route(path, ["Settings", "Mapping", "Log"], exact=1)
    assert [row[1] for row in settings[: len(ITEMS)]] == [text for _, text in ITEMS]
    assert settings[8] == [dt.date(2024, 2, 29), True, CellError("#N/A"), 17.0]
    assert mapping == [["plain", "  padded ", "plain"]]
    assert log == [["0123", "0123"]]

    book = smallbook.build(path, XlsxBook(path)._package)
    assert book is not None and book.strings == len(ITEMS)
    assert book.members == {"xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml",
                            "xl/worksheets/sheet4.xml"}
    parts = mini_parts(path)
    assert parts["xl/worksheets/sheet1.xml"] == smallbook.EMPTY_SHEET  # the data sheet
    sst = parts["xl/sharedStrings.xml"]
    for item, _ in ITEMS:  # byte for byte
        assert item.encode() in sst

    # the data sheet itself: the full workbook, as before
    reader = XlsxBook(path)
    with reader.reading():
        reader.read_sheet("Settings")
        leads = reader.read_sheet("Leads")
        assert reader.small_reads == 1
    assert leads[0] == ["filler 1", 1.0] and len(leads) == 3000


@pytest.mark.parametrize("between", ["", "\n  "], ids=["packed", "pretty-printed"])
def test_item_forms_python_calamine_counts(tmp_path, monkeypatch, between):
    """``<si/>`` and ``<si attr>`` count as items; white space between items is allowed."""
    monkeypatch.setattr(sharedstrings, "MAX_LOOKED_INTO", 1000)
    items = ['<si foo="1"><t>with attribute</t></si>', "<si/>", "<si />",
             '<si\n><t xml:space="preserve">after newline</t></si>', "<si><t>last</t></si>"]
    rows = "".join(f'<row r="{k + 1}">{s_cell(f"A{k + 1}", k, 2000)}</row>'
                   for k in range(len(items)))
    path = big_book(tmp_path / "forms.xlsx", [("Settings", rows)], items, filler=2000,
                    data_rows=5, between=between)
    (values,) = assert_small_route(path, ["Settings"])
    assert [row[0] for row in values] == ["with attribute", None, None, "after newline", "last"]


def test_inline_strings_need_no_shared_strings(tmp_path):
    rows = ('<row r="1"><c r="A1" t="inlineStr"><is><t>key</t></is></c>'
            '<c r="B1" t="inlineStr"><is><r><t>in</t></r><r><t>line</t></r></is></c></row>')
    path = big_book(tmp_path / "inline.xlsx", [("Settings", rows)], [], filler=1000)
    assert assert_small_route(path, ["Settings"]) == [[["key", "inline"]]]
    book = smallbook.build(path, XlsxBook(path)._package)
    # the data sheet (small here) is in the mini workbook too: only its strings are needed
    assert book is not None and book.strings == 1000


def test_no_shared_strings_read_when_no_small_sheet_uses_them(tmp_path, monkeypatch):
    monkeypatch.setattr(smallbook, "SMALL_PART", 50_000)
    rows = '<row r="1"><c r="A1" t="inlineStr"><is><t>key</t></is></c></row>'
    path = big_book(tmp_path / "inline.xlsx", [("Settings", rows)], [], filler=1000)
    book = smallbook.build(path, XlsxBook(path)._package)
    assert book is not None and (book.strings, book.shared_read) == (0, 0)
    assert "xl/sharedStrings.xml" not in mini_parts(path)
    assert_small_route(path, ["Settings"])


def test_t_s_outside_a_cell_type_is_left_alone(tmp_path):
    """``t="s"`` in another attribute's value, in text or in a formula is no shared-string
    cell: those values stay as they are."""
    rows = (
        """<row r="1"><c r="A1" foo=' t="s"'><v>5</v></c>"""
        """<c r="B1" t="inlineStr"><is><t>a t="s" b</t></is></c>"""
        """<c r="C1"><f>IF(A1=" t=\"s\"",1,2)</f><v>2</v></c>"""
        f"{s_cell('D1', 1, 10)}</row>"
    )
    path = big_book(tmp_path / "t.xlsx", [("Settings", rows)],
                    ["<si><t>zero</t></si>", "<si><t>one</t></si>"], filler=10, data_rows=3)
    assert assert_small_route(path, ["Settings"], exact=1) == [[[5.0, 'a t="s" b', 2.0,
                                                                  "one"]]]


# --- random small sheets ----------------------------------------------------------------------

_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n"), max_size=12
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(_TEXT, min_size=1, max_size=12), order=st.randoms(use_true_random=False),
       filler=st.integers(0, 3000), rich=st.booleans())
def test_random_texts_read_the_same(tmp_path_factory, texts, order, filler, rich):
    """Random texts in a small sheet, their items anywhere among other strings."""
    items = [f'<si><t xml:space="preserve">{_escape(t)}</t></si>' if not rich else
             f'<si><r><t xml:space="preserve">{_escape(t)}</t></r><r><t>!</t></r></si>'
             for t in texts]
    total = filler + len(items)
    positions = order.sample(range(total), len(items))  # where text k's item is
    slots = dict(zip(positions, items, strict=True))
    others = iter(range(filler))
    sst_items = [slots[i] if i in slots else f"<si><t>other {next(others)}</t></si>"
                 for i in range(total)]
    sst = f'{XML_DECL}<sst xmlns="{NS}">{"".join(sst_items)}</sst>'
    rows = "".join(f'<row r="{k + 1}"><c r="A{k + 1}" t="s"><v>{positions[k]}</v></c>'
                   f'<c r="B{k + 1}"><v>{k}</v></c></row>' for k in range(len(texts)))
    parts = package_parts([("Settings", sheet_xml(rows))], shared_strings=sst)
    path = build_xlsx(tmp_path_factory.mktemp("rand") / "book.xlsx", parts)
    (values,) = assert_small_route(path, ["Settings"])
    suffix = "!" if rich else ""
    for row, text in zip(values, texts, strict=True):
        if "_x" not in text:  # else an escape python-calamine decodes, as in the full read
            assert row[0] == ((text + suffix) or None)


# --- unusual packages: the full workbook, exactly ---------------------------------------------


def _sst(items: str, root: str = f'<sst xmlns="{NS}">', end: str = "</sst>") -> str:
    return f"{XML_DECL}{root}{items}{end}"


ABC = "<si><t>a</t></si><si><t>b</t></si><si><t>c</t></si>"
ONE_ROW = '<row r="1"><c r="A1" t="s"><v>2</v></c><c r="B1"><v>5</v></c></row>'

UNUSUAL = {
    "prefixed items": (_sst(f'<si><t>a</t></si><x:si xmlns:x="{NS}"><x:t>x</x:t></x:si>'
                            "<si><t>b</t></si><si><t>c</t></si>"), ONE_ROW),
    "prefixed root": (_sst("<x:si><x:t>a</x:t></x:si><x:si><x:t>b</x:t></x:si>"
                           "<x:si><x:t>c</x:t></x:si>", root=f'<x:sst xmlns:x="{NS}">',
                           end="</x:sst>"), ONE_ROW),
    "prefixed cells": (_sst(ABC), None),
    "index out of range": (_sst(ABC), '<row r="1"><c r="A1" t="s"><v>3</v></c></row>'),
    "spaces in the index": (_sst(ABC), '<row r="1"><c r="A1" t="s"><v> 1</v></c></row>'),
    "character reference": (_sst(ABC), '<row r="1"><c r="A1" t="s"><v>&#49;</v></c></row>'),
    "empty index": (_sst(ABC), '<row r="1"><c r="A1" t="s"><v></v></c></row>'),
    "two values": (_sst(ABC), '<row r="1"><c r="A1" t="s"><v>1</v><v>2</v></c></row>'),
    "comment among items": (_sst("<si><t>a</t></si><!-- <si><t>z</t></si> -->"
                                 "<si><t>b</t></si><si><t>c</t></si>"), ONE_ROW),
    "processing instruction": (_sst("<si><t>a</t></si><?pi <si><t>z</t></si> ?>"
                                    "<si><t>b</t></si><si><t>c</t></si>"), ONE_ROW),
    "CDATA": (_sst("<si><t><![CDATA[</si><si>]]></t></si><si><t>b</t></si>"
                   "<si><t>c</t></si>"), ONE_ROW),
    "element named si...": (_sst("<si><t>a</t></si><sig/><si><t>b</t></si><si><t>c</t></si>"),
                            ONE_ROW),
    "items after the end": (_sst("<si><t>a</t></si><si><t>b</t></si></sst><si><t>c</t></si>",
                                 end=""), ONE_ROW),
    "not UTF-8": (_sst(ABC).replace("UTF-8", "ISO-8859-1"), ONE_ROW),
    "no shared strings": (None, ONE_ROW),
    "comment in a sheet": (_sst(ABC), '<!-- x --><row r="1"><c r="A1" t="s"><v>2</v></c></row>'),
}


@pytest.mark.parametrize("case", list(UNUSUAL))
def test_unusual_packages_fall_back(tmp_path, case):
    sst, rows = UNUSUAL[case]
    if rows is None:  # prefixed cells
        xml = sheet_xml('<x:row r="1"><x:c r="A1" t="s"><x:v>2</x:v></x:c></x:row>', prefix="x")
    else:
        xml = sheet_xml(rows)
    parts = package_parts([("Settings", xml)], shared_strings=sst)
    if sst is None:
        parts = package_parts([("Settings", xml)])
    path = build_xlsx(tmp_path / "odd.xlsx", parts)
    assert_falls_back(path, ["Settings"])


def test_a_sheet_python_calamine_would_look_for_elsewhere_falls_back(tmp_path):
    parts = package_parts([("Settings", sheet_xml(ONE_ROW))], shared_strings=_sst(ABC))
    rels = "xl/_rels/workbook.xml.rels"
    parts[rels] = parts[rels].replace('Target="worksheets/sheet1.xml"',
                                      'Target="../xl/worksheets/sheet1.xml"')
    kind, _result, _ = assert_falls_back(build_xlsx(tmp_path / "odd.xlsx", parts), ["Settings"])
    assert kind == "error"


def test_member_names_differing_in_case_fall_back(tmp_path):
    parts = package_parts([("Settings", sheet_xml(ONE_ROW))], shared_strings=_sst(ABC))
    parts["xl/SharedStrings.xml"] = _sst("<si><t>x</t></si>")
    assert_falls_back(build_xlsx(tmp_path / "odd.xlsx", parts), ["Settings"])


def test_a_workbook_named_xls_falls_back(tmp_path):
    """python-calamine reads a file named .xls with its .xls reader: not the mini's."""
    path, names = _lead(tmp_path / "book.xlsx")
    renamed = tmp_path / "book.xls"
    shutil.copy(path, renamed)
    kind, _, _ = assert_falls_back(renamed, names[1:])
    assert kind == "error"


def test_a_damaged_small_sheet_gives_the_same_message(tmp_path):
    broken = '<row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1"><v>2</v></row>'
    parts = package_parts([("Settings", sheet_xml(broken))], shared_strings=_sst(ABC))
    path = build_xlsx(tmp_path / "broken.xlsx", parts)
    kind, (message, _hint), served = outcome(path, ["Settings"])  # type: ignore[misc]
    assert kind == "error" and "cannot be read" in message
    assert (kind, (message, _hint), served) == full_outcome(path, ["Settings"])


def test_a_bad_crc_in_a_small_sheet_gives_the_same_message(tmp_path):
    path, _ = _lead(tmp_path / "book.xlsx")
    member = "xl/worksheets/sheet2.xml"
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        data[zf.getinfo(member).header_offset + 14] ^= 1  # the local header's CRC-32
    at = data.find(b"PK\x01\x02")
    while at >= 0:  # and the central directory's
        size = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + size] == member.encode():
            data[at + 16] ^= 1
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    result = outcome(path, ["Settings"])
    assert result[0] == "error" and "CRC" in result[1][0]  # type: ignore[index]
    assert result == full_outcome(path, ["Settings"])


# --- the early stop ---------------------------------------------------------------------------


def test_nothing_is_read_past_the_last_needed_item(tmp_path):
    """The part's tail is garbage: the mini workbook never sees it (the full one does)."""
    items = "".join(f"<si><t>item {i}</t></si>" for i in range(50))
    sst = f'{XML_DECL}<sst xmlns="{NS}">{items}<si><t>needed</t></si>\x00\x01<<garbage</si'
    rows = '<row r="1"><c r="A1" t="s"><v>50</v></c><c r="B1" t="s"><v>3</v></c></row>'
    path = build_xlsx(tmp_path / "tail.xlsx",
                      package_parts([("Settings", sheet_xml(rows))], shared_strings=sst))
    kind, values, served = outcome(path, ["Settings"])
    assert (kind, served) == ("rows", 1)
    assert values == [[[(str, "needed"), (str, "item 3")]]]
    assert full_outcome(path, ["Settings"])[0] == "error"


def test_the_part_is_read_only_as_far_as_needed(tmp_path):
    items = "".join(f"<si><t>item {i}</t></si>" for i in range(300_000))
    sst = f'{XML_DECL}<sst xmlns="{NS}">{items}</sst>'
    rows = '<row r="1"><c r="A1" t="s"><v>7</v></c></row>'
    path = build_xlsx(tmp_path / "early.xlsx",
                      package_parts([("Settings", sheet_xml(rows))], shared_strings=sst))
    book = smallbook.build(path, XlsxBook(path)._package)
    assert book is not None
    assert book.shared_read <= 2 * sharedstrings.CHUNK < len(sst) // 2
    assert assert_small_route(path, ["Settings"]) == [[["item 7"]]]


# --- counting across chunk borders ------------------------------------------------------------

_FORMS = st.sampled_from([
    "<si><t>{}</t></si>", '<si a="1"><t>{}</t></si>', "<si/>", "<si\t/>",
    '<si><r><t xml:space="preserve">{}</t></r><rPh sb="0" eb="1"><t>p</t></rPh></si>',
])


@settings(max_examples=150, deadline=None)
@given(forms=st.lists(_FORMS, min_size=1, max_size=40), data=st.data(),
       chunk=st.integers(1, 64), space=st.sampled_from(["", " ", "\r\n"]))
def test_pick_items_across_chunk_borders(forms, data, chunk, space):
    items = [form.format(f"s{i}") for i, form in enumerate(forms)]
    needed = sorted(data.draw(st.sets(st.integers(0, len(items) - 1), min_size=1)))
    part = (f'{XML_DECL}<sst xmlns="{NS}" count="{len(items)}">{space}'
            + space.join(items) + f"{space}</sst>").encode()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sharedstrings, "CHUNK", chunk)
        mp.setattr(sharedstrings, "MAX_LOOKED_INTO", 1 << 30)
        pieces = [part[i : i + chunk] for i in range(0, len(part), chunk)]
        reads = iter(pieces)
        read_count = [0]

        def read() -> bytes:
            read_count[0] += 1
            return next(reads, b"")

        picked = sharedstrings.pick_items(read, needed)
    expected = "".join(items[k] for k in needed).encode()
    assert picked.endswith(expected + b"</sst>")
    assert f'count="{len(needed)}"'.encode() in picked
    # read no further than a chunk or so past the last item needed
    head = f'{XML_DECL}<sst xmlns="{NS}" count="{len(items)}">{space}'
    last = needed[-1]
    end = len((head + space.join(items[: last + 1])).encode())
    assert read_count[0] * chunk <= end + 3 * chunk + 8


# --- one mini workbook per reading() block ------------------------------------------------------


def test_one_mini_workbook_serves_the_block(tmp_path, monkeypatch):
    path, _names = _lead(tmp_path / "book.xlsx")
    built = []
    real = smallbook.build

    def counting(*args):
        built.append(1)
        return real(*args)

    monkeypatch.setattr(smallbook, "build", counting)
    book = XlsxBook(path)
    with book.reading():
        for name in ("Settings", "Mapping", "Log", "Settings"):
            book.read_sheet(name)
        assert len(built) == 1 and book.small_reads == 4 and book._small is not None
        book.read_columns("Leads")  # lets go of both workbooks
        assert book._small is None
        book.read_sheet("Mapping")
        assert len(built) == 2
    assert book._small is None
    book.read_sheet("Settings")  # outside a block: made for the read, then closed
    book.read_sheet("Mapping")
    assert len(built) == 4 and book.small_reads == 7 and book._small is None


def test_mini_workbook_made_only_when_it_pays(tmp_path, monkeypatch):
    monkeypatch.undo()  # the real thresholds
    small, _names = _lead(tmp_path / "book.xlsx")
    assert XlsxBook(small)._small_members == frozenset()
    big = big_book(tmp_path / "big.xlsx",
                   [("Settings", '<row r="1"><c r="A1" t="s"><v>200000</v></c></row>')],
                   ["<si><t>setting</t></si>"], data_rows=10)
    book = XlsxBook(big)
    assert book._small_members == {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"}
    with book.reading():
        assert book.read_sheet("Settings") == [["setting"]]
    assert book.small_reads == 1
    monkeypatch.setattr(smallbook, "SHARED_PER_SMALL", 10**6)  # the sheets weigh too much
    assert XlsxBook(big)._small_members == frozenset()


def test_shuffled_sheet_order_keeps_names(tmp_path):
    """Sheet names and order stay those of the original (the stand-ins keep their place)."""
    rng = random.Random(5)
    names = ["Zeta", "Settings", "Alpha", "Mapping"]
    rng.shuffle(names)
    sheets = [(n, sheet_xml(f'<row r="1"><c r="A1" t="s"><v>{i}</v></c></row>'))
              for i, n in enumerate(names)]
    sst = _sst("".join(f"<si><t>{n}</t></si>" for n in names))
    path = build_xlsx(tmp_path / "order.xlsx", package_parts(sheets, shared_strings=sst))
    assert assert_small_route(path, names) == [[[n]] for n in names]
