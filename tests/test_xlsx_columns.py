"""XlsxBook.read_columns (the data sheet column by column) and XlsxBook.reading() (one
python-calamine workbook for several reads): the same values as read_sheet, on every kind of
sheet the reader tests use, and on random sheets."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.xlsx_fixtures import (
    STYLES,
    build_xlsx,
    macro_book,
    package_parts,
    sheet_xml,
    styled_book,
)
from xl_ameyo.columns import CellError
from xl_ameyo.xlsx import percell
from xl_ameyo.xlsx import reader as reader_module
from xl_ameyo.xlsx.reader import SheetColumns, XlsxBook


def book(tmp_path: Path, rows: str, *, name: str = "Data", **kwargs) -> Path:
    parts = package_parts([(name, sheet_xml(rows, prefix=kwargs.pop("prefix", "")))],
                          prefix=kwargs.pop("wb_prefix", ""), **kwargs)
    return build_xlsx(tmp_path / "book.xlsx", parts)


def as_columns(rows: list[list]) -> tuple[list, list[list]]:
    """read_sheet's rows as (row 1, columns of the rows below), padded to the widest row."""
    width = max((len(r) for r in rows), default=0)
    grid = [list(r) + [None] * (width - len(r)) for r in rows]
    header = grid[0] if grid else []
    return header, [[r[k] for r in grid[1:]] for k in range(width)]


def agree(path: Path, name: str) -> SheetColumns:
    reader = XlsxBook(path)
    rows = reader.read_sheet(name)
    table = reader.read_columns(name)
    header, columns = as_columns(rows)
    assert table.header == header
    assert table.columns == columns
    assert len(table.kinds) == len(table.columns)
    for column, kinds in zip(table.columns, table.kinds, strict=True):
        assert {type(v) for v in column} <= kinds
    assert table.height == (len(columns[0]) if columns else 0)
    return table


VALUES_ROW = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>h</t></is></c>'
    '<c r="C1"><v>1</v></c></row>'
    '<row r="2">'
    '<c r="A2" t="s"><v>0</v></c>'
    '<c r="B2" t="inlineStr"><is><t xml:space="preserve">  padded </t></is></c>'
    '<c r="C2"><v>42</v></c><c r="D2"><v>3.25</v></c><c r="E2" t="b"><v>1</v></c>'
    '<c r="G2" s="1"><v>43832</v></c><c r="H2" s="2"><v>43832.5</v></c>'
    '<c r="I2" s="3"><v>0.25</v></c><c r="J2" s="4"><v>1.5</v></c>'
    '<c r="K2" t="s"><v>1</v></c><c r="L2" s="5"/>'
    '<c r="M2" t="e"><f>NA()</f><v>#N/A</v></c>'
    '<c r="N2" s="2"><v>43832</v></c><c r="O2" s="1"><v>43832.75</v></c>'
    "</row>"
)


@pytest.mark.parametrize(
    "rows",
    [
        VALUES_ROW,
        # data starting at B3, an error below it
        '<row r="3"><c r="B3" t="inlineStr"><is><t>h1</t></is></c>'
        '<c r="C3" t="inlineStr"><is><t>h2</t></is></c></row>'
        '<row r="5"><c r="C5" t="e"><v>#N/A</v></c></row>',
        # an error cell alone in the last row and column (outside calamine's range)
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="4"><c r="D4" t="e"><v>#VALUE!</v></c>'
        "</row>",
        # cells without r attributes
        '<row><c><v>1</v></c><c t="e"><v>#N/A</v></c><c><v>3</v></c></row>'
        '<row><c r="C2"><v>5</v></c><c t="e"><v>#REF!</v></c></row>'
        '<row r="5"><c t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
        '<row><c t="inlineStr"><is><t>x</t></is></c></row>',
        # an error in the header row, dates in the header
        '<row r="1"><c r="A1" t="e"><v>#REF!</v></c><c r="B1" s="2"><v>43832</v></c></row>'
        '<row r="2"><c r="A2"><v>7</v></c></row>',
        # header only
        '<row r="1"><c r="A1" t="inlineStr"><is><t>only</t></is></c></row>',
        # empty row 1
        '<row r="2"><c r="A2"><v>2</v></c><c r="B2" t="inlineStr"><is><t></t></is></c></row>',
        "",
    ],
    ids=["values", "b3", "error-outside", "no-r", "header-cells", "header-only", "no-row-1",
         "empty"],
)
def test_read_columns_agrees_with_read_sheet(tmp_path, rows):
    agree(book(tmp_path, rows, shared_strings=["text", ""], styles=STYLES), "Data")


def test_values_and_errors_in_place(tmp_path):
    table = agree(book(tmp_path, VALUES_ROW, shared_strings=["text", ""], styles=STYLES),
                  "Data")
    row = [column[0] for column in table.columns]
    assert row[:5] == ["text", "  padded ", 42.0, 3.25, True]
    assert row[5] is None and row[10] is None and row[11] is None
    assert row[6] == dt.date(2020, 1, 2)
    assert row[12] == CellError("#N/A")
    assert row[13] == dt.datetime(2020, 1, 2)  # a date-time format at midnight
    assert row[14] == dt.date(2020, 1, 2)  # a date format with a time part


