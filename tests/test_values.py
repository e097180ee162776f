"""values.py: SPEC §3 value formatting and phone normalisation."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xl_ameyo.values import (
    CellError,
    format_column,
    format_value,
    normalise_phone,
    normalise_phones,
    short,
)

# --- format_value: examples for every rule --------------------------------------------------


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
        (1e-07, "0.0000001"),
        (1.5e-10, "0.00000000015"),
        (-2.5e-05, "-0.000025"),
        (0.0001, "0.0001"),
        (Decimal("1.50"), "1.5"),
        (Decimal("2.000"), "2"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0"), "0"),
        (Decimal("0.1000000000000000000001"), "0.1000000000000000000001"),
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
def test_format_value_examples(value, expected):
    assert format_value(value) == expected
    assert format_column([value]) == [expected]


def test_bool_is_not_formatted_as_int():
    # bool is a subclass of int: TRUE must not become "1"
    assert format_value(True) == "TRUE"
    assert format_column([True, 1, 1.0]) == ["TRUE", "1", "1"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("Inf")])
def test_nan_and_infinity_are_refused(bad):
    with pytest.raises(ValueError):
        format_value(bad)
    with pytest.raises(ValueError):
        format_column([1.0, bad])


def test_cell_error_is_never_formatted():
    with pytest.raises(ValueError, match="#N/A"):
        format_value(CellError("#N/A"))
    with pytest.raises(ValueError):
        format_column(["a", CellError("#REF!")])


def test_cell_error_str_is_code_and_is_frozen():
    err = CellError("#DIV/0!")
    assert str(err) == "#DIV/0!"
    assert err == CellError("#DIV/0!")
    with pytest.raises(AttributeError):
        err.code = "#N/A"  # type: ignore[misc]


def test_unknown_type_is_type_error():
    with pytest.raises(TypeError):
        format_value(object())


def test_subclasses_and_number_like_types():
    class MyStr(str):
        pass

    class MyFloat(float):
        pass

    class MyDateTime(dt.datetime):
        pass

    assert format_value(MyStr(" x ")) == "x"
    assert format_value(MyFloat(3.0)) == "3"
    assert format_value(MyDateTime(2020, 1, 2, 3, 4, 5)) == "2020-01-02 03:04:05"
    assert format_column([MyFloat(2.5), MyStr(" y")]) == ["2.5", "y"]


def test_format_column_mixed_and_empty():
    assert format_column([]) == []
    assert format_column([None, None]) == ["", ""]
    assert format_column([" a", None, "b "]) == ["a", "", "b"]
    assert format_column([1.0, -0.0, 0.0, 2.5, 1e-7, 1e20]) == [
        "1",
        "0",
        "0",
        "2.5",
        "0.0000001",
        "100000000000000000000",
    ]
    mixed = [None, " t ", True, 3, 4.0, dt.date(2020, 1, 1), dt.time(1, 2, 3), Decimal("1.0")]
    assert format_column(mixed) == [format_value(v) for v in mixed]
    # a tuple works as well as a list
    assert format_column((" a", "b")) == ["a", "b"]


def test_short():
    assert short(CellError("#N/A")) == "#N/A"
    assert short("x" * 100) == "x" * 37 + "..."
    assert short("a\nb") == "a b"
    assert short(math.nan) == "nan"
    assert short(9876543210.0) == "9876543210"


# --- format_value / format_column: properties -----------------------------------------------

finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@given(finite_floats)
@example(1e-07)
@example(1.5e-10)
@example(-0.0)
@example(1e16)
@example(5e-324)
@example(1.7976931348623157e308)
def test_float_text_is_exact_shortest_and_plain(x):
    out = format_value(x)
    assert "e" not in out and "E" not in out
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", out), out
    assert float(out) == x  # round-trips
    assert Decimal(out) == Decimal(repr(x))  # the shortest round-trip value, exactly
    if x.is_integer():
        assert "." not in out
        assert out != "-0"
    else:
        assert not out.endswith("0")


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_int_and_whole_float(n):
    assert format_value(n) == str(n)
    f = float(n)
    if abs(n) < 2**53:
        assert format_value(f) == str(n)


@given(st.text())
def test_text_is_trimmed_only(s):
    assert format_value(s) == s.strip()


@given(st.datetimes())
def test_datetime_rounds_half_up(d):
    out = format_value(d)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", out)
    whole = d.replace(microsecond=0)
    if d.microsecond >= 500_000 and whole < dt.datetime.max.replace(microsecond=0):
        whole += dt.timedelta(seconds=1)
    assert dt.datetime.fromisoformat(out) == whole


@given(st.dates())
def test_date(d):
    assert dt.date.fromisoformat(format_value(d)) == d


@given(st.timedeltas(min_value=dt.timedelta(days=-1000), max_value=dt.timedelta(days=1000)))
def test_timedelta(td):
    out = format_value(td)
    m = re.fullmatch(r"(-?)(\d+):([0-5]\d):([0-5]\d)", out)
    assert m
    seconds = int(m[2]) * 3600 + int(m[3]) * 60 + int(m[4])
    assert abs(abs(td.total_seconds()) - seconds) <= 0.5


cell_values = st.one_of(
    st.none(),
    st.text(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    finite_floats,
    st.dates(),
    st.datetimes(),
    st.times(),
    st.timedeltas(min_value=dt.timedelta(days=-100), max_value=dt.timedelta(days=100)),
)


@given(st.lists(cell_values))
def test_format_column_agrees_with_format_value(values):
    assert format_column(values) == [format_value(v) for v in values]


@given(st.lists(finite_floats))
def test_format_column_floats_agree(values):
    assert format_column(values) == [format_value(v) for v in values]


@given(st.lists(st.text()))
def test_format_column_text_agrees(values):
    assert format_column(values) == [v.strip() for v in values]


# --- normalise_phone --------------------------------------------------------------------------

LOST = "number has 16+ digits; Excel already lost digits — store the phone as text"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (None, None)),
        ("", (None, None)),
        ("   ", (None, None)),
        ("\xa0", (None, None)),
        ("9876543210", ("9876543210", None)),
        (" 9876543210 ", ("9876543210", None)),
        ("05566009041", ("05566009041", None)),  # leading zero of text kept
        ("+91 98765 43210", ("919876543210", None)),
        ("+91-98765-43210", ("919876543210", None)),
        ("(022) 2345.6789", ("02223456789", None)),
        ("98765\t43210", ("9876543210", None)),
        ("98765\xa043210", ("9876543210", None)),
        ("98765–43210", ("9876543210", None)),  # en dash
        ("(+91) 98765 43210", ("919876543210", None)),
        ("1234567", ("1234567", None)),
        ("123456789012345", ("123456789012345", None)),
        ("123456", (None, "has 6 digits, needs 7 to 15")),
        ("1234567890123456", (None, "has 16 digits, needs 7 to 15")),
        ("12345", (None, "has 5 digits, needs 7 to 15")),
        ("abc", (None, "not a phone number: 'abc'")),
        ("98765x43210", (None, "not a phone number: '98765x43210'")),
        ("++919876543210", (None, "not a phone number: '++919876543210'")),
        ("9876543210+", (None, "not a phone number: '9876543210+'")),
        ("-", (None, "not a phone number: '-'")),
        ("+", (None, "not a phone number: '+'")),
        ("٩٨٧٦٥٤٣٢١٠", (None, "not a phone number: '٩٨٧٦٥٤٣٢١٠'")),  # Arabic-Indic digits
        ("９８７６５４３２１０", (None, "not a phone number: '９８７６５４３２１０'")),  # fullwidth
        ("98765/43210", (None, "not a phone number: '98765/43210'")),
        (9876543210, ("9876543210", None)),
        (9876543210.0, ("9876543210", None)),
        (1234567.0, ("1234567", None)),
        (999999.0, (None, "has 6 digits, needs 7 to 15")),
        (0, (None, "has 1 digit, needs 7 to 15")),
        (999999999999999.0, ("999999999999999", None)),
        (999999999999999, ("999999999999999", None)),
        (1e15, (None, LOST)),
        (1234567890123456.0, (None, LOST)),
        (10**15, (None, LOST)),
        (-1e15, (None, LOST)),
        (9876543210.5, (None, "not a whole number, not a phone number: 9876543210.5")),
        (-9876543210.0, (None, "negative number, not a phone number: -9876543210")),
        (-9876543210, (None, "negative number, not a phone number: -9876543210")),
        (True, (None, "not a phone number: TRUE")),
        (False, (None, "not a phone number: FALSE")),
        (math.nan, (None, "not a phone number: nan")),
        (math.inf, (None, "not a phone number: inf")),
        (Decimal("9876543210"), ("9876543210", None)),
        (dt.date(2020, 1, 2), (None, "not a phone number: 2020-01-02 (a date)")),
        (
            dt.datetime(2020, 1, 2, 3, 4, 5),
            (None, "not a phone number: 2020-01-02 03:04:05 (a date-time)"),
        ),
        (dt.time(3, 4, 5), (None, "not a phone number: 03:04:05 (a time)")),
        (dt.timedelta(hours=3), (None, "not a phone number: 3:00:00 (a duration)")),
        (CellError("#N/A"), (None, "Excel error #N/A")),
    ],
)
def test_normalise_phone_examples(value, expected):
    assert normalise_phone(value) == expected
    digits, reasons = normalise_phones([value])
    assert digits == [expected[0]]
    assert reasons == ({0: expected[1]} if expected[1] else {})


JUNK = " \t-.()\xa0\u2013"


def expected_phone(text: str) -> str | None:
    """An independent statement of the text rule."""
    rest = "".join(c for c in text.strip() if c not in JUNK and not c.isspace())
    if rest.startswith("+"):
        rest = rest[1:]
    if rest and all(c in "0123456789" for c in rest) and 7 <= len(rest) <= 15:
        return rest
    return None


phone_texts = st.text(alphabet=st.sampled_from("0123456789+ -.()x٣\xa0\t\u2013"), max_size=25)


@given(phone_texts)
@example("+91 (0) 98765-43210")
@example("0000000")
def test_normalise_phone_text_accepts_exactly_7_to_15_digits(text):
    digits, reason = normalise_phone(text)
    want = expected_phone(text)
    assert digits == want
    if want is None:
        assert (reason is None) == (not text.strip())
    else:
        assert reason is None


@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_normalise_phone_int(n):
    digits, reason = normalise_phone(n)
    if 10**6 <= n < 10**15:
        assert (digits, reason) == (str(n), None)
    else:
        assert digits is None and reason
    fdigits, freason = normalise_phone(float(n))
    if 10**6 <= n < 10**15:  # exact as floats in this range
        assert (fdigits, freason) == (str(n), None)
    else:
        assert fdigits is None and freason


@given(cell_values)
def test_normalise_phone_never_raises(value):
    digits, reason = normalise_phone(value)
    assert digits is None or reason is None
    if digits is not None:
        assert re.fullmatch(r"[0-9]{7,15}", digits)
    assert normalise_phones([value]) == ([digits], {0: reason} if reason else {})


@given(st.lists(st.one_of(cell_values, phone_texts)))
def test_normalise_phones_agrees(values):
    digits, reasons = normalise_phones(values)
    for i, v in enumerate(values):
        d, r = normalise_phone(v)
        assert digits[i] == d
        assert reasons.get(i) == r


# --- format_column / normalise_phones fast paths -----------------------------------------------


@given(st.lists(st.integers(min_value=-(10**17), max_value=10**17).map(float), min_size=1))
def test_format_column_whole_floats_agree(values):
    assert format_column(values) == [format_value(v) for v in values]


@pytest.mark.parametrize(
    "values",
    [
        [2.0**53, 2.0**53 + 2, 9999999999999998.0, -9999999999999998.0, -0.0, 0.0],
        [1e16, 1.0],
        [True, False, True],
        [1, -2, 10**20],
        [dt.date(2026, 1, 2), dt.date(1, 1, 1)],
        [dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime(2026, 1, 2)],
        [dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime(2026, 1, 2, 3, 4, 5, 600_000)],
        [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)],
        [dt.time(1, 2, 3), dt.time(1, 2, 3, 999_999)],
        [1.0, None, "x ", True],
    ],
)
def test_format_column_single_type_columns(values):
    assert format_column(values) == [format_value(v) for v in values]


def test_format_column_with_kinds_superset():
    # callers may pass the types of a larger column they selected from
    assert format_column([1.0, 2.5], {float, CellError}) == ["1", "2.5"]
    assert format_column([], {float}) == []


@pytest.mark.parametrize(
    "values",
    [
        [9876543210.0, 1234567.0, 999999999999999.0],  # all-whole fast path
        [9876543210.0, 999999.0],  # one too short
        [9876543210.0, 1e15],
        [9876543210.0, -9876543210.0, 9876543210.5],
        ["9876543210", " 9876543210", "+91 98765 43210", None, "", "abc"],
        [None, None],
        [],
    ],
)
def test_normalise_phones_fast_paths(values):
    digits, reasons = normalise_phones(values)
    assert len(digits) == len(values)
    for i, v in enumerate(values):
        d, r = normalise_phone(v)
        assert digits[i] == d and reasons.get(i) == r


@given(st.lists(st.datetimes(), min_size=1))
@example([dt.datetime.max, dt.datetime(2026, 1, 2, 3, 4, 5, 500_000)])
@example([dt.datetime(9999, 12, 31, 23, 59, 59, 499_999)])
def test_format_column_datetimes_agree(values):
    assert format_column(values) == [format_value(v) for v in values]
