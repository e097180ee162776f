"""xlsx/logbook.py: append the Log row, keep every other byte, refuse locked files, atomic."""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from tests.xlsx_fixtures import (
    LOG_COLUMNS,
    NS,
    R,
    build_xlsx,
    macro_book,
    openpyxl_book,
    package_parts,
    raw_members,
    sheet_xml,
    styled_book,
    zip_members,
)
from xl_ameyo.columns import CellError
from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx import atomic, rezip
from xl_ameyo.xlsx.logbook import append_log_row, check_writable
from xl_ameyo.xlsx.reader import XlsxBook

COLS = ["timestamp", "sheet", "rows_sent", "task_id", "ok", "note"]
ROW = ["2026-11-26T10:00:00+00:00", "Leads", 3, "12345678901234567", True, None]
WORKBOOK_LISTS = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}


def changed_members(before: dict, after: dict) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


def calamine_rows(path: Path, sheet: str) -> list[list]:
    with CalamineWorkbook.from_path(str(path)) as wb:
        return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def trim(row: list) -> list:
    """A row without its trailing empty cells (readers pad rows differently)."""
    row = list(row)
    while row and row[-1] is None:
        row.pop()
    return row


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(atomic.TEMP_PREFIX)]


# --- appending -------------------------------------------------------------------------------


def test_append_to_existing_log_changes_only_its_part(tmp_path):
    path = styled_book(tmp_path / "b.xlsx", with_log=True)
    before_raw = raw_members(path)
    before = zip_members(path)
    append_log_row(path, ROW, columns=COLS)
    after_raw = raw_members(path)
    after = zip_members(path)
    assert list(after) == list(before)  # same members, same order
    assert changed_members(before_raw, after_raw) == {"xl/worksheets/sheet3.xml"}
    log_xml = after["xl/worksheets/sheet3.xml"].decode()
    assert "<f>1+1</f><v>2</v>" in log_xml  # the Log's own cached formula result
    assert re.search(r'<dimension ref="A1:E3" ?/>', log_xml)
    # and the cached results elsewhere, byte for byte
    assert b"<v>84</v>" in after["xl/worksheets/sheet1.xml"]
    assert b"#DIV/0!" in after["xl/worksheets/sheet1.xml"]
    rows = [trim(r) for r in XlsxBook(path).read_sheet("log")]
    assert rows == [
        ["timestamp", "sheet", "rows_sent", "rows_skipped"],
        ["2026-01-01T00:00:00+00:00", "Leads", 3.0, 2.0],
        ["2026-11-26T10:00:00+00:00", "Leads", 3.0, "12345678901234567", True],
    ]


def test_appends_follow_each_other(tmp_path):
    path = styled_book(tmp_path / "b.xlsx", with_log=True)
    for i in range(3):
        append_log_row(path, [f"t{i}", i], columns=COLS)
    rows = XlsxBook(path).read_sheet("Log")
    assert [r[:2] for r in rows[2:]] == [["t0", 0.0], ["t1", 1.0], ["t2", 2.0]]
    assert openpyxl.load_workbook(path)["Log"].max_row == 5


