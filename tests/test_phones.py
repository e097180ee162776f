"""Phones by country (SPEC §2 phone_country/phone_format, §3): the rule against phonenumbers'
own answers for IN, US, GB and AE numbers, the Settings keys, the upload end to end whichever
way the reader reads the sheet, and the simulator's deployment rule (last 10 digits) on the
demo's numbers."""

from __future__ import annotations

from decimal import Decimal

import phonenumbers
import pytest

from tests.books import lead_book, log_dicts, only_request, upload
from xl_ameyo.columns import CellError
from xl_ameyo.demo_data import demo_leads
from xl_ameyo.errors import SettingsError
from xl_ameyo.phones import PhoneRule, phone_rule
from xl_ameyo.rules import normalise_phone
from xl_ameyo.settings import parse_settings
from xl_ameyo.simulator.tasks import deployment_number, phone1_problem

#: (country, as typed) for numbers that are valid in their country
VALID = [
    ("IN", "+91 98765 43210"),
    ("IN", "09876543210"),
    ("IN", "98765-43210"),
    ("IN", 9876543210.0),
    ("IN", "0091 98765 43210"),
    ("IN", "011 2345 6789"),  # a Delhi landline
    ("US", "(415) 555-2671"),
    ("US", "+1 415 555 2671"),
    ("US", "1-415-555-2671"),
    ("GB", "020 7946 0958"),
    ("GB", "+44 7400 123456"),
    ("GB", "07911 123456"),  # Guernsey's range: +44, the same plan
    ("AE", "050 123 4567"),
    ("AE", "+971 50 123 4567"),
    ("AE", "04 234 5678"),  # a Dubai landline
]


def _theirs(country: str, value) -> phonenumbers.PhoneNumber:
    text = value if isinstance(value, str) else str(int(value))
    return phonenumbers.parse(text, country)


