"""rules.checks: empty rows, invalid rows and the formatted valid rows (SPEC §2, §3)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xl_ameyo.columns import CellError, column_letter
from xl_ameyo.mapping import resolve_mapping
from xl_ameyo.rules import (
    CheckedData,
    InvalidRow,
    check_rows,
    format_value,
    normalise_phone,
)
from xl_ameyo.rules.checks import _CONTROL_NAMES

HEADERS = ["Name", "Mobile", "Alt", "Notes", "Email", "Extra"]
MAPPING = [
    ["Ameyo field", "Sheet column"],
    ["name", "Name"],
    ["phone1", "Mobile"],
    ["phone2", "Alt"],
    ["Zone", "Alt"],  # a custom field on a phone column: still a phone column
    ["email", "Email"],
]
MAP = resolve_mapping(MAPPING, HEADERS)
# columns sent: A Name, B Mobile, C Alt, E Email


def check(rows, mapping=MAP, first_row=2) -> CheckedData:
    return check_rows(rows, mapping, first_row=first_row)


def valid_rows(data: CheckedData) -> list[tuple[str, ...]]:
    return list(data.rows())


def reasons(data: CheckedData) -> list[tuple[int, str | None, str]]:
    return [(bad.row, bad.cell, bad.reason) for bad in data.invalid]


def test_valid_rows_formatted_and_phones_normalised():
    data = check(
        [
            ["  Asha ", 9876543210.0, "+91 98765-43211", "note", "a@x.com"],
            ["Ravi", "098765 43212", None, None, None],
            [True, 9876543213, "  ", 1.5, dt.date(2026, 1, 2)],
        ]
    )
    assert data.header == ["Name", "Mobile", "Alt", "Email"]
    assert valid_rows(data) == [
        ("Asha", "9876543210", "919876543211", "a@x.com"),
        ("Ravi", "09876543212", "", ""),
        ("TRUE", "9876543213", "", "2026-01-02"),
    ]
    assert data.row_numbers == [2, 3, 4]
    assert data.rows_read == 3
    assert data.rows_valid == 3
    assert data.invalid == []
    # column-oriented
    assert data.columns[1].to_pylist() == ["9876543210", "09876543212", "9876543213"]


def test_fully_empty_rows_skipped_and_not_counted():
    data = check(
        [
            [],
            [None, None, None, None, None, None, None],
            ["  ", "\xa0", "\t\n", None, "", " "],
            ["Asha", 9876543210.0],
            [None],
        ]
    )
    assert data.rows_read == 1
    assert data.row_numbers == [5]
    assert data.invalid == []


def test_content_in_unmapped_column_makes_row_non_empty():
    data = check([[None, None, None, "only a note"], [None] * 6 + ["far right"]])
    assert data.rows_read == 2
    assert reasons(data) == [(2, "B2", "phone1 is empty"), (3, "B3", "phone1 is empty")]


def test_error_cell_is_not_empty():
    # an error in an unmapped column: the row is read; phone1 is empty
    data = check([[None, None, None, CellError("#N/A")]])
    assert data.rows_read == 1
    assert reasons(data) == [(2, "B2", "phone1 is empty")]


def test_error_in_unmapped_column_does_not_invalidate():
    data = check([["Asha", 9876543210.0, None, CellError("#REF!")]])
    assert data.invalid == []
    assert valid_rows(data) == [("Asha", "9876543210", "", "")]


def test_error_in_mapped_cell_invalidates_and_names_code_and_column():
    data = check(
        [
            ["Asha", 9876543210.0, None, None, CellError("#N/A")],
            [CellError("#DIV/0!"), "bad phone", CellError("#REF!")],  # left-most error first
        ]
    )
    assert data.invalid == [
        InvalidRow(2, "Email", "E2", "#N/A", "Excel error #N/A in column 'Email'"),
        InvalidRow(3, "Name", "A3", "#DIV/0!", "Excel error #DIV/0! in column 'Name'"),
    ]
    assert data.rows_read == 2
    assert data.row_numbers == []


def test_error_in_phone1_reported_as_error():
    data = check([["Asha", CellError("#VALUE!")]])
    assert reasons(data) == [(2, "B2", "Excel error #VALUE! in column 'Mobile'")]


def test_phone1_empty_or_not_a_phone():
    data = check(
        [
            ["Asha", None, "9876543210"],
            ["Ravi", "call me"],
            ["Mina", 12345.0],
            ["Om", 1234567890123456.0],
            ["Jo", -9876543210.0],
            ["Al", True],
            ["Bo", "   "],
        ]
    )
    assert reasons(data) == [
        (2, "B2", "phone1 is empty"),
        (3, "B3", "phone1: not a phone number: 'call me'"),
        (4, "B4", "phone1: has 5 digits, needs 7 to 15"),
        (
            5,
            "B5",
            "phone1: number has 16+ digits; Excel already lost digits — store the phone as text",
        ),
        (6, "B6", "phone1: negative number, not a phone number: -9876543210"),
        (7, "B7", "phone1: not a phone number: TRUE"),
        (8, "B8", "phone1 is empty"),
    ]
    assert data.invalid[1].value == "call me"
    assert data.invalid[1].column == "Mobile"
    assert data.rows_read == 7


def test_other_phone_field_invalid():
    data = check(
        [
            ["Asha", 9876543210.0, "abc"],
            ["Ravi", 9876543211.0, 1e15],
            ["Mina", 9876543212.0, ""],
        ]
    )
    assert reasons(data) == [
        (2, "C2", "phone2: not a phone number: 'abc'"),
        (
            3,
            "C3",
            "phone2: number has 16+ digits; Excel already lost digits — store the phone as text",
        ),
    ]
    assert valid_rows(data) == [("Mina", "9876543212", "", "")]


def test_check_order_error_then_phone1_then_other_phones_then_duplicate():
    data = check(
        [
            ["A", 9876543210.0],
            ["B", "x", "y", None, CellError("#N/A")],  # error wins
            ["C", "x", "y"],  # phone1 wins over phone2
            ["D", 9876543210.0, "y"],  # phone2 wins over duplicate
            ["E", 9876543210.0],  # duplicate
        ]
    )
    assert [r[2] for r in reasons(data)] == [
        "Excel error #N/A in column 'Email'",
        "phone1: not a phone number: 'x'",
        "phone2: not a phone number: 'y'",
        "duplicate of row 2",
    ]


def test_duplicates_compare_normalised_phone1_and_name_first_row():
    data = check(
        [
            ["A", "+91 98765 43210"],
            ["B", 919876543210.0],
            ["C", "9198765-43210"],
            ["D", 9876543210.0],
        ]
    )
    assert reasons(data) == [(3, "B3", "duplicate of row 2"), (4, "B4", "duplicate of row 2")]
    assert data.invalid[0].value == "919876543210"
    assert data.row_numbers == [2, 5]


def test_duplicate_only_of_an_earlier_valid_row():
    data = check(
        [
            ["A", 9876543210.0, "bad"],  # invalid: phone2
            ["B", 9876543210.0],  # first valid occurrence
            ["C", 9876543210.0],
        ]
    )
    assert reasons(data) == [
        (2, "C2", "phone2: not a phone number: 'bad'"),
        (4, "B4", "duplicate of row 3"),
    ]
    assert data.row_numbers == [3]


def test_leading_zero_text_is_a_different_phone():
    data = check([["A", "09876543210"], ["B", 9876543210.0]])
    assert data.invalid == []


def test_first_row_and_cell_addresses():
    data = check([["A", None], [], ["B", "x"]], first_row=10)
    assert reasons(data) == [
        (10, "B10", "phone1 is empty"),
        (12, "B12", "phone1: " + ("not a phone number: 'x'")),
    ]


def test_far_columns_addresses():
    headers = [f"h{j}" for j in range(30)]
    m = resolve_mapping([["f", "c"], ["phone1", "h27"]], headers)
    data = check_rows([[None] * 27 + ["abc"]], m)
    assert data.invalid[0].cell == "AB2"
    assert data.header == ["h27"]


def test_ragged_rows_shorter_than_mapped_columns():
    data = check([["Asha", 9876543210.0], ["Ravi", 9876543211.0, "9876543212", None, "r@x"]])
    assert valid_rows(data) == [
        ("Asha", "9876543210", "", ""),
        ("Ravi", "9876543211", "9876543212", "r@x"),
    ]


def test_no_rows():
    data = check([])
    assert data.rows_read == 0 and data.row_numbers == [] and data.invalid == []
    assert [c.to_pylist() for c in data.columns] == [[], [], [], []]


def test_column_mapped_to_phone_and_custom_is_phone_column():
    data = check([["A", 9876543210.0, "(022) 2345 6789"]])
    assert valid_rows(data)[0][2] == "02223456789"


def test_values_formatted_like_spec():
    m = resolve_mapping(
        [["f", "c"], ["phone1", "P"], ["A", "A"], ["B", "B"], ["C", "C"], ["D", "D"]],
        ["P", "A", "B", "C", "D"],
    )
    data = check_rows(
        [
            ["9876543210", 1e-7, dt.datetime(2026, 1, 2, 12, 0, 0, 1), 'say "hi",\nbye ', False],
            ["9876543211", 17.0, dt.time(9, 30), 1e20, 3],
        ],
        m,
    )
    assert valid_rows(data) == [
        ("9876543210", "0.0000001", "2026-01-02 12:00:00", 'say "hi",\nbye', "FALSE"),
        ("9876543211", "17", "09:30:00", "100000000000000000000", "3"),
    ]


def test_invalid_rows_in_sheet_order():
    data = check([["A", "x"], ["B", 9876543210.0, None, None, CellError("#N/A")], ["C", None]])
    assert [bad.row for bad in data.invalid] == [2, 3, 4]


def test_rows_slice():
    data = check([["A", 9876543210.0], ["B", 9876543211.0], ["C", 9876543212.0]])
    assert [r[0] for r in data.rows(1)] == ["B", "C"]
    assert [r[0] for r in data.rows(0, 2)] == ["A", "B"]


def test_tuples_as_rows():
    data = check([("Asha", 9876543210.0), ("Ravi", 9876543211.0, None)])
    assert data.rows_valid == 2


# --- property: the checks agree with a plain per-row statement of the rules -------------------


def reference(rows, first_row=2):
    """SPEC's row rules, one row at a time, for MAP."""
    cols = MAP.columns
    out, numbers, bad, seen, read = [], [], [], {}, 0
    for i, row in enumerate(rows):
        number = first_row + i
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        read += 1
        cells = [row[c.index] if c.index < len(row) else None for c in cols]
        where = None
        for c, v in zip(cols, cells, strict=True):
            if isinstance(v, CellError):
                where = (
                    number,
                    f"{column_letter(c.index)}{number}",
                    f"Excel error {v.code} in column '{c.header}'",
                )
                break
        p1 = cells[1]
        d1, why = normalise_phone(p1)
        if where is None and d1 is None:
            reason = f"phone1: {why}" if why else "phone1 is empty"
            where = (number, f"B{number}", reason)
        d2, why2 = normalise_phone(cells[2])
        if where is None and why2:
            where = (number, f"C{number}", f"phone2: {why2}")
        if where is None and d1 in seen:
            where = (number, f"B{number}", f"duplicate of row {seen[d1]}")
        for c, v in zip(cols, cells, strict=True):
            bad_char = isinstance(v, str) and re.search(
                "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", v.strip())
            if where is None and bad_char:
                code = f"U+{ord(bad_char.group()):04X}"
                where = (number, f"{column_letter(c.index)}{number}",
                         f"the text in column '{c.header}' holds the control character {code} "
                         f"({_CONTROL_NAMES[ord(bad_char.group())]}), invisible in Excel; "
                         "remove it")
        if where is not None:
            bad.append(where)
            continue
        seen[d1] = number
        numbers.append(number)
        out.append((format_value(cells[0]), d1, d2 or "", format_value(cells[3])))
    return out, numbers, bad, read