def test_create_missing_log(tmp_path):
    path = styled_book(tmp_path / "b.xlsx")
    before = zip_members(path)
    before_raw = raw_members(path)
    append_log_row(path, ROW, columns=COLS)
    after = zip_members(path)
    new = [name for name in after if name not in before]
    assert new == ["xl/worksheets/sheet3.xml"]
    assert list(after)[: len(before)] == list(before)  # order kept, new part last
    assert changed_members(before_raw, raw_members(path)) == WORKBOOK_LISTS | set(new)

    reader = XlsxBook(path)
    assert reader.sheet_names == ["Leads", "Notes", "Log"]
    assert reader.read_sheet("Log") == [
        COLS, ["2026-11-26T10:00:00+00:00", "Leads", 3.0, "12345678901234567", True, None]
    ]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Leads", "Notes", "Log"]
    assert [list(r) for r in wb["Log"].iter_rows(values_only=True)] == [
        COLS, ["2026-11-26T10:00:00+00:00", "Leads", 3, "12345678901234567", True, None]
    ]
    assert calamine_rows(path, "Log")[1][3] == "12345678901234567"
    # the workbook-level edits are insertions: everything else in those parts is unchanged
    wb_before = before["xl/workbook.xml"].decode()
    wb_after = after["xl/workbook.xml"].decode()
    inserted = re.search(r'<sheet name="Log" sheetId="3" r:id="(rId\d+)"/>', wb_after)
    assert inserted and wb_after.replace(inserted.group(0), "") == wb_before
    rels_after = after["xl/_rels/workbook.xml.rels"].decode()
    assert f'Id="{inserted.group(1)}"' in rels_after
    assert 'Target="worksheets/sheet3.xml"' in rels_after
    assert '<Override PartName="/xl/worksheets/sheet3.xml"' in after["[Content_Types].xml"].decode()


def test_xlsm_with_macro_ribbon_and_cached_formulas(tmp_path):
    path = macro_book(tmp_path / "m.xlsm")
    before = raw_members(path)
    append_log_row(path, ROW, columns=LOG_COLUMNS)
    after = raw_members(path)
    new = {"xl/worksheets/sheet3.xml"}
    assert changed_members(before, after) == WORKBOOK_LISTS | new
    for kept in ("xl/vbaProject.bin", "customUI/customUI.xml", "xl/calcChain.xml",
                 "xl/styles.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml",
                 "docProps/app.xml", "_rels/.rels"):
        assert after[kept] == before[kept]  # compressed bytes and method, unchanged
    members = zip_members(path)
    assert b"<f>A2*2</f><v>84</v>" in members["xl/worksheets/sheet1.xml"]
    assert b'<definedName name="Rate">' in members["xl/workbook.xml"]
    assert b'mc:Ignorable="x15 xr xr6 xr10 xr2"' in members["xl/workbook.xml"]
    wb = openpyxl.load_workbook(path, keep_vba=True)
    assert wb.sheetnames == ["Sheet1", "_xlwings.conf", "Log"]
    assert XlsxBook(path).read_sheet("Log")[0] == list(LOG_COLUMNS)


def test_xlsm_existing_log_found_case_insensitively(tmp_path):
    path = macro_book(tmp_path / "m.xlsm", with_log=True)
    before = raw_members(path)
    append_log_row(path, ["x", "Sheet1", 5], columns=LOG_COLUMNS)
    assert changed_members(before, raw_members(path)) == {"xl/worksheets/sheet3.xml"}
    assert XlsxBook(path).read_sheet("LOG") == [
        ["PYTHONPATH", "python", "rows_sent"], ["2026-01-01", "Sheet1", 3.0], ["x", "Sheet1", 5.0]
    ]
    assert b"<f>1+2</f><v>3</v>" in zip_members(path)["xl/worksheets/sheet3.xml"]


def test_values_round_trip(tmp_path):
    path = openpyxl_book(tmp_path / "v.xlsx", {"Leads": [["a"]]})
    values = [
        "12345678901234567", "007", "  spaced  ", "line1\nline2", "crlf\r\nend", "Ünïcödé 漢字 😀",
        'a & b < c > d "q"', True, False, None, 0, -17, 2**53, 3.25, 1e-07, 1.5e20,
        "bell\x07tab\tnull\x00", "",
    ]
    cols = [f"c{i}" for i in range(len(values))]
    append_log_row(path, values, columns=cols)
    expected = list(values)
    expected[16] = "belltab\tnull"  # XML-illegal control characters dropped
    expected[17] = None  # an empty text is an empty cell to every reader
    got_openpyxl = [list(r) for r in openpyxl.load_workbook(path)["Log"].iter_rows(
        values_only=True)][1]
    assert got_openpyxl[:17] == expected[:17] and got_openpyxl[17] in (None, "")
    got_reader = XlsxBook(path).read_sheet("Log")[1]
    numbers = {10: 0.0, 11: -17.0, 12: float(2**53)}
    assert got_reader == [numbers.get(i, v) for i, v in enumerate(expected)]


