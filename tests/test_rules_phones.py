"""rules.phones: SPEC §3's phone rule, for a column and for one value."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xl_ameyo.columns import CellError, from_values
from xl_ameyo.rules import normalise_phone
from xl_ameyo.rules.phones import phone_column

finite_floats = st.floats(allow_nan=False, allow_infinity=False)

cell_values = st.one_of(
    st.none(),
    st.text(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    finite_floats,
    st.dates(),
    st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1)),
    st.times(),
    st.timedeltas(min_value=dt.timedelta(days=-100), max_value=dt.timedelta(days=100)),
)



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
    col = from_values([value])
    phones = phone_column(col)
    assert phones.digits.to_pylist() == [expected[0]]
    assert bool(phones.bad[0]) == (expected[1] is not None)


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


@given(st.lists(st.one_of(cell_values, phone_texts)))
def test_a_mixed_column_is_each_cell_by_its_kind(values):
    phones = phone_column(from_values(values))
    for i, v in enumerate(values):
        d, r = normalise_phone(v)
        assert phones.digits[i].as_py() == d
        assert (phones.reason(i) if phones.bad[i] else None) == r
        assert bool(phones.empty[i]) == (d is None and r is None)


@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 15))))
def test_a_padded_number_is_the_phone_the_analyst_sees(cells):
    col = from_values([float(n) for n, _ in cells])
    col.pad = np.array([w for _, w in cells], dtype=np.int8)
    phones = phone_column(col)
    for i, (n, w) in enumerate(cells):
        shown = str(n).zfill(w)
        want = shown if 7 <= len(shown) <= 15 else None
        assert phones.digits[i].as_py() == want
        if want is None:
            plural = "s" * (len(shown) != 1)
            assert phones.reason(i) == f"has {len(shown)} digit{plural}, needs 7 to 15"


def test_a_country_rule_is_asked_per_cell():
    seen = []

    def rule(value):
        seen.append(value)
        return (None, "not a number of IN") if value == "123" else ("9" * 10, None)

    col = from_values(["123", None, 98765.0, "x"])
    col.pad = np.array([0, 0, 10, 0], dtype=np.int8)
    phones = phone_column(col, rule)
    assert seen == ["123", "0000098765", "x"]  # a padded number as Excel shows it
    assert phones.digits.to_pylist() == [None, None, "9" * 10, "9" * 10]
    assert phones.bad.tolist() == [True, False, False, False]
    assert phones.empty.tolist() == [False, True, False, False]
    assert phones.reason(0) == "not a number of IN"