VALID_PHONES = ["9876543210", " +91 98765 43210", 9876543210.0, 919876543210.0, "09876543210"]
phones = st.sampled_from(VALID_PHONES) | st.sampled_from(
    [
        "9876543210",
        " +91 98765 43210",
        9876543210.0,
        919876543210.0,
        9876543211,
        "09876543210",
        "12345",
        "abc",
        1e15,
        9876543210.5,
        None,
        "  ",
        CellError("#N/A"),
        True,
    ]
)
others = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\xa0", "x, y", 'q"q', "a\nb", "नमस्ते", "tab\tok\r\n", "a\x1bb",
                     "\x00", "\x7f", " \x0b", "\x08"]),
    st.text(alphabet=st.sampled_from("a \x00\x08\x0b\x0c\x1b\x1f\x7f"), max_size=3),
    st.text(max_size=5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.booleans(),
    st.dates(),
    st.builds(CellError, st.sampled_from(["#N/A", "#REF!"])),
)
sheet_rows = st.lists(
    st.lists(st.one_of(phones, others), max_size=7).flatmap(
        lambda row: (
            st.just(row) if len(row) < 2 else phones.map(lambda p, row=row: [row[0], p, *row[2:]])
        )
    ),
    max_size=25,
)


@settings(max_examples=300)
@given(sheet_rows, st.integers(min_value=2, max_value=100))
def test_checks_agree_with_reference(rows, first_row):
    data = check(rows, first_row=first_row)
    out, numbers, bad, read = reference(rows, first_row)
    assert list(data.rows()) == out
    assert data.row_numbers == numbers
    assert [(b.row, b.cell, b.reason) for b in data.invalid] == bad
    assert data.rows_read == read
    assert len(data.row_numbers) + len(data.invalid) == data.rows_read
    for col in data.columns:
        assert len(col) == len(numbers)
        assert all(isinstance(v, str) for v in col.to_pylist())


