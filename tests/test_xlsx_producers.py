"""Workbooks written by Excel's neighbours read as the analyst sees them (SPEC §2).

- LibreOffice Calc 7.4 (``tests/fixtures/libreoffice-*.xlsx``, converted once with ``soffice
  --headless --convert-to xlsx`` from a book openpyxl wrote, the second with the 1904 date
  system): shared strings, ``t="n"`` on every number, formulas recalculated and saved with
  their results (``<f aca="false">NA()</f><v>#N/A</v>``), booleans as ``TRUE()`` formulas,
  ``date1904="true"``;
- openpyxl 3.1 (made here): inline strings, formulas without a saved result, and ISO date
  cells (``t="d"``) when asked for them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from xl_ameyo.columns import CellError, PaddedNumber
from xl_ameyo.xlsx.reader import XlsxBook

FIXTURES = Path(__file__).parent / "fixtures"

HEADER = ["Name", "Mobile", "Landline", "Signup", "Last call", "Amount", "Flag", "Zip", "Check"]
LIBREOFFICE = [
    HEADER,
    ["Asha Rao", 9876543210.0, "02723456789", dt.date(2026, 1, 17),
     dt.datetime(2026, 1, 17, 10, 30), 12.5, True, PaddedNumber(981234567, 10),
     CellError("#N/A")],
    [" Ravi ", "+91 98765 43210", "022-2345 6789", dt.date(2020, 2, 29),
     dt.datetime(2026, 1, 18), 0.1, False, PaddedNumber(12, 10), CellError("#VALUE!")],
    ["Mei 李", 9123456780.0, None, None, None, -7.0, None, None, "x"],
    ["Err", CellError("#DIV/0!"), "x", dt.date(1999, 12, 31),
     dt.datetime(1999, 12, 31, 23, 59, 59), 1e-07, True, PaddedNumber(5, 10),
     CellError("#VALUE!")],
]


def _typed(rows: list[list]) -> list[list]:
    return [[(type(v).__name__, v, getattr(v, "width", None)) for v in row] for row in rows]


def _streamed(book: XlsxBook, name: str) -> list[list]:
    stream = book.stream_columns(name)
    rows = [stream.header]
    for columns, _ in stream.blocks:
        rows += [list(row) for row in zip(*columns, strict=True)]
    return rows


@pytest.mark.parametrize("name", ["libreoffice-1900.xlsx", "libreoffice-1904.xlsx"])
def test_libreoffice_books(name):
    book = XlsxBook(FIXTURES / name)
    assert _typed(book.read_sheet("Leads")) == _typed(LIBREOFFICE)
    assert _typed(_streamed(XlsxBook(FIXTURES / name), "Leads")) == _typed(LIBREOFFICE)


def test_openpyxl_inline_strings_iso_dates_and_formulas_without_results(tmp_path):
    wb = openpyxl.Workbook()
    wb.iso_dates = True  # t="d" cells
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Name", "Mobile", "When", "At", "Sum"])
    ws.append([" Asha ", 9876543210, dt.date(2026, 1, 17), dt.datetime(2026, 1, 17, 10, 30),
               "=1+1"])
    ws.append(["Ravi", "=B2", dt.date(2020, 2, 29), dt.datetime(2026, 1, 18), 3])
    ws["C2"].number_format = ws["C3"].number_format = "yyyy-mm-dd"
    path = tmp_path / "o.xlsx"
    wb.save(path)
    book = XlsxBook(path)
    want = [["Name", "Mobile", "When", "At", "Sum"],
            [" Asha ", 9876543210.0, dt.date(2026, 1, 17), dt.datetime(2026, 1, 17, 10, 30),
             None],
            ["Ravi", None, dt.date(2020, 2, 29), dt.datetime(2026, 1, 18), 3.0]]
    assert _typed(book.read_sheet("Leads")) == _typed(want)
    stream = XlsxBook(path).stream_columns("Leads")
    assert sorted(stream.unsaved) == [(1, 4), (2, 1)]
