"""The Mapping proposed on the first click, from the data sheet's headers (a pure function)."""

from __future__ import annotations

import pytest

from xl_ameyo.excel.firstrun import guess_mapping, header_key
from xl_ameyo.mapping import resolve_mapping
from xl_ameyo.template import DEFAULT_MAPPING, LEADS_HEADERS


def test_the_template_headers_give_the_template_mapping():
    assert guess_mapping(LEADS_HEADERS) == DEFAULT_MAPPING


@pytest.mark.parametrize(
    "header", ["Mobile", "Mobile No", "Mobile No.", "Phone No", "Phone", "Contact Number",
               "PHONE NUMBER", "phone_no", "Cell", "Telephone", "Phone#", "Mobile Number"],
)
def test_phone_like_headers_become_phone1(header):
    assert guess_mapping(["Name", header, "City"]) == {"name": "Name", "phone1": header}


def test_a_second_phone_like_header_becomes_phone2():
    assert guess_mapping(["Mobile", "Phone No", "Name"]) == {
        "name": "Name", "phone1": "Mobile", "phone2": "Phone No"}


def test_alternate_phones_come_after_the_plain_one_whatever_their_place():
    got = guess_mapping(["Alternate Phone", "Customer Name", "Mobile No", "Home Phone"])
    assert got == {"name": "Customer Name", "phone1": "Mobile No", "phone2": "Alternate Phone",
                   "phone3": "Home Phone"}


def test_numbered_phones_keep_their_number():
    got = guess_mapping(["Phone 2", "Phone 1", "Phone_3"])
    assert got == {"phone1": "Phone 1", "phone2": "Phone 2", "phone3": "Phone_3"}


def test_at_most_five_phones():
    got = guess_mapping([f"Phone {n}" for n in range(1, 8)])
    assert list(got) == ["phone1", "phone2", "phone3", "phone4", "phone5"]


@pytest.mark.parametrize(
    ("header", "field"),
    [("Customer Name", "name"), ("Name", "name"), ("Full Name", "name"),
     ("E-mail", "email"), ("Email", "email"), ("EMAIL ID", "email"),
     ("Time Zone", "timezone"), ("Twitter", "twitter"), ("Facebook", "facebook")],
)
def test_other_standard_fields(header, field):
    assert guess_mapping(["Mobile", header]) == {field: header, "phone1": "Mobile"}


def test_unknown_headers_and_lookalikes_are_not_mapped():
    got = guess_mapping(["Contact", "First Name", "Last Name", "City", "Company Name", None, 5.0])
    assert got == {}


def test_the_only_name_like_header_is_the_name():
    assert guess_mapping(["Borrower Name", "Mobile"]) == {"name": "Borrower Name",
                                                          "phone1": "Mobile"}
    assert "name" not in guess_mapping(["Borrower Name", "Guarantor Name", "Mobile"])


def test_headers_are_kept_as_typed_and_trimmed():
    assert guess_mapping(["  Mobile  ", "e-MAIL"]) == {"phone1": "Mobile", "email": "e-MAIL"}


def test_header_key():
    assert header_key("E-Mail ") == "e mail"
    assert header_key("Mobile No.") == "mobile no"
    assert header_key(None) == ""


def test_a_proposed_mapping_resolves_against_its_headers():
    headers = ["Lead Name", "Mobile No", "Alt. Mobile", "E-mail ID", "Branch"]
    guessed = guess_mapping(headers)
    rows = [["Ameyo field", "Sheet column"], *[[f, h] for f, h in guessed.items()]]
    resolved = resolve_mapping(rows, headers)
    assert resolved.header_mapping["phone1"] == "Mobile No"
    assert resolved.header_mapping["phone2"] == "Alt. Mobile"
    assert resolved.header_mapping["name"] == "Lead Name"
    assert resolved.header_mapping["email"] == "E-mail ID"