@pytest.mark.parametrize("n", [0, 1, 5])
def test_all_valid_fast_path_equals_general_path(n):
    rows = [["N", 9876543210.0 + i] for i in range(n)]
    assert check(rows).row_numbers == list(range(2, 2 + n))
    with_blank = [*rows, []]
    assert check(with_blank).row_numbers == list(range(2, 2 + n))


def test_text_with_a_lone_surrogate_is_an_invalid_row_not_a_crash():
    """Excel lets a cell hold half of an emoji (LEFT cut it); UTF-8 cannot carry it, so the
    row is reported (rule 1, like an Excel error) and the other rows go out."""
    import io

    from xl_ameyo.csv_export import write_csv

    data = check([
        ["Asha \ud83d", "9876543210", None, None, "a@example.com"],
        ["Ravi", "98765\udc0043211", None, None, "r@example.com"],
        ["Meena", "9876543212", None, None, "m\ud800@example.com"],
        ["Zoë 😀", "9876543213", None, None, "z@example.com"],
    ])
    assert reasons(data) == [
        (2, "A2", "the text in column 'Name' holds a broken character (U+D83D) that cannot "
                  "be sent; retype the cell"),
        (3, "B3", "the text in column 'Mobile' holds a broken character (U+DC00) that cannot "
                  "be sent; retype the cell"),
        (4, "E4", "the text in column 'Email' holds a broken character (U+D800) that cannot "
                  "be sent; retype the cell"),
    ]
    assert data.invalid[0].value == "Asha \ufffd"  # messages can be printed and saved
    out = io.BytesIO()
    write_csv(data, out)
    assert out.getvalue().decode("utf-8").splitlines()[1] == "Zoë 😀,9876543213,,z@example.com"


