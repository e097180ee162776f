"""settings.py: the Settings sheet (SPEC §2)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xl_ameyo.columns import CellError
from xl_ameyo.errors import SettingsError, XlAmeyoError
from xl_ameyo.settings import KEYS, Settings, column_letter, normalise_key, parse_settings

BASE = [
    ["Setting", "Value", "Notes"],
    ["base_url", "https://ameyo.example.com:8443"],
    ["cc_list_id", 17],
    ["process_id", 5],
    ["lead_id", 3],
    ["user_id", "agent1"],
]


def rows_with(*extra, drop=()):
    """BASE without the keys in ``drop``, then ``extra`` rows."""
    return [r for r in BASE if r[0] not in drop] + [list(r) for r in extra]


def parse(*extra, drop=(), sheet="Settings"):
    return parse_settings(rows_with(*extra, drop=drop), sheet=sheet)


def error(*extra, drop=(), sheet="Settings") -> str:
    with pytest.raises(SettingsError) as info:
        parse(*extra, drop=drop, sheet=sheet)
    text = str(info.value)
    assert "\n" not in text
    return text


def test_minimal_settings_and_defaults():
    s = parse()
    assert s == Settings(
        base_url="https://ameyo.example.com:8443",
        cc_list_id=17,
        process_id=5,
        lead_id=3,
        user_id="agent1",
        update_duplicate=False,
        churn_updated_records=False,
        migrate=False,
        username=None,
        data_sheet=None,
        origin="https://ameyo.example.com",
        ca_bundle=None,
        verify_tls=True,
        timeout_s=300.0,
        on_invalid_rows="skip",
        max_rows_per_upload=None,
    )
    assert isinstance(s.timeout_s, float)


def test_all_keys_set():
    s = parse(
        ["update_duplicate", True],
        ["churn_updated_records", "yes"],
        ["migrate", 1.0],
        ["username", " admin "],
        ["data_sheet", "Leads"],
        ["origin", "https://portal.example.com/"],
        ["ca_bundle", '"C:\\certs\\ca.pem"'],
        ["verify_tls", "FALSE"],
        ["timeout_s", 12.5],
        ["on_invalid_rows", " Block "],
        ["max_rows_per_upload", 50000.0],
    )
    assert s.update_duplicate is True
    assert s.churn_updated_records is True
    assert s.migrate is True
    assert s.username == "admin"
    assert s.data_sheet == "Leads"
    assert s.origin == "https://portal.example.com"
    assert s.ca_bundle == "C:\\certs\\ca.pem"
    assert s.verify_tls is False
    assert s.timeout_s == 12.5
    assert s.on_invalid_rows == "block"
    assert s.max_rows_per_upload == 50000
    assert set(KEYS) == set(Settings.__dataclass_fields__)


def test_header_row_is_optional_and_key_header_works():
    no_header = BASE[1:]
    assert parse_settings(no_header).lead_id == 3
    assert parse_settings([["  KEY ", "Value"], *BASE[1:]]).lead_id == 3
    # a header after leading empty rows
    assert parse_settings([[None], [], ["Setting", "Value"], *BASE[1:]]).lead_id == 3


def test_header_word_later_is_an_unknown_key():
    text = error(["Setting", "x"])
    assert "Settings!A7" in text and "unknown setting 'Setting'" in text


def test_notes_column_and_empty_rows_ignored():
    s = parse_settings(
        [
            ["Setting", "Value", "Notes"],
            [None, None, "just a note"],
            [],
            ["  ", "", None],
            ["base_url", "https://h.example", "the server"],
            ["cc_list_id", 1, "x"],
            ["process_id", 2],
            ["lead_id", 3],
            ["user_id", "u"],
        ]
    )
    assert s.base_url == "https://h.example"


def test_value_without_key_names_the_cell():
    text = error([None, "orphan"])
    assert text.startswith("Settings!A7:")
    assert "B7" in text


@pytest.mark.parametrize(
    "spelling", ["Lead ID", "lead_id", "LEAD-ID", " lead  id ", "Lead_Id", "lead - id"]
)
def test_keys_case_space_underscore_hyphen_alike(spelling):
    rows = [r for r in BASE if r[0] != "lead_id"] + [[spelling, 9]]
    assert parse_settings(rows).lead_id == 9


def test_normalise_key():
    assert normalise_key(" Lead ID ") == "lead_id"
    assert normalise_key("max rows-per_upload") == "max_rows_per_upload"


def test_column_letter():
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702, 16383)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
        "XFD",
    ]


def test_unknown_key_names_cell_and_suggests():
    text = error(["verify_tsl", True])
    assert text.startswith("Settings!A7:")
    assert "verify_tsl" in text and "Did you mean 'verify_tls'" in text


def test_unknown_key_without_close_match_lists_keys():
    text = error(["colour", "blue"])
    assert "Settings!A7" in text and "base_url" in text


def test_actual_sheet_name_in_messages():
    text = error(["leadid", 3], sheet="SETTINGS")
    assert text.startswith("SETTINGS!A7:")


@pytest.mark.parametrize("key", ["password", "Password", "PASS WORD", "ameyo_password", "pwd"])
def test_password_refused_without_echo(key):
    text = error([key, "s3cr3t-value"])
    assert "s3cr3t-value" not in text
    assert "Settings!A7" in text
    assert "AMEYO_PASSWORD" in text and "xl-ameyo login" in text


def test_password_refused_even_if_empty():
    assert "AMEYO_PASSWORD" in error(["Password", None])


def test_duplicate_key_names_both_cells():
    text = error(["Lead ID", 4])
    assert "Settings!A7" in text and "A5" in text and "lead_id" in text


@pytest.mark.parametrize("key", ["base_url", "cc_list_id", "process_id", "lead_id", "user_id"])
def test_missing_required_key(key):
    text = error(drop=(key,))
    assert f"{key} is missing" in text
    assert "column A" in text


@pytest.mark.parametrize("key", ["base_url", "cc_list_id", "process_id", "lead_id", "user_id"])
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_required_value_names_the_cell(key, empty):
    text = error([key, empty], drop=(key,))
    assert text.startswith("Settings!B6:")
    assert f"{key} has no value" in text and "Fill in" in text


def test_row_with_key_but_no_column_b():
    text = error(["user_id"], drop=("user_id",))
    assert text.startswith("Settings!B6:")


# --- base_url ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected", "origin"),
    [
        ("https://ameyo.example.com", "https://ameyo.example.com", "https://ameyo.example.com"),
        ("https://ameyo.example.com/", "https://ameyo.example.com", "https://ameyo.example.com"),
        (
            " HTTPS://Ameyo.Example.com:8443/ameyo/ ",
            "https://ameyo.example.com:8443/ameyo",
            "https://ameyo.example.com",
        ),
        ("http://localhost:8080", "http://localhost:8080", "http://localhost"),
        ("http://LOCALHOST", "http://localhost", "http://localhost"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000", "http://127.0.0.1"),
        ("http://127.8.9.10", "http://127.8.9.10", "http://127.8.9.10"),
        ("http://[::1]:9000/", "http://[::1]:9000", "http://[::1]"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443", "https://[2001:db8::1]"),
        ("https://10.0.0.5:8443", "https://10.0.0.5:8443", "https://10.0.0.5"),
    ],
)
def test_base_url_accepted(url, expected, origin):
    s = parse(["base_url", url], drop=("base_url",))
    assert s.base_url == expected
    assert s.origin == origin


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://ameyo.example.com", "https://"),
        ("http://10.0.0.5:8080", "https://"),
        ("http://128.0.0.1", "https://"),
        ("http://localhost.example.com", "https://"),
        ("ameyo.example.com", "https://"),
        ("ameyo.example.com:8443", "https://"),
        ("ftp://ameyo.example.com", "https://"),
        ("https://", "https://"),
        ("https://:8443", "host"),
        ("https://ameyo.example.com:99999", "not a valid address"),
        ("https://ameyo.example.com:port", "not a valid address"),
        ("https://ameyo example.com", "spaces"),
        ("https://ameyo.example.com/?x=1", "'?' or '#'"),
        ("https://ameyo.example.com/#top", "'?' or '#'"),
    ],
)
def test_base_url_refused(url, fragment):
    text = error(["base_url", url], drop=("base_url",))
    assert text.startswith("Settings!B6:")
    assert fragment in text


def test_base_url_with_credentials_refused_without_echo():
    text = error(["base_url", "https://admin:hunter2@ameyo.example.com"], drop=("base_url",))
    assert "hunter2" not in text
    assert "password" in text


def test_base_url_must_be_text():
    text = error(["base_url", 17.0], drop=("base_url",))
    assert text.startswith("Settings!B6:")


def test_origin_given_and_refused():
    assert parse(["origin", "https://portal.example.com:444"]).origin == (
        "https://portal.example.com:444"
    )
    assert parse(["origin", ""]).origin == "https://ameyo.example.com"
    assert "Settings!B7" in error(["origin", "portal.example.com"])
    assert "path" in error(["origin", "https://portal.example.com/x"])


# --- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [17, 17.0, "17", " 17 ", "0017"])
def test_ids_accepted(value):
    s = parse(["cc_list_id", value], drop=("cc_list_id",))
    assert s.cc_list_id == 17
    assert type(s.cc_list_id) is int


@pytest.mark.parametrize(
    "value",
    [0, 0.0, -3, -3.0, 17.5, "abc", "17.5", "-17", "1 7", True, dt.date(2020, 1, 1), "١٧"],
)
@pytest.mark.parametrize("key", ["cc_list_id", "process_id", "lead_id", "max_rows_per_upload"])
def test_ids_refused_naming_cell(key, value):
    text = error([key, value], drop=(key,))
    assert text.startswith("Settings!B6:") or text.startswith("Settings!B7:")
    assert f"{key} must be a positive whole number" in text


def test_id_error_cell_is_named():
    text = error(["lead_id", CellError("#N/A")], drop=("lead_id",))
    assert text.startswith("Settings!B6:") and "#N/A" in text


def test_optional_error_cell_is_an_error_too():
    assert "#REF!" in error(["timeout_s", CellError("#REF!")])


# --- user_id and texts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(1001.0, "1001"), (1001, "1001"), ("  agent 7 ", "agent 7")]
)
def test_user_id(value, expected):
    assert parse(["user_id", value], drop=("user_id",)).user_id == expected


@pytest.mark.parametrize("value", [True, dt.date(2020, 1, 1)])
def test_user_id_refused(value):
    text = error(["user_id", value], drop=("user_id",))
    assert text.startswith("Settings!B6:")


def test_empty_optional_values_are_defaults():
    s = parse(
        ["username", None],
        ["data_sheet", "  "],
        ["ca_bundle", ""],
        ["verify_tls", None],
        ["timeout_s", None],
        ["on_invalid_rows", ""],
        ["max_rows_per_upload", None],
        ["update_duplicate", None],
    )
    assert s == parse()


# --- booleans --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("TRUE", True),
        (" true ", True),
        ("False", False),
        ("yes", True),
        ("NO", False),
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
    ],
)
@pytest.mark.parametrize(
    "key", ["update_duplicate", "churn_updated_records", "migrate", "verify_tls"]
)
def test_booleans(key, value, expected):
    assert getattr(parse([key, value]), key) is expected


@pytest.mark.parametrize("value", ["y", "on", "2", 2, 0.5, "maybe", dt.date(2020, 1, 1)])
def test_boolean_refused_naming_cell(value):
    text = error(["migrate", value])
    assert text.startswith("Settings!B7:") and "TRUE or FALSE" in text


# --- timeout, on_invalid_rows ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(60, 60.0), (2.5, 2.5), ("90", 90.0)])
def test_timeout(value, expected):
    assert parse(["timeout_s", value]).timeout_s == expected


@pytest.mark.parametrize("value", [0, -1, "soon", True, float("nan"), float("inf"), "inf"])
def test_timeout_refused(value):
    text = error(["timeout_s", value])
    assert text.startswith("Settings!B7:") and "timeout_s" in text


@pytest.mark.parametrize("value", ["skip", "SKIP", " Skip "])
def test_on_invalid_rows_skip(value):
    assert parse(["on_invalid_rows", value]).on_invalid_rows == "skip"


@pytest.mark.parametrize("value", ["ignore", 1, True])
def test_on_invalid_rows_refused(value):
    text = error(["on_invalid_rows", value])
    assert text.startswith("Settings!B7:") and "skip or block" in text


# --- junk never escapes as anything but our errors -------------------------------------------

junk_cells = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from([*KEYS, "Setting", "Key", "password", "https://h", "http://x", "17"]),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.builds(CellError, st.sampled_from(["#N/A", "#REF!"])),
)


@given(st.lists(st.lists(junk_cells, max_size=4), max_size=12))
def test_junk_raises_only_settings_errors(rows):
    try:
        parse_settings(rows)
    except XlAmeyoError as exc:
        assert isinstance(exc, SettingsError)
        assert "\n" not in str(exc)


@given(
    st.sampled_from(["cc_list_id", "process_id", "lead_id", "user_id", "timeout_s", "migrate"]),
    junk_cells,
)
def test_junk_values_raise_only_settings_errors(key, value):
    try:
        parse([key, value], drop=(key,))
    except XlAmeyoError as exc:
        assert isinstance(exc, SettingsError)
        row = 6 if key in ("cc_list_id", "process_id", "lead_id", "user_id") else 7
        assert str(exc).startswith(f"Settings!B{row}:")


def test_text_with_a_lone_surrogate_names_its_cell():
    text = error(["user_id", "agent\udc81"], drop=("user_id",))
    assert "user_id holds a broken character (U+DC81) that cannot be sent" in text
    assert "Settings!B" in text and "\udc81" not in text
