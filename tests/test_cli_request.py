"""SPEC §3 "The request and the CSV that is sent", end to end: what the simulator received from
`xl-ameyo upload` (method, path, form fields, file part, headers, the CSV byte for byte), and
which rows were left out, with their row numbers and reasons."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from tests.books import OTHER_LEAD, lead_book, log_dicts, only_request, upload


@pytest.fixture
def book(tmp_path):
    return tmp_path / "leads.xlsx"


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


# --- the request ---------------------------------------------------------------------------


def test_method_path_fields_file_and_headers(sim, book):
    settings = {"lead_id": OTHER_LEAD, "user_id": "supervisor7", "update_duplicate": True,
                "churn_updated_records": False, "migrate": True}
    result = upload(lead_book(book, sim.url, settings=settings))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    assert req["method"] == "POST"
    assert req["path"] == "/v1/cc-list/1/process-list/13/leads/18/contact-upload-tasks"
    assert (req["cc_list_id"], req["process_id"], req["lead_id"]) == (1, 13, 18)
    fields = req["fields"]
    assert set(fields) == {"user_id", "update_duplicate", "churn_updated_records", "migrate",
                           "header_mapping"}
    assert fields["user_id"] == "supervisor7"
    assert (fields["update_duplicate"], fields["churn_updated_records"], fields["migrate"]) == (
        "true", "false", "true")
    mapping = json.loads(fields["header_mapping"])
    assert fields["header_mapping"] == json.dumps(mapping, separators=(",", ":"))
    assert req["filename"].endswith(".csv")
    assert req["file_content_type"] == "text/csv"
    headers = req["headers"]
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert headers["accept"] == "*/*"
    assert headers["origin"] == "http://127.0.0.1"
    assert req["auth_user"] == "demo"  # valid Basic credentials
    assert req["status"] == 200
    sim.wait_for_task(req["task_id"])
    assert [c["phone1"] for c in sim.contacts(OTHER_LEAD)] == ["9876543210", "9123456780"]


def test_file_name_ends_in_csv_for_any_sheet_name(sim, book):
    result = upload(lead_book(book, sim.url, data_sheet="März Leads 2024 (v2)"))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    assert req["filename"].endswith(".csv")
    assert req["filename"].isascii()
    assert req["file_content_type"] == "text/csv"


# --- the CSV -------------------------------------------------------------------------------


def test_csv_encoding_separator_line_ends_and_quoting(sim, book):
    headers = ["Name", "Mobile", "Note"]
    rows = [
        ['He said "hi"', "9876543210", "a, b"],
        ["  two\nlines  ", "9123456780", 'both "x", y\nz'],
        ["Zoë 李 😀", "9000000001", "plain"],
    ]
    mapping = {"name": "Name", "phone1": "Mobile", "note": "Note"}
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    text = req["csv"]
    assert not text.startswith("\ufeff")
    assert req["file_size"] == len(text.encode("utf-8"))  # sent as UTF-8, no mark
    assert text == (
        "Name,Mobile,Note\r\n"
        '"He said ""hi""",9876543210,"a, b"\r\n'
        '"two\nlines",9123456780,"both ""x"", y\nz"\r\n'
        "Zoë 李 😀,9000000001,plain\r\n"
    )
    assert parsed(text)[2] == ["two\nlines", "9123456780", 'both "x", y\nz']


def test_only_mapped_columns_in_the_sheets_order_with_trimmed_headers(sim, book):
    headers = [" City ", "Unmapped", "Mobile", "Secret", "Name  "]
    rows = [["Pune", "u", "9876543210", "s", "Asha"]]
    mapping = {"name": "Name", "phone1": "Mobile", "city": "city"}  # Mapping order differs
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    assert req["csv"] == "City,Mobile,Name\r\nPune,9876543210,Asha\r\n"
    sent = json.loads(req["fields"]["header_mapping"])
    assert (sent["name"], sent["phone1"], sent["city"]) == ("Name", "Mobile", "City")


def test_values_as_the_analyst_sees_them(sim, book):
    headers = ["Mobile", "Text", "Float", "Whole", "Tiny", "Huge", "Date", "DateTime", "Flag",
               "Int", "Neg", "Empty"]
    rows = [
        ["9876543210", "  padded text\t", 0.1 + 0.2, 9876543210.0, 1e-7, 1e20,
         dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 14, 7, 9), True, 42, -3.5, None],
        ["9123456780", "Ünïcödé 漢字 😀 ", 1 / 3, 2.5, 1.5e-10, 1.2345e22,
         dt.date(1999, 12, 31), dt.datetime(2000, 1, 1, 0, 0, 1), False, 0, -0.25, None],
        ["9000000001", "007", 123456.789, 1e15, 5e-5, 3.0e16, dt.date(2024, 2, 29),
         dt.datetime(2024, 2, 29, 23, 59, 59), True, -17, -1e-6, "  "],
        ["9000000002", "", 0.5, -2.0, 0.0, 123e18, dt.date(2000, 1, 1),
         dt.datetime(2024, 3, 5, 0, 0, 0), False, 10**15 - 1, -0.0, None],
    ]
    mapping = {"phone1": "Mobile", **{h.lower(): h for h in headers[1:]}}
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    assert parsed(only_request(sim)["csv"]) == [
        headers,
        ["9876543210", "padded text", "0.30000000000000004", "9876543210", "0.0000001",
         "100000000000000000000", "2024-03-05", "2024-03-05 14:07:09", "TRUE", "42", "-3.5", ""],
        ["9123456780", "Ünïcödé 漢字 😀", "0.3333333333333333", "2.5", "0.00000000015",
         "12345000000000000000000", "1999-12-31", "2000-01-01 00:00:01", "FALSE", "0", "-0.25",
         ""],
        ["9000000001", "007", "123456.789", "1000000000000000", "0.00005",
         "30000000000000000", "2024-02-29", "2024-02-29 23:59:59", "TRUE", "-17", "-0.000001",
         ""],
        # a date-time at exactly midnight is still a date-time
        ["9000000002", "", "0.5", "-2", "0", "123000000000000000000", "2000-01-01",
         "2024-03-05 00:00:00", "FALSE", "999999999999999", "0", ""],
    ]


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("+91 98765-43210", "919876543210"),
        ("(022) 2345.6789", "02223456789"),
        ("0551234567", "0551234567"),
        ("00 44 20 7946 0958", "00442079460958"),
        ("+1 (555) 010-9999", "15550109999"),
        (" 1234567 ", "1234567"),
        ("123456789012345", "123456789012345"),
        (9876543210.0, "9876543210"),
        (9876543210, "9876543210"),
        (999999999999999, "999999999999999"),
        (1234567, "1234567"),
    ],
)
def test_phone_numbers_are_normalised(sim, book, phone, digits):
    headers = ["Name", "Mobile", "Office"]
    rows = [["Asha", phone, phone], ["Ravi", "9123456780", None]]
    mapping = {"name": "Name", "phone1": "Mobile", "phone2": "Office"}
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    assert parsed(only_request(sim)["csv"]) == [
        headers, ["Asha", digits, digits], ["Ravi", "9123456780", ""]]