def test_excel_escapes_in_text_are_kept_literal(tmp_path):
    path = openpyxl_book(tmp_path / "v.xlsx", {"Leads": [["a"]]})
    append_log_row(path, ["_x0041_ stays", "x" * 40000], columns=["a", "b"])
    row = calamine_rows(path, "Log")[1]
    assert row[0] == "_x0041_ stays"  # not read back as "A stays"
    assert row[1] == "x" * 32767  # Excel's cell limit


def test_formatting_only_rows_below_the_last_are_reused(tmp_path):
    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>timestamp</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>old</t></is></c></row>'
        '<row r="3" spans="1:4" ht="20" customHeight="1"><c r="A3" s="1"/><c r="D3" s="1"/></row>'
        '<row r="9" s="1" customFormat="1"/>'
    )
    parts = package_parts([("Leads", sheet_xml("")), ("Log", sheet_xml(rows, dimension="A1:D9"))])
    path = build_xlsx(tmp_path / "f.xlsx", parts)
    append_log_row(path, ["new", None, 1.5, "x", "y"], columns=COLS)
    xml = zip_members(path)["xl/worksheets/sheet2.xml"].decode()
    assert ('<row r="3" ht="20" customHeight="1"><c r="A3" s="1" t="inlineStr"><is><t>new</t>'
            '</is></c><c r="C3"><v>1.5</v></c><c r="D3" s="1" t="inlineStr"><is><t>x</t></is>'
            '</c><c r="E3" t="inlineStr"><is><t>y</t></is></c></row><row r="9" s="1" '
            'customFormat="1"/>') in xml
    assert '<dimension ref="A1:E9"/>' in xml
    assert XlsxBook(path).read_sheet("Log")[2] == ["new", None, 1.5, "x", "y"]


def test_empty_existing_log_gets_the_header(tmp_path):
    parts = package_parts([("Leads", sheet_xml("")), ("log", sheet_xml("", dimension="A1"))])
    path = build_xlsx(tmp_path / "e.xlsx", parts)
    append_log_row(path, ["v"], columns=["h1", "h2"])
    assert XlsxBook(path).read_sheet("log") == [["h1", "h2"], ["v", None]]
    assert '<dimension ref="A1:B2"/>' in zip_members(path)["xl/worksheets/sheet2.xml"].decode()


def test_prefixed_log_sheet(tmp_path):
    rows = '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>h</x:t></x:is></x:c></x:row>'
    parts = package_parts([("Log", sheet_xml(rows, prefix="x"))], prefix="x")
    path = build_xlsx(tmp_path / "p.xlsx", parts)
    append_log_row(path, ["v", 2], columns=["h"])
    xml = zip_members(path)["xl/worksheets/sheet1.xml"].decode()
    assert '<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>v</x:t></x:is></x:c>' in xml
    assert XlsxBook(path).read_sheet("Log") == [["h", None], ["v", 2.0]]
    assert openpyxl.load_workbook(path)["Log"]["B2"].value == 2


def test_create_log_in_prefixed_workbook(tmp_path):
    parts = package_parts([("Data", sheet_xml("", prefix="x"))], prefix="x",
                          absolute_targets=True)
    path = build_xlsx(tmp_path / "p.xlsx", parts)
    append_log_row(path, ["v"], columns=["h"])
    assert '<x:sheet name="Log" sheetId="2" r:id="rId2"/>' in zip_members(path)[
        "xl/workbook.xml"].decode()
    assert XlsxBook(path).read_sheet("Log") == [["h"], ["v"]]


def test_existing_header_with_fewer_columns_gets_values_in_column_order(tmp_path):
    path = styled_book(tmp_path / "b.xlsx", with_log=True)  # Log header has 4 columns
    append_log_row(path, list(range(18)), columns=LOG_COLUMNS)
    rows = XlsxBook(path).read_sheet("Log")
    assert rows[0][:5] == ["timestamp", "sheet", "rows_sent", "rows_skipped", None]
    assert rows[2] == [float(i) for i in range(18)]


