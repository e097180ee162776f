"""Reading a workbook through xlwings (remote engine) into the core's values."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import test_excel_support as support
from xl_ameyo import pipeline
from xl_ameyo.columns import CellError
from xl_ameyo.excel.source import (
    ERROR_TEXTS,
    WorkbookSource,
    core_rows,
    core_value,
    overlay_errors,
    read_used_range,
)

remote = support.remote  # fixture

CLASSIC = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")


@pytest.mark.parametrize("text", (*CLASSIC, "#SPILL!", "#CALC!", "#GETTING_DATA"))
def test_error_texts_become_cell_errors(text):
    assert text in ERROR_TEXTS
    assert core_value(text) == CellError(text)


@pytest.mark.parametrize(
    ("com", "text"),
    [(-2146826246, "#N/A"), (-2146826281, "#DIV/0!"), (-2146826265, "#REF!"),
     (-2146826259, "#NAME?"), (-2146826288, "#NULL!"), (-2146826252, "#NUM!"),
     (-2146826273, "#VALUE!"), (-2146826243, "#SPILL!"), (-2146826238, "#CALC!")],
)
def test_com_error_numbers_become_cell_errors(com, text):
    # desktop Excel hands errors it has no text for (and all of them without err_to_str) as
    # the HRESULT 0x800A0000 + xlErr number
    assert core_value(com) == CellError(text)


def test_plain_values_pass_through():
    assert core_value(None) is None
    assert core_value(9876543210.0) == 9876543210.0
    assert core_value(17) == 17  # a whole number from the remote engine's JSON
    assert core_value(True) is True
    assert core_value(" Asha ") == " Asha "
    assert core_value("#N/A reason") == "#N/A reason"  # only the exact error texts


def test_dates_times_and_date_times():
    assert core_value(dt.datetime(2024, 1, 2)) == dt.date(2024, 1, 2)
    assert type(core_value(dt.datetime(2024, 1, 2))) is dt.date
    assert core_value(dt.datetime(2024, 1, 2, 9, 30)) == dt.datetime(2024, 1, 2, 9, 30)
    # a time-only cell is a date-time on Excel's day 0
    assert core_value(dt.datetime(1899, 12, 30, 12, 30)) == dt.time(12, 30)


def test_core_rows_shapes():
    assert core_rows(None) == []
    assert core_rows("x") == [["x"]]
    assert core_rows(["#N/A", 1.0]) == [[CellError("#N/A"), 1.0]]
    assert core_rows([[None, "#REF!"]]) == [[None, CellError("#REF!")]]


def test_overlay_errors_marks_error_texts():
    # the macOS fallback: plain values plus the displayed texts
    values = [["a", None], [None, 5.0]]
    texts = [["a", "#N/A"], ["#DIV/0!", "5"]]
    assert overlay_errors(values, texts) == [["a", "#N/A"], ["#DIV/0!", 5.0]]
    assert overlay_errors(None, "#REF!") == [["#REF!"]]


def test_read_used_range_of_a_remote_book(remote):
    book = remote({
        "Leads": [
            ["Name", "Mobile", "Joined", "Score"],
            ["Asha", 9876543210.0, dt.datetime(2024, 1, 2), 1.5],
            ["Ravi", CellError("#N/A"), dt.datetime(2024, 1, 2, 9, 30), None],
        ]
    })
    rows = read_used_range(book.sheets["Leads"])
    assert rows == [
        ["Name", "Mobile", "Joined", "Score"],
        ["Asha", 9876543210.0, dt.date(2024, 1, 2), 1.5],
        ["Ravi", CellError("#N/A"), dt.datetime(2024, 1, 2, 9, 30), None],
    ]


def test_used_range_below_and_right_of_a1_is_padded(remote):
    # Office.js clients send the used range's address; the values start at A1 regardless
    book = remote(
        {"Leads": [[None, None, None], [None, "Name", "Mobile"], [None, "Asha", "98765 43210"]]},
        client="Office.js",
        used={"Leads": "B2:C3"},
    )
    sheet = book.sheets["Leads"]
    assert (sheet.used_range.row, sheet.used_range.column) == (2, 2)
    rows = read_used_range(sheet)
    assert rows[0] == []
    assert rows[1] == [None, "Name", "Mobile"]
    assert rows[2] == [None, "Asha", "98765 43210"]


def test_workbook_source_reads_each_sheet_once(remote, monkeypatch):
    book = remote({"Leads": [["Name"], ["Asha"]], "Settings": [["base_url", "x"]]})
    source = WorkbookSource(book)
    assert source.sheet_names == ["Leads", "Settings"]
    reads = []
    import xl_ameyo.excel.source as module

    real = module.read_used_range
    monkeypatch.setattr(module, "read_used_range", lambda s: reads.append(s.name) or real(s))
    assert source.read_sheet("Leads") == [["Name"], ["Asha"]]
    assert source.read_sheet("Leads") == [["Name"], ["Asha"]]
    assert reads == ["Leads"]
    assert pipeline.find_sheet(source.sheet_names, "settings") == "Settings"


def test_remote_text_that_looks_like_a_timestamp_stays_text(remote):
    # the Log's timestamps are text with an offset; date cells come as "...Z" strings
    book = remote({"Log": [["timestamp", "when"],
                           ["2026-01-01T10:00:00+05:30", dt.datetime(2024, 1, 2, 9, 30, 15)],
                           ["x", dt.datetime(1899, 12, 30, 12, 30)]]})
    rows = read_used_range(book.sheets["Log"])
    assert rows[1] == ["2026-01-01T10:00:00+05:30", dt.datetime(2024, 1, 2, 9, 30, 15)]
    assert rows[2] == ["x", dt.time(12, 30)]


def test_remote_milliseconds_and_bad_dates():
    from xl_ameyo.excel.source import _remote_cell

    assert _remote_cell("2024-01-02T09:30:15.250Z") == dt.datetime(2024, 1, 2, 9, 30, 15, 250000)
    assert _remote_cell("2024-02-30T00:00:00.000Z") == "2024-02-30T00:00:00.000Z"
    assert _remote_cell("") is None
    assert _remote_cell("Z") == "Z"


def test_a_tall_used_range_is_read_in_blocks(remote, monkeypatch):
    import xl_ameyo.excel.source as module

    rows = [["Name", "Mobile", "Joined"]] + [
        [f"n{i}", 9876543210.0 + i, dt.datetime(2024, 1, 2 + i % 3, 9 * (i % 2))]
        for i in range(9)
    ]
    rows[4][1] = CellError("#N/A")
    book = remote({"Leads": rows, "One": [["h"], [1.0], [2.0], [3.0], [4.0]]})
    whole = read_used_range(book.sheets["Leads"])
    reads = []
    real = module._raw_values
    monkeypatch.setattr(module, "_raw_values", lambda rng: reads.append(rng.address)
                        or real(rng))
    monkeypatch.setattr(module, "READ_BLOCK_ROWS", 4)
    assert read_used_range(book.sheets["Leads"]) == whole
    assert reads == ["$A$1:$C$4", "$A$5:$C$8", "$A$9:$C$10"]
    # a last block of one cell
    assert read_used_range(book.sheets["One"]) == [["h"], [1.0], [2.0], [3.0], [4.0]]


def test_blocks_keep_positions_below_and_right_of_a1(remote, monkeypatch):
    import xl_ameyo.excel.source as module

    book = remote(
        {"Leads": [[None, None, None], [None, "Name", "Mobile"], [None, "Asha", "98765 43210"],
                   [None, "Ravi", "#N/A"]]},
        client="Office.js",
        used={"Leads": "B2:C4"},
    )
    sheet = book.sheets["Leads"]
    whole = read_used_range(sheet)
    monkeypatch.setattr(module, "READ_BLOCK_ROWS", 2)
    assert read_used_range(sheet) == whole
    assert whole[3] == [None, "Ravi", CellError("#N/A")]


def test_the_data_sheet_becomes_columns_for_the_rules(remote):
    from xl_ameyo.columns import Kind, cell_value

    book = support.make_book({"Leads": [["Name", "Mobile"], ["Asha", 9876543210],
                                        [None, "#N/A"], ["Ravi", " 098765 43210 "]]})
    data = WorkbookSource(book).sheet_columns("Leads")
    assert data.header == ["Name", "Mobile"] and data.rows == 3
    assert data.columns[1].kinds.tolist() == [Kind.NUMBER, Kind.ERROR, Kind.TEXT]
    assert cell_value(data.columns[1], 1) == CellError("#N/A")
    assert data.columns[1].pad is None  # the remote engine tells no number formats


def test_zero_padding_formats():
    from xl_ameyo.columns import padding_width

    assert [padding_width(f) for f in ("0000000000", "00000", "0", "General", "0.00", None,
                                       "@", "000-000")] == [10, 5, 0, 0, 0, 0, 0, 0]
