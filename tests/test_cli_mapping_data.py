"""SPEC §2 "Mapping sheet" and "Data sheet" (and sheet names matched case-insensitively), end
to end through `xl-ameyo upload` against the simulator."""

from __future__ import annotations

import json

import openpyxl
import pytest

from tests.books import (
    lead_book,
    log_dicts,
    mapping_rows,
    one_line_error,
    only_request,
    settings_rows,
    upload,
    write_book,
)

STANDARD = ("name", "phone1", "phone2", "phone3", "phone4", "phone5", "email", "timezone",
            "twitter", "facebook")


@pytest.fixture
def book(tmp_path):
    return tmp_path / "leads.xlsx"


def csv_lines(request: dict) -> list[str]:
    text = request["csv"]
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


def refused(result, sim, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    for needle in needles:
        assert needle in line, line
    assert sim.upload_requests() == []
    return line


# --- header_mapping ----------------------------------------------------------------------------


def test_header_mapping_has_ten_standard_keys_then_custom_fields(sim, book):
    headers = ["  Customer Name ", "Mobile No", "Alt", "E-Mail", "Region", "Notes", "Zone"]
    mapping = {
        "Region": "region",          # custom field, listed first, matched ignoring case
        "phone1": " mobile no ",     # trimmed, case ignored
        "NAME": "Customer Name",     # standard field typed in capitals
        "email": "E-Mail",
        "phone3": None,              # listed, not mapped
        "Segment": None,             # custom field, not mapped
        "zone_code": "Zone",
    }
    rows = [["Asha", "9876543210", "9000000001", "a@x.in", "West", "n", "Z1"]]
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    raw = only_request(sim)["fields"]["header_mapping"]
    sent = json.loads(raw)
    assert list(sent) == [*STANDARD, "Region", "Segment", "zone_code"]
    assert sent == {
        "name": "Customer Name", "phone1": "Mobile No", "phone2": "", "phone3": "",
        "phone4": "", "phone5": "", "email": "E-Mail", "timezone": "", "twitter": "",
        "facebook": "", "Region": "Region", "Segment": "", "zone_code": "Zone",
    }
    assert raw == json.dumps(sent, separators=(",", ":"), ensure_ascii=False)  # compact
    # the values of header_mapping are exactly the CSV's header strings
    header = csv_lines(only_request(sim))[0].split(",")
    assert header == ["Customer Name", "Mobile No", "E-Mail", "Region", "Zone"]
    assert {v for v in sent.values() if v} == set(header)


def test_unicode_header_mapping_values(sim, book):
    headers = ["Nom du client", "Téléphone", "城市"]
    mapping = {"name": "nom du client", "phone1": "TÉLÉPHONE", "城市": "城市"}
    rows = [["Zoë", "9876543210", "上海"]]
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    sent = json.loads(req["fields"]["header_mapping"])
    assert (sent["name"], sent["phone1"], sent["城市"]) == ("Nom du client", "Téléphone", "城市")
    assert csv_lines(req) == ["Nom du client,Téléphone,城市", "Zoë,9876543210,上海"]


@pytest.mark.parametrize(
    "mapping",
    [{"name": "Name", "city": "City"}, {"name": "Name", "phone1": None, "city": "City"},
     {"name": "Name", "phone1": "  ", "phone2": "Mobile"}],
    ids=["absent", "empty", "blank"],
)
def test_phone1_unmapped_is_refused(sim, book, mapping):
    refused(upload(lead_book(book, sim.url, mapping=mapping)), sim, "phone1")


def test_mapped_column_missing_names_it_and_suggests_the_closest_header(sim, book):
    headers = ["Name", "Mobile", "Email Address", "City"]
    mapping = {"name": "Name", "phone1": "Mobile", "email": "E-mail adress"}
    rows = [["A", "9876543210", "a@x.in", "Pune"]]
    line = refused(upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping)),
                   sim, "E-mail adress", "Mapping!B4", "Email Address")
    assert "Leads" in line


def test_mapped_phone1_column_missing(sim, book):
    mapping = {"name": "Name", "phone1": "Phone"}
    refused(upload(lead_book(book, sim.url, mapping=mapping)), sim, "Phone", "Mapping!B3")