def test_invalid_sheet_name_is_a_programming_error(tmp_path):
    path = styled_book(tmp_path / "b.xlsx")
    with pytest.raises(ValueError):
        append_log_row(path, ["x"], columns=["a"], sheet="Log/2")


# --- refusing and failing safely --------------------------------------------------------


@pytest.mark.parametrize("lock_name", ["~$b.xlsx", ".~lock.b.xlsx#"])
def test_lock_file_refuses_and_keeps_file(tmp_path, lock_name):
    path = styled_book(tmp_path / "b.xlsx", with_log=True)
    original = path.read_bytes()
    (tmp_path / lock_name).write_bytes(b"\x05owner")
    with pytest.raises(WorkbookFileError) as info:
        check_writable(path)
    message = str(info.value)
    assert "b.xlsx" in message and "open in" in message and "Close it" in message
    with pytest.raises(WorkbookFileError):
        append_log_row(path, ROW, columns=COLS)
    assert path.read_bytes() == original
    assert no_temp_files(tmp_path)


def test_read_only_file_refuses_and_keeps_file(tmp_path):
    path = styled_book(tmp_path / "b.xlsx")
    original = path.read_bytes()
    path.chmod(0o444)
    try:
        with pytest.raises(WorkbookFileError) as info:
            append_log_row(path, ROW, columns=COLS)
        assert "read-only" in str(info.value) and "b.xlsx" in str(info.value)
        assert path.read_bytes() == original
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_refuses(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = styled_book(folder / "b.xlsx")
    folder.chmod(0o555)
    try:
        with pytest.raises(WorkbookFileError) as info:
            check_writable(path)
        assert "folder" in str(info.value)
    finally:
        folder.chmod(0o755)


def test_missing_file(tmp_path):
    with pytest.raises(WorkbookFileError) as info:
        check_writable(tmp_path / "gone.xlsx")
    assert "gone.xlsx" in str(info.value)


def test_failed_replace_leaves_original_and_no_temp(tmp_path, monkeypatch):
    path = styled_book(tmp_path / "b.xlsx", with_log=True)
    original = path.read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(WorkbookFileError) as info:
        append_log_row(path, ROW, columns=COLS)
    assert "b.xlsx" in str(info.value)
    assert path.read_bytes() == original
    assert no_temp_files(tmp_path)


def test_failure_midway_through_writing_leaves_original(tmp_path, monkeypatch):
    path = macro_book(tmp_path / "m.xlsm")
    original = path.read_bytes()
    calls = []

    def broken_copy(src, out, start, length):
        calls.append(1)
        if len(calls) == 3:
            out.write(b"partial")
            raise OSError(28, "No space left on device")
        return real_copy(src, out, start, length)

    real_copy = rezip._copy_range
    monkeypatch.setattr(rezip, "_copy_range", broken_copy)
    with pytest.raises(WorkbookFileError) as info:
        append_log_row(path, ROW, columns=COLS)
    assert "No space left" in str(info.value)
    assert path.read_bytes() == original
    assert no_temp_files(tmp_path)


def test_permission_bits_are_kept(tmp_path):
    path = styled_book(tmp_path / "b.xlsx")
    path.chmod(0o640)
    append_log_row(path, ROW, columns=COLS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_symlink_is_kept_and_its_target_updated(tmp_path):
    real = styled_book(tmp_path / "real.xlsx")
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    append_log_row(link, ROW, columns=COLS)
    assert link.is_symlink()
    assert "Log" in XlsxBook(real).sheet_names


def test_damaged_workbook_is_refused_unchanged(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_text("not a zip")
    with pytest.raises(WorkbookFileError) as info:
        append_log_row(path, ROW, columns=COLS)
    assert "bad.xlsx" in str(info.value)
    assert path.read_text() == "not a zip"


def test_log_that_is_a_chartsheet_is_refused(tmp_path):
    parts = package_parts([("Leads", sheet_xml("")), ("Log", sheet_xml(""))])
    rels = "xl/_rels/workbook.xml.rels"
    parts[rels] = parts[rels].replace('rId2" Type="' + R + "/worksheet",
                                      'rId2" Type="' + R + "/chartsheet")
    path = build_xlsx(tmp_path / "c.xlsx", parts)
    original = path.read_bytes()
    with pytest.raises(WorkbookFileError) as info:
        append_log_row(path, ROW, columns=COLS)
    assert "chartsheet" in str(info.value) and "c.xlsx" in str(info.value)
    assert path.read_bytes() == original


def test_written_archive_is_sound(tmp_path):
    path = macro_book(tmp_path / "m.xlsm", with_log=True)
    append_log_row(path, ROW, columns=COLS)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every member's CRC


def test_full_log_sheet_is_refused(tmp_path):
    rows = '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>last</t></is></c></row>'
    path = build_xlsx(tmp_path / "full.xlsx", package_parts([("Log", sheet_xml(rows))]))
    original = path.read_bytes()
    with pytest.raises(WorkbookFileError) as info:
        append_log_row(path, ROW, columns=COLS)
    assert "full" in str(info.value) and "full.xlsx" in str(info.value)
    assert path.read_bytes() == original


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_no_handle_on_the_workbook_when_it_is_replaced(tmp_path, monkeypatch):
    """On Windows os.replace fails while any handle on the target is open: ours included."""
    path = macro_book(tmp_path / "m.xlsm", with_log=True)
    real_replace = atomic.os.replace

    def windows_like_replace(src, dst):
        held = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                if os.path.exists(f"/proc/self/fd/{fd}")]
        if str(dst) in held or str(src) in held:
            raise PermissionError(13, "The process cannot access the file")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", windows_like_replace)
    XlsxBook(path).read_sheet("Log")
    append_log_row(path, ROW, columns=COLS)
    assert len(XlsxBook(path).read_sheet("Log")) == 3


def test_workbook_changed_between_planning_and_writing(tmp_path, monkeypatch):
    path = styled_book(tmp_path / "b.xlsx", with_log=True)
    from xl_ameyo.xlsx import logbook

    real_plan = logbook._plan_edits

    def plan_then_touch(*args, **kwargs):
        result = real_plan(*args, **kwargs)
        os.utime(path, ns=(1, 1))  # as if Excel saved it meanwhile
        return result

    monkeypatch.setattr(logbook, "_plan_edits", plan_then_touch)
    with pytest.raises(WorkbookFileError) as info:
        append_log_row(path, ROW, columns=COLS)
    assert "changed" in str(info.value)
    assert no_temp_files(tmp_path)


def test_strict_ooxml_workbook(tmp_path):
    strict_main = "http://purl.oclc.org/ooxml/spreadsheetml/main"
    strict_rel = "http://purl.oclc.org/ooxml/officeDocument/relationships"
    rows = '<row r="1"><c r="A1" t="e"><v>#N/A</v></c><c r="B1"><v>2</v></c></row>'
    parts = package_parts([("S", sheet_xml(rows))])
    parts = {k: v.replace(NS, strict_main).replace(R, strict_rel) for k, v in parts.items()}
    path = build_xlsx(tmp_path / "strict.xlsx", parts)
    append_log_row(path, ["x"], columns=["h"])
    members = zip_members(path)
    assert f'Type="{strict_rel}/worksheet" Target="worksheets/sheet2.xml"' in members[
        "xl/_rels/workbook.xml.rels"].decode()
    assert f'xmlns="{strict_main}"' in members["xl/worksheets/sheet2.xml"].decode()
    reader = XlsxBook(path)
    assert reader.read_sheet("S") == [[CellError("#N/A"), 2.0]]
    assert reader.read_sheet("Log") == [["h"], ["x"]]
