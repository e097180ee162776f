"""rules.values: SPEC §3's text of every kind of cell, for a column and for one value."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xl_ameyo.columns import CellError, Kind, from_values
from xl_ameyo.rules import format_column, format_value, short
from xl_ameyo.rules.values import SPACES


def texts(values, pad=None) -> list[str]:
    """SPEC §3 text of Python cell values, through a Column (how every front feeds it)."""
    col = from_values(values)
    if pad is not None:
        col.pad = np.array(pad, dtype=np.int8)
    return format_column(col).to_pylist()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  Asha  ", "Asha"),
        ("\xa0Asha\xa0", "Asha"),  # non-breaking spaces trimmed
        ("\tline1\nline2 \n", "line1\nline2"),  # inner newline kept
        ('say "hi", then go', 'say "hi", then go'),
        ("नमस्ते 😀", "नमस्ते 😀"),
        ("05566009041", "05566009041"),  # text keeps leading zeros
        (True, "TRUE"),
        (False, "FALSE"),
        (0, "0"),
        (17, "17"),
        (-42, "-42"),
        (9876543210.0, "9876543210"),
        (17.0, "17"),
        (-3.0, "-3"),
        (0.0, "0"),
        (-0.0, "0"),
        (1e15, "1000000000000000"),
        (1e16, "10000000000000000"),
        (1e20, "100000000000000000000"),
        (1.5e16, "15000000000000000"),
        (-1e20, "-100000000000000000000"),
        (0.1, "0.1"),
        (12.5, "12.5"),
        (-12.25, "-12.25"),
        (1 / 3, "0.3333333333333333"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-07, "0.0000001"),
        (1.5e-10, "0.00000000015"),
        (-2.5e-05, "-0.000025"),
        (0.0001, "0.0001"),
        (Decimal("1.50"), "1.5"),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (dt.date(999, 1, 2), "0999-01-02"),
        (dt.datetime(2026, 1, 2, 3, 4, 5), "2026-01-02 03:04:05"),
        (dt.datetime(2026, 1, 2, 0, 0), "2026-01-02 00:00:00"),
        (dt.datetime(2026, 1, 2, 12, 0, 0, 1), "2026-01-02 12:00:00"),  # serial noise
        (dt.datetime(2026, 1, 2, 11, 59, 59, 999_999), "2026-01-02 12:00:00"),  # rounds up
        (dt.datetime(2026, 1, 2, 12, 0, 0, 499_999), "2026-01-02 12:00:00"),
        (dt.datetime(2026, 1, 2, 12, 0, 0, 500_000), "2026-01-02 12:00:01"),  # half up
        (dt.datetime(2026, 12, 31, 23, 59, 59, 600_000), "2027-01-01 00:00:00"),
        (dt.datetime.max, "9999-12-31 23:59:59"),
        (
            dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=5))),
            "2026-01-02 03:04:05",
        ),
        (dt.time(9, 5, 7), "09:05:07"),
        (dt.time(9, 5, 7, 500_000), "09:05:08"),
        (dt.time(9, 5, 7, 499_999), "09:05:07"),
        (dt.time(23, 59, 59, 700_000), "00:00:00"),
        (dt.timedelta(hours=1, minutes=30), "1:30:00"),
        (dt.timedelta(days=1, hours=1, minutes=30), "25:30:00"),
        (dt.timedelta(seconds=59, microseconds=500_000), "0:01:00"),
        (dt.timedelta(seconds=-90), "-0:01:30"),
        (dt.timedelta(0), "0:00:00"),
    ],
)
def test_spec_examples(value, expected):
    assert format_value(value) == expected
    assert texts([value]) == [expected]


def test_every_kind_in_one_column():
    values = [None, " t ", True, 3, 4.5, dt.date(2020, 1, 1), dt.datetime(2020, 1, 1, 1),
              dt.time(1, 2, 3), dt.timedelta(hours=30), CellError("#N/A"), "", 1e-7]
    assert texts(values) == ["", "t", "TRUE", "3", "4.5", "2020-01-01",
                             "2020-01-01 01:00:00", "01:02:03", "30:00:00", "", "", "0.0000001"]
    assert texts([]) == []
    assert texts([None, None]) == ["", ""]
    # a boolean is not the number 1
    assert texts([True, 1, 1.0]) == ["TRUE", "1", "1"]


def test_a_zero_padding_format_is_written_padded():
    # SPEC §3: 0000000000 shows the number 981234567 as 0981234567
    assert texts([981234567.0, 5.0, -3.0, 2.5, 1234567.0, 42.0],
                 pad=[10, 5, 4, 5, 3, 0]) == [
        "0981234567", "00005", "-0003", "2.5", "1234567", "42"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_have_no_text(bad):
    with pytest.raises(ValueError):
        format_value(bad)


def test_an_error_cell_has_no_text():
    with pytest.raises(ValueError, match="#N/A"):
        format_value(CellError("#N/A"))


def test_other_types_are_refused():
    with pytest.raises(TypeError):
        format_value(object())


def test_subclasses_are_their_kind():
    class MyStr(str):
        pass

    class MyFloat(float):
        pass

    assert format_value(MyStr(" x ")) == "x"
    assert format_value(MyFloat(3.0)) == "3"
    assert texts([MyFloat(2.5), MyStr(" y")]) == ["2.5", "y"]


def test_short():
    assert short(CellError("#N/A")) == "#N/A"
    assert short("x" * 100) == "x" * 37 + "..."
    assert short("a\nb") == "a b"
    assert short("a\x1bb") == "a\ufffdb"  # a message must print
    assert short(math.nan) == "nan"
    assert short(9876543210.0) == "9876543210"


def test_spaces_are_what_str_strip_takes():
    assert set(SPACES) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


# --- properties: from_values then the rules give what SPEC §3 says ------------------------

finite_floats = st.floats(allow_nan=False, allow_infinity=False)


def spec_number(x: float) -> str:
    """SPEC §3 for a number: the shortest round-trip decimal, no exponent, no ``.0``."""
    s = format(Decimal(repr(x)), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


@given(st.lists(finite_floats))
@example([1e-07, 1.5e-10, -0.0, 1e16, 5e-324, 1.7976931348623157e308])
def test_numbers(values):
    out = texts(values)
    assert out == [spec_number(x) for x in values]
    for x, s in zip(values, out, strict=True):
        assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", s)
        assert float(s) == x


@given(st.lists(st.integers(min_value=-(10**17), max_value=10**17).map(float)))
def test_whole_numbers(values):
    assert texts(values) == [str(int(x)) if abs(x) < 1e16 else spec_number(x) for x in values]


@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(1, 15))))
def test_padded_numbers(cells):
    out = texts([float(n) for n, _ in cells], pad=[w for _, w in cells])
    assert out == [str(n).zfill(w) for n, w in cells]


@given(st.lists(st.one_of(st.text(), st.none())))
def test_text_is_trimmed_only(values):
    assert texts(values) == ["" if v is None else v.strip() for v in values]


moments = st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1))


@given(st.lists(moments))
@example([dt.datetime(2026, 1, 2, 3, 4, 5, 500_000), dt.datetime(2026, 1, 2, 3, 4, 5, 499_999)])
def test_datetimes_round_half_up(values):
    want = []
    for d in values:
        whole = d.replace(microsecond=0)
        if d.microsecond >= 500_000:
            whole += dt.timedelta(seconds=1)
        want.append(whole.isoformat(" "))
    assert texts(values) == want


@given(st.lists(st.dates()))
def test_dates(values):
    assert texts(values) == [d.isoformat() for d in values]


@given(st.lists(st.times()))
def test_times(values):
    want = []
    for t in values:
        s = t.hour * 3600 + t.minute * 60 + t.second + (t.microsecond >= 500_000)
        s %= 86400
        want.append(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}")
    assert texts(values) == want


@given(st.lists(st.timedeltas(min_value=dt.timedelta(days=-1000),
                              max_value=dt.timedelta(days=1000))))
def test_durations(values):
    for td, out in zip(values, texts(values), strict=True):
        m = re.fullmatch(r"(-?)(\d+):([0-5]\d):([0-5]\d)", out)
        assert m
        seconds = int(m[2]) * 3600 + int(m[3]) * 60 + int(m[4])
        assert abs(abs(td.total_seconds()) - seconds) <= 0.5
        assert (m[1] == "-") == (td < dt.timedelta(0) and seconds > 0) or seconds == 0


cell_values = st.one_of(
    st.none(), st.text(), st.booleans(), st.integers(-(10**15), 10**15), finite_floats,
    st.dates(), moments, st.times(), st.sampled_from(["#N/A", "#SPILL!"]).map(CellError),
)


@given(st.lists(cell_values))
def test_a_mixed_column_is_each_cell_by_its_kind(values):
    col = from_values(values)
    out = format_column(col).to_pylist()
    for v, k, s in zip(values, col.kinds.tolist(), out, strict=True):
        if k in (Kind.EMPTY, Kind.ERROR):
            assert s == ""
        else:
            assert s == format_value(v)