# --- control characters, NaN, the order of the rules -----------------------------------------


def test_a_control_character_in_a_mapped_text_names_the_cell_and_the_character():
    data = check([
        ["Asha\x1b[0m", 9876543210.0],
        ["Ravi", 9876543211.0, None, None, "r@x\x00"],
        ["Tab\tand\r\nlines", 9876543212.0],  # tab, CR and LF are text
        ["Om", 9876543213.0, None, "note\x07"],  # D is not mapped
        ["Del\x7f", 9876543214.0],
    ])
    assert reasons(data) == [
        (2, "A2", "the text in column 'Name' holds the control character U+001B (ESC), "
                  "invisible in Excel; remove it"),
        (3, "E3", "the text in column 'Email' holds the control character U+0000 (NUL), "
                  "invisible in Excel; remove it"),
        (6, "A6", "the text in column 'Name' holds the control character U+007F (DEL), "
                  "invisible in Excel; remove it"),
    ]
    assert data.invalid[0].value == "Asha\ufffd[0m"
    assert data.row_numbers == [4, 5]


def test_a_row_refused_for_a_control_character_makes_no_duplicate():
    data = check([
        ["A\x01", 9876543210.0],  # not sent
        ["B", 9876543210.0],  # sent: the corrected copy
        ["C\x02", 9876543210.0],  # a duplicate of row 3 first
    ])
    assert [r[2] for r in reasons(data)] == [
        "the text in column 'Name' holds the control character U+0001 (SOH), invisible in "
        "Excel; remove it",
        "duplicate of row 3",
    ]
    assert data.row_numbers == [3]


def test_nan_or_infinity_in_a_mapped_cell_is_refused():
    data = check([["A", 9876543210.0, None, None, float("nan")],
                  ["B", 9876543211.0, None, None, float("-inf")]])
    assert [r[2] for r in reasons(data)] == [
        "the number nan in column 'Email' is not a value Excel can hold",
        "the number -inf in column 'Email' is not a value Excel can hold",
    ]


def test_every_error_code_is_an_error_cell():
    codes = ["#N/A", "#SPILL!", "#CALC!", "#GETTING_DATA", "#BLOCKED!", "#WHATEVER?"]
    data = check([["A", 9876543210.0 + k, None, None, CellError(c)] for k, c in enumerate(codes)])
    assert [r[2] for r in reasons(data)] == [f"Excel error {c} in column 'Email'" for c in codes]


def test_a_country_rule_replaces_the_digit_rule():
    def rule(value):
        text = str(value)
        return (text[-10:], None) if text.startswith("+91") else (None, "not a number of IN")

    data = check_rows([["A", "+91 98765 43210"], ["B", "12345678"], ["C", "+91 98765 43210"]],
                      MAP, phone_rule=rule)
    assert [r[2] for r in reasons(data)] == ["phone1: not a number of IN", "duplicate of row 2"]
    assert data.columns[1].to_pylist() == ["8765 43210"]
