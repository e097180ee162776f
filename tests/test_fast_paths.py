"""The column-wise fast paths agree with the one-cell-at-a-time definitions (SPEC §3).

format_column, normalise_phones, the CSV writer and check_columns each take C-level shortcuts
on large columns (one type for most of the column, the others put back in place; C-level
searches for the few cells that need the slow path). Hypothesis draws columns shaped like
real ones — mostly one type, some of others — so the shortcuts and their fallbacks are hit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xl_ameyo.checks import CheckedData, check_columns, check_rows
from xl_ameyo.csv_export import csv_fields, write_csv
from xl_ameyo.mapping import resolve_mapping
from xl_ameyo.values import (
    CellError,
    format_column,
    format_value,
    normalise_phone,
    normalise_phones,
)

FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**17), max_value=10**17).map(float),
    st.sampled_from([0.0, -0.0, 1e-5, 1e-4, 1e16, 1e15, 999999.0, 1e6, 9876543210.0, 2.5]),
)
CELLS = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["", " ", "\xa0", "9876543210", "09876543210", "+91 98765 43210", "12345",
                     "١٢٣٤٥٦٧", "1234567890123456", "x,y", 'q"q', "a\nb", "\r"]),
    FLOATS,
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.dates(),
    st.datetimes(),
    st.datetimes(max_value=dt.datetime(2100, 1, 1)).map(lambda d: d.replace(microsecond=500_000)),
    st.just(dt.datetime(9999, 12, 31, 23, 59, 59, 999_999)),
    st.times(),
    st.timedeltas(min_value=dt.timedelta(days=-3), max_value=dt.timedelta(days=3)),
    st.sampled_from([Decimal("1.50"), CellError("#N/A")]),
)


@st.composite
def columns(draw, cells=CELLS):
    """A column mostly of one drawn value's type (often one value repeated), some others."""
    main = draw(cells)
    n = draw(st.integers(0, 40))
    out = []
    for _ in range(n):
        pick = draw(st.integers(0, 9))
        out.append(main if pick < 5 else draw(cells))
    return out


def _format_each(values):
    try:
        return [format_value(v) for v in values], None
    except (ValueError, TypeError) as exc:
        return None, type(exc)


@settings(max_examples=400)
@given(columns())
def test_format_column_agrees_on_mixed_columns(values):
    try:
        got = format_column(values), None
    except (ValueError, TypeError) as exc:
        got = None, type(exc)
    assert got == _format_each(values)


@settings(max_examples=300)
@given(columns(FLOATS))
def test_format_column_floats_with_whole_and_fractional(values):
    assert format_column(values) == [format_value(v) for v in values]


@settings(max_examples=300)
@given(columns(st.one_of(
    st.datetimes(),
    st.datetimes().map(lambda d: d.replace(microsecond=d.microsecond % 2 * 500_000)),
    st.none(),
)))
def test_format_column_datetimes_round_half_up(values):
    assert format_column(values) == [format_value(v) for v in values]


@settings(max_examples=400)
@given(columns())
def test_normalise_phones_agrees_on_mixed_columns(values):
    digits, reasons = normalise_phones(values)
    expected = [normalise_phone(v) for v in values]
    assert digits == [d for d, _ in expected]
    assert reasons == {i: r for i, (_, r) in enumerate(expected) if r is not None}
    assert list(reasons) == sorted(reasons)


PHONE_CELLS = st.one_of(
    st.integers(min_value=-(10**16), max_value=10**16).map(float),
    st.integers(min_value=10**6, max_value=10**15 - 1).map(float),
    st.integers(min_value=0, max_value=10**17).map(str),
    st.text(alphabet="0123456789 +-().٣", max_size=18),
    st.sampled_from([None, "", " ", 1e15, 1e15 - 1, 999999.0, 1e6, 98765.5, float("nan"),
                     float("inf"), "9876543210", "09876543210"]),
)


@settings(max_examples=400)
@given(columns(PHONE_CELLS))
def test_normalise_phones_float_and_text_columns(values):
    digits, reasons = normalise_phones(values)
    expected = [normalise_phone(v) for v in values]
    assert digits == [d for d, _ in expected]
    assert reasons == {i: r for i, (_, r) in enumerate(expected) if r is not None}


def test_a_million_phones_each_path():
    n = 200_000
    floats = [9e9 + i for i in range(n)]
    floats[7], floats[n - 1] = None, 12345.0
    texts = [f"0{5566000000 + i}" for i in range(n)]
    texts[3] = "022-2345 6789"
    for column in (floats, texts):
        digits, reasons = normalise_phones(column)
        assert digits == [normalise_phone(v)[0] for v in column]
        assert reasons == {i: r for i, v in enumerate(column) if (r := normalise_phone(v)[1])}


# --- CSV ---------------------------------------------------------------------------------------

FIELDS = st.text(alphabet=st.sampled_from(['a', ',', '"', "\r", "\n", " ", "é", "\x00", "\t",
                                           "'", "😀"]), max_size=5)


def _csv_module(header, cols) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(zip(*cols, strict=True))
    return buffer.getvalue().encode("utf-8")