def test_books_from_real_writers(tmp_path):
    styled = styled_book(tmp_path / "styled.xlsx")
    agree(styled, "Leads")
    agree(styled, "Notes")
    agree(macro_book(tmp_path / "macro.xlsm"), "Sheet1")


def test_many_rows_cross_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(percell, "BLOCK_ROWS", 7)
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c>'
        + (f'<c r="B{r}" t="e"><v>#N/A</v></c>' if r % 5 == 0 else "")
        + (f'<c r="C{r}" t="inlineStr"><is><t>t{r}</t></is></c>' if r % 3 else "")
        + "</row>"
        for r in range(1, 60)
    )
    agree(book(tmp_path, rows), "Data")


_CODES = ["#N/A", "#REF!", "#DIV/0!"]


@st.composite
def _sheets(draw):
    rows = []
    for r in range(draw(st.integers(1, 3)), draw(st.integers(3, 12)) + 1):
        cells = []
        for c in range(draw(st.integers(0, 5)), draw(st.integers(5, 8))):
            ref = f"{'ABCDEFGH'[c]}{r}"
            kind = draw(st.sampled_from(["e", "n", "s", "empty-s", "d", "none"]))
            if kind == "e":
                cells.append(f'<c r="{ref}" t="e"><v>{draw(st.sampled_from(_CODES))}</v></c>')
            elif kind == "n":
                cells.append(f'<c r="{ref}"><v>{draw(st.integers(-5, 10**12))}</v></c>')
            elif kind == "s":
                text = draw(st.text(alphabet="ab ,\"", max_size=4))
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">'
                             f'{text.replace(chr(34), "&quot;")}</t></is></c>')
            elif kind == "empty-s":
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t></t></is></c>')
            elif kind == "d":
                serial = draw(st.sampled_from(["43832", "43832.5", "0.25"]))
                style = draw(st.sampled_from(["1", "2", "3"]))
                cells.append(f'<c r="{ref}" s="{style}"><v>{serial}</v></c>')
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(rows)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_sheets())
def test_random_sheets_agree(tmp_path, rows):
    agree(book(tmp_path, rows, styles=STYLES), "Data")


# --- reading(): one workbook for several reads ---------------------------------------------


def _count_opens(monkeypatch) -> list[int]:
    opened = [0]
    real = reader_module.XlsxBook._open_calamine

    def counting(self):
        opened[0] += 1
        return real(self)

    monkeypatch.setattr(reader_module.XlsxBook, "_open_calamine", counting)
    return opened


def _held(path: Path) -> bool:
    fds = "/proc/self/fd"
    return str(path) in [os.readlink(f"{fds}/{fd}") for fd in os.listdir(fds)
                         if os.path.exists(f"{fds}/{fd}")]


def test_reading_opens_the_workbook_once_and_closes_it(tmp_path, monkeypatch):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc")
    path = styled_book(tmp_path / "styled.xlsx")
    opened = _count_opens(monkeypatch)
    reader = XlsxBook(path)
    expected = reader.read_sheet("Leads"), reader.read_sheet("Notes")
    assert opened[0] == 2 and not _held(path)
    opened[0] = 0
    with reader.reading():
        assert (reader.read_sheet("Leads"), reader.read_sheet("Notes")) == expected
        assert reader.read_sheet("Leads") == expected[0]
        assert opened[0] == 1
        with reader.reading():  # nested: still the same workbook
            reader.read_sheet("Notes")
        assert opened[0] == 1
        # the columnar read lets go of the workbook; a later read opens it again
        reader.read_columns("Leads")
        assert not _held(path)
        assert reader.read_sheet("Notes") == expected[1]
        assert opened[0] == 2
    assert not _held(path)


def test_reading_closes_the_workbook_after_an_error(tmp_path):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc")
    path = styled_book(tmp_path / "styled.xlsx")
    reader = XlsxBook(path)
    with pytest.raises(RuntimeError), reader.reading():
        reader.read_sheet("Leads")
        raise RuntimeError
    assert not _held(path)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_sheets())
def test_checks_on_the_stream_agree_with_checks_on_rows(tmp_path, rows):
    from xl_ameyo.mapping import resolve_mapping
    from xl_ameyo.rules import check, check_rows
    from xl_ameyo.xlsx.tocolumns import from_stream

    path = book(tmp_path, rows, styles=STYLES)
    reader = XlsxBook(path)
    read = reader.read_sheet("Data")
    stream = reader.stream_columns("Data")
    width = stream.width
    headers = [f"h{k}" for k in range(max(width, 3))]
    mapping = resolve_mapping([["f", "c"], ["phone1", "h1"], ["name", "h0"], ["phone2", "h2"]],
                              headers)
    by_stream, by_rows = check(from_stream(stream), mapping), check_rows(read[1:], mapping)
    assert by_stream.invalid == by_rows.invalid and by_stream.rows_read == by_rows.rows_read
    assert [c.to_pylist() for c in by_stream.columns] == [c.to_pylist() for c in by_rows.columns]
