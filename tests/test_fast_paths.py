"""The CSV writer's shortcuts agree with the csv module's bytes (SPEC §3's RFC 4180 quoting).

The writer looks for commas and quotes in a column's joined text, quotes each distinct value
once where few differ, or quotes by offset: Hypothesis draws columns of the characters that
matter, and each way of finding the values to quote is hit.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xl_ameyo.csv_export import csv_fields, write_csv
from xl_ameyo.rules import CheckedData

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