@pytest.mark.parametrize(("country", "value"), VALID)
def test_valid_numbers_are_written_as_phonenumbers_formats_them(country, value):
    theirs = _theirs(country, value)
    assert phonenumbers.is_valid_number(theirs)
    e164 = phonenumbers.format_number(theirs, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.national_significant_number(theirs)
    assert phone_rule(country, "international")(value) == (e164.lstrip("+"), None)
    assert phone_rule(country, "national")(value) == (national, None)
    assert phone_rule(country)(value) == (national, None)  # national is the default


@pytest.mark.parametrize(
    ("country", "value", "why"),
    [
        ("IN", "12345", "too short"),
        ("IN", "8765432", "too short"),
        ("US", "555-2671", "too short"),  # a local number without its area code
        ("GB", "020 7946 09581234567", "too long"),
        ("AE", "050 123 4567 8901 2345 678", "too long"),
        ("IN", "98765 4321", "not a number of IN's numbering plan"),
        ("US", "(115) 555-2671", "not a number of US's numbering plan"),
        ("IN", "+44 20 7946 0958", "a number of GB (+44), not of IN"),
        ("AE", "+91 98765 43210", "a number of IN (+91), not of AE"),
        ("GB", "call after 6pm", "not a phone number"),
    ],
)
def test_invalid_numbers_say_why(country, value, why):
    digits, reason = phone_rule(country)(value)
    assert digits is None
    assert why in reason
    try:
        valid = phonenumbers.is_valid_number_for_region(_theirs(country, value), country)
    except phonenumbers.NumberParseException:
        valid = False
    assert not valid  # phonenumbers agrees it is not a number of that country


@pytest.mark.parametrize(
    "value", [True, CellError("#N/A"), 1234567890123456.0, 98765.5, -9876543210,
              Decimal("98765.5"), float("nan")]
)
def test_other_values_keep_the_general_reason(value):
    assert phone_rule("IN")(value) == normalise_phone(value)


def test_decimal_numbers_are_numbers():
    assert phone_rule("IN")(Decimal("9876543210")) == ("9876543210", None)
    assert "too short" in phone_rule("IN")(Decimal("12345"))[1]


def test_empty_cells_are_empty_and_no_country_is_the_general_rule():
    assert phone_rule("IN")(None) == (None, None)
    assert phone_rule("IN")("   ") == (None, None)
    assert phone_rule(None) is normalise_phone
    assert phone_rule("in", "INTERNATIONAL") == PhoneRule("IN", "international")


# --- Settings ---------------------------------------------------------------------------


def _settings(*extra):
    rows = [["base_url", "https://ameyo.example.com"], ["cc_list_id", 1], ["process_id", 2],
            ["lead_id", 3], ["user_id", "u"], *extra]
    return parse_settings([list(r) for r in rows])


def test_settings_read_the_country_and_the_format():
    s = _settings(["phone_country", " in "], ["Phone Format", "International"])
    assert (s.phone_country, s.phone_format) == ("IN", "international")
    s = _settings(["phone_country", "AE"])
    assert (s.phone_country, s.phone_format) == ("AE", "national")
    s = _settings()
    assert s.phone_country is None


@pytest.mark.parametrize(
    ("rows", "where", "text"),
    [
        ([["phone_country", "India"]], "Settings!B6", "two-letter country code"),
        ([["phone_country", "XX"]], "Settings!B6", "two-letter country code"),
        ([["phone_country", "IN"], ["phone_format", "e164"]], "Settings!B7",
         "national or international"),
        ([["phone_format", "national"]], "Settings!B6", "phone_country is not"),
    ],
)
def test_settings_errors_name_the_cell(rows, where, text):
    with pytest.raises(SettingsError) as info:
        _settings(*rows)
    assert info.value.where == where
    assert text in str(info.value)


# --- the upload, whichever way the reader reads the sheet ----------------------------------


@pytest.fixture(params=[True, False], ids=["arrow", "per-cell"])
def route(request, monkeypatch):
    if not request.param:  # fastexcel's Arrow columns refused: the per-cell reader
        from xl_ameyo.xlsx import arrow_reader

        monkeypatch.setattr(arrow_reader, "read_arrow", lambda book, name: None)


def test_upload_with_phone_country_in(sim, tmp_path, route):
    rows = [
        ["Asha", "+91 98765 43210", "Pune"],
        ["Ravi", "09123456780", "Delhi"],
        ["Short", "98765 4321", "Agra"],
        ["Abroad", "+44 20 7946 0958", "London"],
        ["Dup", "9876543210", "Pune"],
    ]
    book = lead_book(tmp_path / "in.xlsx", sim.url, rows=rows,
                     settings={"phone_country": "IN"})
    result = upload(book, "-v")
    assert result.exit_code == 0, result.output
    assert only_request(sim)["csv"] == "Name,Mobile,City\r\nAsha,9876543210,Pune\r\n" \
        "Ravi,9123456780,Delhi\r\n"
    assert "row 4: B4 phone1: not a number of IN's numbering plan: '98765 4321'" in result.output
    assert "row 5: B5 phone1: a number of GB (+44), not of IN" in result.output
    assert "row 6: B6 duplicate of row 2" in result.output
    assert log_dicts(book)[-1]["rows_skipped"] == 3


def test_upload_with_international_format(sim, tmp_path, route):
    rows = [["Asha", 9876543210.0, "Pune"], ["Ravi", 9123456780.0, "Delhi"]]
    book = lead_book(tmp_path / "intl.xlsx", sim.url, rows=rows,
                     settings={"phone_country": "IN", "phone_format": "international"})
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert only_request(sim)["csv"].splitlines()[1:] == [
        "Asha,919876543210,Pune", "Ravi,919123456780,Delhi"]


def test_a_bad_phone_country_stops_the_upload_naming_the_cell(sim, tmp_path):
    book = lead_book(tmp_path / "bad.xlsx", sim.url, settings={"phone_country": "India"})
    result = upload(book)
    assert result.exit_code == 2
    assert "Settings!B7" in result.stderr and "phone_country" in result.stderr
    assert sim.upload_requests() == []


# --- the deployment's last 10 digits -----------------------------------------------------


def test_deployment_rule_agrees_with_in_national_on_the_demo_numbers():
    """What a deployment keeping the last 10 digits stores of what the 7-15 digit rule sends
    is what phone_country IN + national sends, for every Indian demo number the server takes;
    IN + national rejects the 9- and 7-digit ones the server rejects too."""
    rule = phone_rule("IN", "national")
    compared = 0
    for row in demo_leads():
        for value in row[1:3]:
            digits, _ = normalise_phone(value)
            if digits is None or (isinstance(value, str) and value.lstrip().startswith(
                    ("+", "00")) and not value.lstrip().startswith(("+91", "0091"))):
                continue  # empty or invalid anyway, or another country's number
            ours, reason = rule(value)
            if phone1_problem(digits) is None:
                assert ours == deployment_number(digits), value
                compared += 1
            else:
                assert ours is None and reason, value
    assert compared > 900