# --- invalid rows --------------------------------------------------------------------------

INVALID_ROWS = [
    # (row, cells: Name, Mobile, Office, Notes (unmapped)), expected reason words or None
    (["Asha", "9876543210", None, "ok"], None),
    (["#N/A", "9000000003", None, "ok"], ["#N/A"]),
    (["Nobody", None, "9000000004", "ok"], ["phone1", "empty"]),
    (["Words", "call me", None, "ok"], ["phone1", "not a phone"]),
    (["Short2", "9000000006", "12", "ok"], ["phone2"]),
    (["Lost", 1e15, None, "ok"], ["phone1", "digits"]),
    (["Lost2", 12345678901234567, None, "ok"], ["phone1", "digits"]),
    (["Again", "98765-43210", None, "ok"], ["duplicate", "row 2"]),
    (["Fine", "9000000010", None, "#REF!"], None),      # error in an unmapped column
    (["Six", "123456", None, "ok"], ["phone1", "6 digits"]),
    (["Sixteen", "1234567890123456", None, "ok"], ["phone1", "16 digits"]),
    (["Bool", True, None, "ok"], ["phone1"]),
    (["Date", dt.date(2024, 1, 2), None, "ok"], ["phone1"]),
    (["Frac", 98765432.5, None, "ok"], ["phone1"]),
    (["ErrPhone2", "9000000015", "#DIV/0!", "ok"], ["#DIV/0!"]),
    (["PlusInside", "98+76543210", None, "ok"], ["phone1"]),
    (["Last", "+91 90000-00017", "(0) 9000 000 017", "ok"], None),
]


def test_invalid_rows_are_not_sent_and_are_reported(sim, book):
    headers = ["Name", "Mobile", "Office", "Notes"]
    mapping = {"name": "Name", "phone1": "Mobile", "phone2": "Office"}
    rows = [cells for cells, _ in INVALID_ROWS]
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping), "-v")
    assert result.exit_code == 0, result.output
    expected_valid = [i for i, (_, why) in enumerate(INVALID_ROWS) if why is None]
    table = parsed(only_request(sim)["csv"])
    assert table[0] == ["Name", "Mobile", "Office"]
    assert [r[0] for r in table[1:]] == [INVALID_ROWS[i][0][0] for i in expected_valid]
    assert table[-1] == ["Last", "919000000017", "09000000017"]

    lines = result.stdout.splitlines()
    for i, (_, why) in enumerate(INVALID_ROWS):
        number = i + 2
        reported = [line for line in lines if line.strip().startswith(f"row {number}:")]
        if why is None:
            assert reported == [], reported
        else:
            assert len(reported) == 1, (number, lines)
            for word in why:
                assert word in reported[0], (number, reported[0])
    logged = log_dicts(book)[-1]
    bad = sum(1 for _, why in INVALID_ROWS if why)
    assert (logged["rows_sent"], logged["rows_skipped"]) == (len(expected_valid), bad)


def test_duplicate_phone1_keeps_the_first_row(sim, book):
    rows = [["First", "9876543210", "A"], ["Other", "9123456780", "B"],
            ["Second", "+9876543210", "C"], ["Third", 9876543210, "D"]]
    result = upload(lead_book(book, sim.url, rows=rows), "-v")
    assert result.exit_code == 0, result.output
    assert [r[0] for r in parsed(only_request(sim)["csv"])[1:]] == ["First", "Other"]
    assert "row 4:" in result.stdout and "row 5:" in result.stdout
    assert result.stdout.count("duplicate of row 2") == 2


def test_more_than_five_invalid_rows_are_all_listed_with_verbose(sim, book):
    rows = [["ok", "9876543210", "x"]] + [[f"bad{i}", "", "x"] for i in range(8)]
    quiet = upload(lead_book(book, sim.url, rows=rows))
    assert quiet.exit_code == 0, quiet.output
    assert "row 10:" not in quiet.stdout  # summarised
    loud = upload(book, "-v", "--allow-reupload")
    for n in range(3, 11):
        assert f"row {n}:" in loud.stdout