@pytest.mark.parametrize(
    "headers",
    [["Name", "Mobile", "Mobile"], ["Name", "Mobile", " Mobile "], ["Mobile", "Name", "Mobile"]],
)
def test_header_twice_in_the_data_sheet_is_refused(sim, book, headers):
    rows = [["A", "9876543210", "9000000001"]]
    mapping = {"name": "Name", "phone1": "Mobile"}
    refused(upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping)), sim,
            "Mobile", "2 times")


def test_duplicate_unmapped_header_is_harmless(sim, book):
    headers = ["Name", "Mobile", "Notes", "Notes"]
    rows = [["A", "9876543210", "x", "y"]]
    mapping = {"name": "Name", "phone1": "Mobile"}
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim)) == ["Name,Mobile", "A,9876543210"]


def test_match_after_trimming_and_ignoring_case(sim, book):
    headers = ["  NAME", "Mobile  ", "city"]
    mapping = {"name": "name ", "phone1": " MOBILE", "city": "CITY"}
    rows = [["Asha", "9876543210", "Pune"]]
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    assert csv_lines(req) == ["NAME,Mobile,city", "Asha,9876543210,Pune"]
    sent = json.loads(req["fields"]["header_mapping"])
    assert (sent["name"], sent["phone1"], sent["city"]) == ("NAME", "Mobile", "city")


def test_two_candidates_ignoring_case_is_an_error(sim, book):
    headers = ["Name", "mobile", "MOBILE"]
    rows = [["A", "9876543210", "9000000001"]]
    mapping = {"name": "Name", "phone1": "Mobile"}
    refused(upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping)), sim,
            "Mapping!B3", "mobile", "MOBILE")


def test_exact_match_wins_over_case_insensitive_candidates(sim, book):
    headers = ["Name", "mobile", "MOBILE"]
    rows = [["A", "9876543210", "9000000001"]]
    mapping = {"name": "Name", "phone1": "MOBILE"}
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim)) == ["Name,MOBILE", "A,9000000001"]


def test_field_listed_twice_is_refused(sim, book):
    mapping_sheet = [["Ameyo field", "Sheet column"], ["phone1", "Mobile"], ["name", "Name"],
                     ["Name", "City"]]
    write_book(book, {"Leads": [["Name", "Mobile", "City"], ["A", "9876543210", "P"]],
                      "Settings": settings_rows(sim.url), "Mapping": mapping_sheet})
    refused(upload(book), sim, "Mapping!A4")


def test_no_mapping_sheet(sim, book):
    write_book(book, {"Leads": [["Name", "Mobile"], ["A", "9876543210"]],
                      "Settings": settings_rows(sim.url)})
    refused(upload(book), sim, "Mapping")


def test_mapping_header_row_is_not_a_field(sim, book):
    # row 1 of Mapping is always a header, whatever it says
    mapping_sheet = [["phone1", "Name"], ["phone1", "Mobile"]]
    write_book(book, {"Leads": [["Name", "Mobile"], ["A", "9876543210"]],
                      "Settings": settings_rows(sim.url), "Mapping": mapping_sheet})
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim)) == ["Mobile", "9876543210"]


# --- the data sheet ------------------------------------------------------------------------


def test_fully_empty_rows_are_skipped_and_not_counted(sim, book):
    rows = [
        [None, None, None],
        ["Asha", "9876543210", "Pune"],
        [None, None, None],
        ["   ", "", " "],              # blank text only: empty too
        ["Ravi", "9123456780", "Goa"],
        [None, None, None],
        [None, None, None],
        ["Meena", "9000000009", None],
    ]
    result = upload(lead_book(book, sim.url, rows=rows))
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim))[1:] == [
        "Asha,9876543210,Pune", "Ravi,9123456780,Goa", "Meena,9000000009,"]
    logged = log_dicts(book)[-1]
    assert (logged["rows_sent"], logged["rows_skipped"]) == (3, 0)
    assert "3 rows read" in result.stdout


def test_row_with_only_an_unmapped_cell_is_counted_and_invalid(sim, book):
    headers = ["Name", "Mobile", "Notes"]
    rows = [["Asha", "9876543210", None], [None, None, "call later"]]
    mapping = {"name": "Name", "phone1": "Mobile"}
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    logged = log_dicts(book)[-1]
    assert (logged["rows_sent"], logged["rows_skipped"]) == (1, 1)
    assert "row 3" in result.stdout and "phone1 is empty" in result.stdout


