"""A Log an analyst can read (issue: Log look): column widths set when the Log is created,
booleans as Excel booleans in every row, the timestamp as text with its offset, and the new
row below merged areas and visible. Read back with openpyxl."""

from __future__ import annotations

import re

import openpyxl

from tests.books import lead_book, read_log, upload
from tests.xlsx_fixtures import patch_member
from xl_ameyo.logrecord import LOG_COLUMNS
from xl_ameyo.xlsx.logbook import append_log_row


def test_new_log_has_readable_column_widths(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    assert upload(book, "--dry-run").exit_code == 0
    ws = openpyxl.load_workbook(book)["Log"]
    width = {h: ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width
             for i, h in enumerate(LOG_COLUMNS, 1)}
    assert width["timestamp"] >= len("2026-11-26T14:03:07+05:30")
    assert width["task_id"] >= 18
    assert width["csv_sha256"] >= 64
    assert width["message"] >= 40
    assert all(w >= 10 for w in width.values())


def test_booleans_are_excel_booleans_in_every_row(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url, settings={"update_duplicate": True})
    assert upload(book, "--dry-run").exit_code == 0
    assert upload(book).exit_code == 0
    assert upload(book).exit_code == 2  # refused re-upload: a FAILED row
    header, rows = read_log(book)
    assert len(rows) == 3
    for row in rows:
        cells = dict(zip(header, row, strict=False))
        for flag in ("update_duplicate", "churn_updated_records", "migrate"):
            assert cells[flag].data_type == "b", (flag, cells["status"].value)
            assert cells[flag].value is (flag == "update_duplicate")
        assert cells["timestamp"].data_type == "s"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
                            cells["timestamp"].value)


def _log_with(tmp_path, sheet_body: str, after_data: str = "") -> object:
    book = tmp_path / "m.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Log"
    wb.save(book)

    def edit(xml: str) -> str:
        xml = re.sub(r"<sheetData\s*/>|<sheetData>.*</sheetData>",
                     f"<sheetData>{sheet_body}</sheetData>{after_data}", xml, flags=re.S)
        return xml

    patch_member(book, "xl/worksheets/sheet1.xml", edit)
    return book


def test_new_row_goes_below_a_merged_area(tmp_path):
    body = ('<row r="1"><c r="A1" t="inlineStr"><is><t>timestamp</t></is></c></row>'
            '<row r="2"><c r="A2" t="inlineStr"><is><t>a note over three rows</t></is></c></row>')
    book = _log_with(tmp_path, body, '<mergeCells count="1"><mergeCell ref="A2:D4"/>'
                     "</mergeCells>")
    append_log_row(book, ["x", "y"], columns=["a", "b"])
    ws = openpyxl.load_workbook(book)["Log"]
    assert ws["A5"].value == "x" and ws["B5"].value == "y"
    assert ws["A3"].value is None and ws["A4"].value is None


def test_a_hidden_formatting_row_that_is_reused_is_shown(tmp_path):
    body = ('<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>'
            '<row r="2" hidden="1"><c r="A2" s="0"/></row>')
    book = _log_with(tmp_path, body)
    append_log_row(book, ["x"], columns=["h"])
    ws = openpyxl.load_workbook(book)["Log"]
    assert ws["A2"].value == "x"
    assert not ws.row_dimensions[2].hidden