@settings(max_examples=400)
@given(st.integers(1, 4).flatmap(lambda w: st.tuples(
    st.lists(FIELDS.filter(bool), min_size=w, max_size=w),
    st.integers(0, 8).flatmap(lambda n: st.lists(st.lists(FIELDS, min_size=n, max_size=n),
                                                 min_size=w, max_size=w)),
)))
def test_csv_bytes_are_the_csv_modules(case):
    header, cols = case
    n = len(cols[0])
    data = CheckedData(header=header, columns=cols, row_numbers=list(range(n)), invalid=[],
                       rows_read=n)
    out = io.BytesIO()
    info = write_csv(data, out)
    assert out.getvalue() == _csv_module(header, cols)
    assert info.bytes == len(out.getvalue()) and info.rows == n


def test_csv_fields_untouched_column_is_the_same_list():
    values = ["a", "b c", "d"]
    assert csv_fields(values) is values
    assert csv_fields(["a,b", 'q"', "x"]) == ['"a,b"', '"q"""', "x"]


# --- check_columns ------------------------------------------------------------------------------

HEADERS = ["Name", "Mobile", "Alt", "Note"]
MAP = resolve_mapping(
    [["f", "c"], ["name", "Name"], ["phone1", "Mobile"], ["phone2", "Alt"]], HEADERS
)
ROW_CELLS = st.one_of(CELLS, PHONE_CELLS.filter(lambda v: v == v))  # no NaN: rows compare


@settings(max_examples=300)
@given(st.lists(st.lists(ROW_CELLS, min_size=0, max_size=5), max_size=30),
       st.integers(2, 50))
def test_check_columns_agrees_with_check_rows(rows, first_row):
    by_rows = check_rows(rows, MAP, first_row=first_row)
    width = max((len(r) for r in rows), default=0)
    cols = [[r[k] if k < len(r) else None for r in rows] for k in range(width)]
    if not cols:
        cols = [[None] * len(rows)]
    by_columns = check_columns(cols, MAP, first_row=first_row)
    assert by_columns == by_rows


def test_check_columns_many_rows_duplicates_and_skips():
    n = 50_000
    names = [f"n{i}" for i in range(n)]
    phones = [9e9 + i % 40_000 for i in range(n)]  # the last 10,000 repeat earlier rows
    alt = [None] * n
    alt[5] = "12"
    phones[9] = None
    names[9] = None  # a fully empty row
    phones[11] = None  # phone1 missing
    cols = [names, phones, alt, [None] * n]
    rows = [list(r) for r in zip(*cols, strict=True)]
    assert check_columns(cols, MAP) == check_rows(rows, MAP)


def _column_shapes():
    many = [f"v{i}" for i in range(400)]
    few_specials = many.copy()
    few_specials[3], few_specials[250] = "Rao, Asha", 'say "hi"\r\n'
    few_specials[251] = ""
    few_distinct = [["", "busy, call back", 'said "no"', "ok", "a\nb"][i % 5] for i in range(400)]
    many_distinct_many_specials = [f'{i},"{i}"' if i % 2 else f"{i}" for i in range(400)]
    return [many, few_specials, few_distinct, many_distinct_many_specials,
            ["é, 😀"] * 3 + ["x"] * 40, ["\r"] + [""] * 50]


def test_csv_fields_each_way_of_finding_the_values_to_quote():
    for column in _column_shapes():
        data = CheckedData(header=["a", "b"], columns=[column, column],
                           row_numbers=list(range(len(column))), invalid=[],
                           rows_read=len(column))
        out = io.BytesIO()
        write_csv(data, out)
        assert out.getvalue() == _csv_module(["a", "b"], [column, column])


def test_long_columns_each_path():
    n = 20_000
    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=i % 300) for i in range(n)]
    unique = [dt.date(1900, 1, 1) + dt.timedelta(days=i) for i in range(n)]
    times = [dt.datetime(2020, 1, 1, 0, 0, 0, 600_000 * (i % 2)) + dt.timedelta(seconds=i)
             for i in range(n)]
    times[7] = times[7].replace(tzinfo=dt.timezone.utc)
    text = [f" {i} " if i % 3 else None for i in range(n)]
    amounts = [i / 8 for i in range(n)]
    amounts[5] = None
    for column in (dates, unique, times, text, amounts):
        assert format_column(column) == [format_value(v) for v in column]


class Odd:
    """A value no formatter knows."""


def test_a_cell_that_cannot_be_formatted_only_matters_in_a_valid_row():
    rows = [["a", "", "", Odd()], ["b", "9876543210", "", "x"]]
    data = check_rows(rows, MAP)  # Note is not mapped: never formatted
    assert data.row_numbers == [3]
    mapping = resolve_mapping([["f", "c"], ["name", "Name"], ["phone1", "Mobile"],
                               ["note", "Note"]], HEADERS)
    data = check_rows(rows, mapping)  # the Odd cell's row has no phone1: not sent, no error
    assert data.row_numbers == [3] and data.invalid[0].reason == "phone1 is empty"
    with pytest.raises(TypeError):
        check_rows([["a", "9876543210", "", Odd()]], mapping)


def test_a_write_error_is_raised_and_stops_the_writing(monkeypatch):
    from xl_ameyo import csv_export

    monkeypatch.setattr(csv_export, "CHUNK_ROWS", 2)
    column = [str(i) for i in range(50)]
    data = CheckedData(header=["a", "b"], columns=[column, column], row_numbers=list(range(50)),
                       invalid=[], rows_read=50)

    class Full(io.BytesIO):
        writes = 0

        def write(self, b):
            Full.writes += 1
            if Full.writes == 3:
                raise OSError(28, "No space left on device")
            return super().write(b)

    with pytest.raises(OSError, match="No space left"):
        write_csv(data, Full())
    assert Full.writes <= 3 + csv_export._AHEAD