def test_data_runs_to_the_last_non_empty_row(sim, book):
    rows = [["Asha", "9876543210", "Pune"], *([[None, None, None]] * 60),
            ["Last", "9000000062", "Far"]]
    result = upload(lead_book(book, sim.url, rows=rows))
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim))[-1] == "Last,9000000062,Far"
    assert log_dicts(book)[-1]["rows_sent"] == 2


def test_data_below_a_gap_in_a_formatted_sheet(sim, book):
    # rows of formatting only (no values) below the data are not rows
    lead_book(book, sim.url, rows=[["Asha", "9876543210", "Pune"]])
    wb = openpyxl.load_workbook(book)
    from openpyxl.styles import PatternFill

    for r in range(3, 40):
        wb["Leads"].cell(row=r, column=2).fill = PatternFill("solid", fgColor="FFFF00")
    wb.save(book)
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert log_dicts(book)[-1]["rows_sent"] == 1
    assert "1 rows read" in result.stdout


def test_formula_cells_contribute_their_cached_values(sim, book):
    headers = ["Name", "Mobile", "Score", "City", "Helper"]
    rows = [
        ['=UPPER("asha")', '="98765"&"43210"', "=40+2", "Pune", "=1/0"],
        ["Ravi", "=9123456780", "=0.1+0.2", '=IF(TRUE,"Goa")', "x"],
        ["Bad", "9000000003", "=1/0", "Delhi", "y"],
    ]
    cached = {"Leads": {
        "A2": ("str", "ASHA"), "B2": ("str", "9876543210"), "C2": (None, "42"),
        "E2": ("e", "#DIV/0!"),
        "B3": (None, "9123456780"), "C3": (None, "0.30000000000000004"), "D3": ("str", "Goa"),
        "C4": ("e", "#DIV/0!"),
    }}
    mapping = {"name": "Name", "phone1": "Mobile", "score": "Score", "city": "City"}
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping,
                              cached=cached), "-v")
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim)) == [
        "Name,Mobile,Score,City",
        "ASHA,9876543210,42,Pune",       # the error in unmapped Helper does not matter
        "Ravi,9123456780,0.30000000000000004,Goa",
    ]
    assert "row 4" in result.stdout and "#DIV/0!" in result.stdout
    logged = log_dicts(book)[-1]
    assert (logged["rows_sent"], logged["rows_skipped"]) == (2, 1)


def test_formulas_without_a_saved_result_stop_the_upload(sim, book):
    """openpyxl writes formulas with no saved result: SPEC §2, exit 2 before anything is
    sent, naming the first mapped cell and how many there are."""
    rows = [["Asha", "9876543210", "=1+1"], ["Ravi", "=9123456780", "Goa"],
            ["Mei", "=A2", "=B3"], ["Li", "9000000004", "Delhi"]]
    line = refused(upload(lead_book(book, sim.url, rows=rows)), sim, "4 formula cell(s)",
                   "first C2", "saved result")
    assert "Traceback" not in line


def test_a_formula_without_a_result_in_an_unmapped_column_does_not_matter(sim, book):
    headers = ["Name", "Mobile", "City", "Helper"]
    rows = [["Asha", "9876543210", "Pune", "=1+1"]]
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows))
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim)) == ["Name,Mobile,City", "Asha,9876543210,Pune"]


def test_every_error_code_is_an_invalid_row_not_a_damaged_sheet(sim, book):
    codes = ["#N/A", "#SPILL!", "#CALC!", "#GETTING_DATA", "#BLOCKED!", "#FIELD!",
             "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!", "#DATA!", "#SOMETHING_NEW!"]
    rows = [[f"N{k}", f"=X{k}", "Pune"] for k in range(len(codes))]
    rows.append(["Ok", "9876543210", "Pune"])
    cached = {"Leads": {f"B{k + 2}": ("e", code) for k, code in enumerate(codes)}}
    result = upload(lead_book(book, sim.url, rows=rows, cached=cached), "-v")
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim)) == ["Name,Mobile,City", "Ok,9876543210,Pune"]
    for code in codes:
        assert code in result.stdout, code
    logged = log_dicts(book)[-1]
    assert (logged["rows_sent"], logged["rows_skipped"]) == (1, len(codes))


