"""csv_export.py: the CSV bytes that are sent (SPEC §3)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xl_ameyo.csv_export as csv_export
from xl_ameyo.columns import CellError
from xl_ameyo.csv_export import CsvInfo, write_csv
from xl_ameyo.mapping import resolve_mapping
from xl_ameyo.rules import CheckedData, check_rows, format_value, normalise_phone


def data_of(header, rows) -> CheckedData:
    columns = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in header]
    return CheckedData(
        header=list(header),
        columns=columns,
        row_numbers=list(range(2, 2 + len(rows))),
        invalid=[],
        rows_read=len(rows),
    )


def written(data, **kw) -> tuple[bytes, CsvInfo]:
    out = io.BytesIO()
    info = write_csv(data, out, **kw)
    return out.getvalue(), info


def parse(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))


def test_bytes_exactly():
    raw, info = written(data_of(["Name", "Mobile"], [("Asha", "9876543210"), ("Ravi", "01")]))
    assert raw == b"Name,Mobile\r\nAsha,9876543210\r\nRavi,01\r\n"
    assert info == CsvInfo(hashlib.sha256(raw).hexdigest(), len(raw), 2)


def test_no_bom_utf8():
    raw, _ = written(data_of(["नाम", "Mobile"], [("Zoë 😀", "9876543210")]))
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8").startswith("नाम,Mobile\r\n")
    assert "Zoë 😀".encode() in raw


def test_rfc4180_quoting():
    raw, _ = written(
        data_of(
            ["a", "b", "c", "d", "e"],
            [("x, y", 'say "hi"', "line1\nline2", "cr\rhere", " lead space")],
        )
    )
    assert raw == (b'a,b,c,d,e\r\n"x, y","say ""hi""","line1\nline2","cr\rhere", lead space\r\n')
    assert parse(raw)[1] == ["x, y", 'say "hi"', "line1\nline2", "cr\rhere", " lead space"]


def test_empty_values():
    raw, _info = written(data_of(["a", "b"], [("", ""), ("1", "")]))
    assert raw == b"a,b\r\n,\r\n1,\r\n"
    assert parse(raw) == [["a", "b"], ["", ""], ["1", ""]]
    # a lone empty field is quoted so the line is not blank
    raw, _ = written(data_of(["a"], [("",)]))
    assert parse(raw) == [["a"], [""]]


def test_header_only_when_no_rows():
    raw, info = written(data_of(["Name", "Mobile"], []))
    assert raw == b"Name,Mobile\r\n"
    assert info.rows == 0 and info.bytes == len(raw)


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        (0, None, ["0", "1", "2", "3", "4"]),
        (0, 2, ["0", "1"]),
        (2, 4, ["2", "3"]),
        (4, None, ["4"]),
        (5, None, []),
        (3, 100, ["3", "4"]),
        (4, 2, []),
        (-2, None, ["3", "4"]),
    ],
)
def test_slices(start, stop, expected):
    data = data_of(["n"], [(str(i),) for i in range(5)])
    raw, info = written(data, start=start, stop=stop)
    rows = parse(raw)
    assert rows[0] == ["n"]
    assert [r[0] for r in rows[1:]] == expected
    assert info.rows == len(expected)


def test_parts_together_hold_every_row_once():
    data = data_of(["n", "m"], [(str(i), f"v{i}") for i in range(23)])
    got = []
    for start in range(0, 23, 5):
        raw, info = written(data, start=start, stop=start + 5)
        got += parse(raw)[1:]
        assert info.sha256 == hashlib.sha256(raw).hexdigest()
    assert got == [[str(i), f"v{i}"] for i in range(23)]


def test_chunked_writes(monkeypatch):
    monkeypatch.setattr(csv_export, "CHUNK_ROWS", 3)
    data = data_of(["n"], [(str(i),) for i in range(10)])

    class Recorder(io.BytesIO):
        writes = 0

        def write(self, b):
            Recorder.writes += 1
            return super().write(b)

    out = Recorder()
    info = write_csv(data, out)
    assert Recorder.writes >= 4  # header + 10 rows in chunks of 3
    raw = out.getvalue()
    assert [r[0] for r in parse(raw)[1:]] == [str(i) for i in range(10)]
    assert info.sha256 == hashlib.sha256(raw).hexdigest() and info.bytes == len(raw)


def test_same_content_same_sha():
    _a, ia = written(data_of(["n"], [("1",), ("2",)]))
    _b, ib = written(data_of(["n"], [("1",), ("2",)]))
    _c, ic = written(data_of(["n"], [("1",), ("3",)]))
    assert ia == ib and ia.sha256 != ic.sha256


# --- round trip: sheet rows -> check_rows -> write_csv -> csv.reader ---------------------------

HEADERS = ["Name", "Mobile", "Alt", "Note", "Email"]
MAP = resolve_mapping(
    [["f", "c"], ["name", "Name"], ["phone1", "Mobile"], ["phone2", "Alt"], ["email", "Email"]],
    HEADERS,
)

phones = st.sampled_from(
    ["9876543210", "+91 98765 43211", 9876543212.0, 9876543213, "0987", "x", None, 1e15]
) | st.integers(min_value=10**6, max_value=10**15 - 1).map(float)
cells = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.sampled_from([" ", "a,b", 'q"', "l1\nl2", "\r", "नमस्ते"]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.builds(CellError, st.just("#N/A")),
)
rows_strategy = st.lists(
    st.tuples(cells, phones, st.one_of(phones, cells), cells, cells).map(list)
    | st.lists(st.none(), max_size=3),
    max_size=30,
)


