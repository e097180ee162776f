"""A property test THROUGH THE FILE (SPEC §2 "Data sheet", §3 values, phones and invalid rows):
random sheets written with openpyxl, read back with the headless reader, checked and exported
by the pipeline the CLI runs (no HTTP: nothing here needs the server).

The expected CSV text of every cell is computed here, independently, from the Python value
that was written (not with ``values.format_value``), and so is which rows are valid: the CSV
must parse back to exactly those rows, in sheet order, none lost or duplicated.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.books import mapping_rows, settings_rows, write_book
from xl_ameyo import pipeline
from xl_ameyo.csv_export import write_csv
from xl_ameyo.xlsx.reader import XlsxBook

ERROR_CODES = ("#N/A", "#DIV/0!", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!")

# --- what is written -------------------------------------------------------------------------


class Err(str):
    """An Excel error cell (openpyxl writes these exact texts as error cells)."""


def _writable_text(s: str) -> bool:
    return (
        not s.startswith("=")                       # openpyxl would write a formula
        and s not in ERROR_CODES                    # ... or an error cell
        and not re.search(r"_x[0-9A-Fa-f]{4}_", s)  # an OOXML escape: openpyxl doesn't escape
    )


PADDING = st.sampled_from(["", "", " ", "  ", "\t", "\n", "\u00a0"])
TEXT = st.tuples(
    PADDING,
    st.text(
        alphabet=st.one_of(
            st.characters(blacklist_categories=("Cs", "Cc", "Cn")),
            st.sampled_from([" ", '"', ",", "\n", "\t", "'", "\u00a0", "é", "李", "😀"]),
        ),
        max_size=16,
    ),
    PADDING,
).map("".join).filter(_writable_text)

WHOLE_SECOND_DATETIMES = st.datetimes(
    min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(microsecond=0))
#: midnight, often: a date-time cell holding exactly midnight is still a date-time
DATETIMES = st.one_of(WHOLE_SECOND_DATETIMES, WHOLE_SECOND_DATETIMES.map(
    lambda d: d.replace(hour=0, minute=0, second=0)))

VALUE = st.one_of(
    st.none(),
    TEXT,
    st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    DATETIMES,
    st.booleans(),
)
#: mostly values, an error cell now and then (one makes its row invalid)
CELL = st.sampled_from(range(10)).flatmap(
    lambda k: st.sampled_from(ERROR_CODES).map(Err) if k == 9 else VALUE)


@st.composite
def phones(draw):
    """(cell value, normalised digits or None for empty, False for not a phone)."""
    kind = draw(st.sampled_from(
        ["text", "text", "text", "number", "number", "empty", "blank", "bad", "short"]))
    if kind == "empty":
        return None, None
    if kind == "blank":
        return " " * draw(st.integers(1, 3)), None
    if kind == "bad":
        return draw(st.sampled_from(["call me", "n/a", "98x76543210", "++919876543210"])), False
    if kind == "number":
        n = draw(st.integers(min_value=10**6, max_value=10**15 - 1))
        return n, str(n)
    size = draw(st.integers(1, 6)) if kind == "short" else draw(st.integers(7, 15))
    # few distinct digit strings, so duplicates happen
    digits = draw(st.sampled_from(["0", "9", "98"])) + draw(
        st.text(alphabet="0123456789", min_size=size, max_size=size))
    digits = digits[:size]
    pieces = []
    for ch in digits:
        pieces.append(ch)
        pieces.append(draw(st.sampled_from(["", "", "", " ", "-", ".", "(", ")"])))
    text = "".join(pieces)
    if draw(st.booleans()):
        text = "+" + text
    if draw(st.booleans()):
        text = f"  {text} "
    return text, (digits if 7 <= len(digits) <= 15 else False)


# --- what is expected ----------------------------------------------------------------------


def plain_decimal(x: float) -> str:
    """The shortest decimal that reads back as ``x``, without an exponent."""
    if x == 0:
        return "0"
    r = repr(x)  # Python's repr is the shortest round-trip form
    sign = "-" if r.startswith("-") else ""
    r = r.lstrip("-")
    mantissa, _, exponent = r.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = text.lstrip("0")
    if not text or text.startswith("."):
        text = "0" + text
    return sign + text


def expected_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return plain_decimal(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S").zfill(19)
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    assert isinstance(value, str) and not isinstance(value, Err)
    return value.strip()


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not isinstance(value, Err)
                             and not value.strip())


def crlf_outside_quotes(text: str) -> bool:
    """Every line break outside a quoted field is CRLF (RFC 4180)."""
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "\r\n":
            if ch == "\n" and (i == 0 or text[i - 1] != "\r"):
                return False
            if ch == "\r" and text[i + 1 : i + 2] != "\n":
                return False
    return not quoted


# --- the property --------------------------------------------------------------------------


@st.composite
def sheets(draw):
    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(0, 12))
    phone_at = draw(st.integers(0, n_cols))
    unmapped_at = draw(st.integers(0, n_cols + 1))
    rows = []
    for _ in range(n_rows):
        data = [draw(CELL) for _ in range(n_cols)]
        phone = draw(phones())
        extra = draw(st.one_of(st.none(), TEXT, st.sampled_from(ERROR_CODES).map(Err)))
        rows.append((data, phone, extra))
    return n_cols, phone_at, unmapped_at, rows


def layout(n_cols: int, phone_at: int, unmapped_at: int) -> list[str]:
    """Column roles in sheet order: "d0".."dN", "phone", "unmapped"."""
    roles = [f"d{j}" for j in range(n_cols)]
    roles.insert(phone_at, "phone")
    roles.insert(unmapped_at, "unmapped")
    return roles


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets())
def test_random_sheets_round_trip_through_the_file(sheet):
    n_cols, phone_at, unmapped_at, rows = sheet
    roles = layout(n_cols, phone_at, unmapped_at)
    headers = {"phone": "  Phone ", "unmapped": "Ignored"}
    headers.update({f"d{j}": f" Col {j} " for j in range(n_cols)})
    sheet_rows = [[headers[r] for r in roles]]
    for data, (phone, _), extra in rows:
        cells = {"phone": phone, "unmapped": extra}
        cells.update({f"d{j}": v for j, v in enumerate(data)})
        sheet_rows.append([cells[r] for r in roles])
    mapping = {"phone1": "phone", **{f"field{j}": f"col {j}" for j in range(n_cols)}}

    # expected, row by row
    want_header = [headers[r].strip() for r in roles if r != "unmapped"]
    want_rows, want_numbers, want_invalid = [], [], []
    seen: set[str] = set()
    rows_read = 0
    for i, (data, (phone, digits), extra) in enumerate(rows):
        number = i + 2
        if all(is_blank(v) for v in [*data, phone, extra]):
            continue
        rows_read += 1
        if any(isinstance(v, Err) for v in data) or not digits or digits in seen:
            want_invalid.append(number)
            continue
        seen.add(digits)
        by_role = {"phone": digits, **{f"d{j}": expected_text(v) for j, v in enumerate(data)}}
        want_rows.append([by_role[r] for r in roles if r != "unmapped"])
        want_numbers.append(number)

    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "random.xlsx", {
            "Leads": sheet_rows,
            "Settings": settings_rows("https://ameyo.example.com"),
            "Mapping": mapping_rows(mapping),
        })
        plan = pipeline.plan_upload(XlsxBook(path))
        out = io.BytesIO()
        info = write_csv(plan.checked, out)

    data = out.getvalue()
    assert not data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    assert crlf_outside_quotes(text)
    parsed = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert parsed[0] == want_header
    assert parsed[1:] == want_rows
    assert plan.checked.row_numbers == want_numbers
    assert [bad.row for bad in plan.checked.invalid] == want_invalid
    assert plan.checked.rows_read == rows_read
    assert info.rows == len(want_rows)


def test_plain_decimal_examples():
    # the test's own expectation, pinned on SPEC §3's examples
    assert plain_decimal(9876543210.0) == "9876543210"
    assert plain_decimal(0.1 + 0.2) == "0.30000000000000004"
    assert plain_decimal(1e-7) == "0.0000001"
    assert plain_decimal(1e20) == "100000000000000000000"
    assert plain_decimal(-1.5e-3) == "-0.0015"
    assert plain_decimal(1.2345e3) == "1234.5"
    assert plain_decimal(-0.0) == "0"