def test_sheet_names_are_case_insensitive(sim, book):
    headers, rows = ["Name", "Mobile"], [["Asha", "9876543210"]]
    log_header = ["timestamp", "sheet", "rows_sent"]
    write_book(book, {
        "LEADS": [headers, *rows],
        "settings": settings_rows(sim.url, data_sheet="leads"),
        "MAPPING": mapping_rows({"name": "name", "phone1": "MOBILE"}),
        "log": [log_header],
    })
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim)) == ["Name,Mobile", "Asha,9876543210"]
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["LEADS", "settings", "MAPPING", "log"]  # no second Log sheet
    logged = log_dicts(book)
    assert len(logged) == 1 and logged[0]["sheet"] == "LEADS"


def test_no_headers_in_row_1(sim, book):
    write_book(book, {"Leads": [[None, None], ["Asha", "9876543210"]],
                      "Settings": settings_rows(sim.url),
                      "Mapping": mapping_rows({"phone1": "Mobile"})})
    refused(upload(book), sim, "row 1")


def test_only_invalid_rows_sends_nothing(sim, book):
    rows = [["A", "", "x"], ["B", "12", "y"]]
    result = upload(lead_book(book, sim.url, rows=rows))
    refused(result, sim, "No valid rows")
    logged = log_dicts(book)[-1]
    assert (logged["status"], logged["rows_sent"], logged["rows_skipped"]) == ("FAILED", 0, 2)


def test_a_header_with_a_byte_order_mark_is_found_and_sent_without_it(sim, book):
    """SPEC §3: a CSV opened and saved again leaves U+FEFF before the first header; the
    header is the one it looks like, in the CSV and in header_mapping."""
    headers = ["\ufeffName", " \ufeffMobile", "City"]
    mapping = {"name": "Name", "phone1": "Mobile", "city": "City"}
    rows = [["Asha", "9876543210", "Pune"]]
    result = upload(lead_book(book, sim.url, headers=headers, rows=rows, mapping=mapping))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    assert csv_lines(req) == ["Name,Mobile,City", "Asha,9876543210,Pune"]
    sent = json.loads(req["fields"]["header_mapping"])
    assert (sent["name"], sent["phone1"], sent["city"]) == ("Name", "Mobile", "City")


def test_a_control_character_makes_its_row_invalid_naming_the_cell(sim, book):
    """SPEC §3: a control character (invisible in Excel) in a mapped text: the row is not
    sent and the cell and the character are named. (The file spells it _x001B_, as Excel
    does; the reader decodes it.)"""
    rows = [["Asha_x001B_[0m", "9876543210", "Pune"],
            ["Ravi", "9123456780", "Goa\tcity"],  # a tab is text
            ["Meena", "9000000009", "Delhi_x0000_"]]
    result = upload(lead_book(book, sim.url, rows=rows))
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim))[1:] == ["Ravi,9123456780,Goa\tcity"]
    assert "row 2" in result.stdout and "U+001B" in result.stdout
    assert "row 4" in result.stdout and "U+0000" in result.stdout
    logged = log_dicts(book)[-1]
    assert (logged["rows_sent"], logged["rows_skipped"]) == (1, 2)


def test_numbers_under_a_zero_padding_format_are_sent_as_excel_shows_them(sim, book):
    """SPEC §3: 981234567 under the format 0000000000 is shown, and sent, as 0981234567, in a
    phone field (its leading zero counts) and in any other column; a mixed phone column
    (typed text, an #N/A result) goes through the same rules."""
    headers = ["Name", "Mobile", "Code"]
    rows = [["Asha", 981234567, 42], ["Ravi", "+91 98765 43210", 7], ["Om", "#N/A", 5],
            ["Mina", 12345, 1]]
    path = lead_book(book, sim.url, headers=headers, rows=rows,
                     mapping={"name": "Name", "phone1": "Mobile", "code": "Code"})
    wb = openpyxl.load_workbook(path)
    for row in range(2, 6):
        wb["Leads"].cell(row, 2).number_format = "0000000000"
        wb["Leads"].cell(row, 3).number_format = "00000"
    wb.save(path)
    result = upload(path)
    assert result.exit_code == 0, result.output
    assert csv_lines(only_request(sim)) == [
        "Name,Mobile,Code", "Asha,0981234567,00042", "Ravi,919876543210,00007",
        "Mina,0000012345,00001"]
    assert "row 4" in result.stdout and "#N/A" in result.stdout