@settings(max_examples=200)
@given(rows_strategy, st.integers(min_value=1, max_value=7))
def test_round_trip(rows, chunk):
    data = check_rows(rows, MAP)
    raw, info = written(data)
    parsed = parse(raw)
    assert parsed[0] == ["Name", "Mobile", "Alt", "Email"]
    body = parsed[1:]
    assert info.rows == len(body) == len(data.row_numbers)
    assert info.bytes == len(raw) and info.sha256 == hashlib.sha256(raw).hexdigest()
    # every valid row exactly once, in order, formatted; phones normalised
    for number, line in zip(data.row_numbers, body, strict=True):
        row = rows[number - 2]
        cell = row + [None] * (5 - len(row))
        assert line == [
            format_value(cell[0]),
            normalise_phone(cell[1])[0],
            normalise_phone(cell[2])[0] or "",
            format_value(cell[4]),
        ]
    # every non-empty row is either sent or reported, with its right sheet row number
    reported = {bad.row for bad in data.invalid}
    assert not reported & set(data.row_numbers)
    non_empty = {
        i + 2
        for i, row in enumerate(rows)
        if any(v is not None and not (isinstance(v, str) and not v.strip()) for v in row)
    }
    assert reported | set(data.row_numbers) == non_empty
    assert data.rows_read == len(non_empty)
    # sent phone1 values are distinct
    assert len({line[1] for line in body}) == len(body)
    # split into parts: the same rows
    parts = []
    for start in range(0, max(len(body), 1), chunk):
        part, _ = written(data, start=start, stop=start + chunk)
        assert parse(part)[0] == parsed[0]
        parts += parse(part)[1:]
    assert parts == body


def test_round_trip_values_as_the_analyst_sees_them():
    rows = [
        [" Asha ", 9876543210.0, "098765 43210", None, dt.datetime(2026, 1, 2, 3, 4, 5)],
        ["Ravi\n(new)", "+91-98765-43211", None, None, 1e-7],
    ]
    raw, _ = written(check_rows(rows, MAP))
    assert raw.decode() == (
        "Name,Mobile,Alt,Email\r\n"
        "Asha,9876543210,09876543210,2026-01-02 03:04:05\r\n"
        '"Ravi\n(new)",919876543211,,0.0000001\r\n'
    )


# --- the Arrow columns (the rules' output): the same bytes as the csv module ---------------

_field = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    st.sampled_from(["", ",", '"', "\r\n", "\n", "a,b", 'say "hi"', " x ", "नमस्ते"]),
)


def _reference(header, columns, start=0, stop=None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(list(zip(*columns, strict=True))[start:stop])
    return buffer.getvalue().encode("utf-8")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(1, 4).flatmap(lambda width: st.tuples(
        st.lists(st.lists(_field, min_size=width, max_size=width), max_size=25),
        st.sets(st.integers(0, width - 1)),
        st.integers(1, 6),
        st.integers(0, 8),
        st.one_of(st.none(), st.integers(0, 30)),
    )),
)
def test_arrow_columns_give_the_csv_modules_bytes(monkeypatch, case):
    import pyarrow as pa

    rows, as_lists, chunk, start, stop = case
    width = len(rows[0]) if rows else 2
    header = [f"h{j}" for j in range(width)]
    columns = [[r[j] for r in rows] for j in range(width)]
    monkeypatch.setattr(csv_export, "ARROW_CHUNK_ROWS", chunk)
    # some columns as Arrow arrays, some as lists (the writer takes both at once)
    mixed = [col if j in as_lists else pa.array(col, pa.string())
             for j, col in enumerate(columns)]
    if all(j in as_lists for j in range(width)):
        mixed[0] = pa.array(columns[0], pa.string())
    data = CheckedData(header=header, columns=mixed,
                       row_numbers=list(range(2, 2 + len(rows))), invalid=[],
                       rows_read=len(rows))
    raw, info = written(data, start=start, stop=stop)
    assert raw == _reference(header, columns, start, stop)
    assert info.sha256 == hashlib.sha256(raw).hexdigest() and info.bytes == len(raw)
    assert list(data.rows(start, stop)) == list(zip(*columns, strict=True))[start:stop]


def test_arrow_columns_too_large_for_arrow_go_by_the_list_route(monkeypatch):
    """A chunk whose text would not fit Arrow's 32-bit offsets is made from Python strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [["a", 'b"', "c,d", ""], ["1", "2", "3", "4"]]
    data = CheckedData(header=["x", "y"], columns=[pa.array(c) for c in columns],
                       row_numbers=[2, 3, 4, 5], invalid=[], rows_read=4, plain={1})
    calls = []

    def full(*args, **kw):
        calls.append(1)
        raise pa.ArrowCapacityError("array cannot contain more than 2147483646 bytes")

    monkeypatch.setattr(pc, "binary_join_element_wise", full)
    raw, _ = written(data)
    assert calls and raw == _reference(["x", "y"], columns)


def test_large_string_and_null_arrow_columns(monkeypatch):
    """64-bit offsets and nulls (empty fields) take the same quoting, chunk by chunk."""
    import pyarrow as pa

    monkeypatch.setattr(csv_export, "ARROW_CHUNK_ROWS", 3)
    columns = [["a,b", None, 'say "hi"', "नमस्ते, दुनिया", "x\r\ny", "", "plain"],
               ["1", "2", None, "4", "5", "6", "7"]]
    data = CheckedData(header=["h0", "h1"],
                       columns=[pa.array(columns[0], pa.large_string()),
                                pa.array(columns[1], pa.large_string())],
                       row_numbers=list(range(2, 9)), invalid=[], rows_read=7)
    raw, _ = written(data)
    assert raw == _reference(["h0", "h1"], [[v or "" for v in c] for c in columns])
    assert b'"a,b"' in raw and b'"say ""hi"""' in raw and '"नमस्ते, दुनिया"'.encode() in raw
