"""The worksheet functions, called as plain Python (as Excel's xlwings UDF server calls them,
with the values xlwings hands over: floats for numbers, lists of lists for ranges)."""

from __future__ import annotations

import json

import pytest
import xlwings as xw

from tests import test_excel_support as support
from tests.test_excel_support import LEADS_HEADERS, ScriptedUI, lead_book, mapping_rows
from xl_ameyo.client import AmeyoClient
from xl_ameyo.excel import udfs
from xl_ameyo.excel.addin import upload
from xl_ameyo.excel.udfs import (
    AMEYO_ENDPOINT,
    AMEYO_HEADER_MAPPING,
    AMEYO_PHONE,
    AMEYO_ROW_OK,
    AMEYO_TASK_STATUS,
)

remote = support.remote  # fixtures
creds = support.creds
no_keyring = support.no_keyring

HEADERS = [LEADS_HEADERS]  # a one-row range


@pytest.fixture(autouse=True)
def fresh_cache():
    udfs.clear_status_cache()
    yield
    udfs.clear_status_cache()


# --- AMEYO_PHONE ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "sent"),
    [("98765 43210", "9876543210"), ("(+91) 98765-43210", "919876543210"),
     ("09876543210", "09876543210"), (9876543210.0, "9876543210"), ("  ", ""), (None, "")],
)
def test_phone_as_it_will_be_sent(value, sent):
    assert AMEYO_PHONE(value) == sent


@pytest.mark.parametrize(
    ("value", "reason"),
    [("12345", "has 5 digits, needs 7 to 15"),
     (1.2345678901234567e15, "Excel already lost digits"),
     ("98765x43210", "not a phone number"),
     ("#N/A", "Excel error #N/A"),  # an error cell, as err_to_str hands it over
     (-2146826246, "Excel error #N/A"),  # an error cell as a COM error number
     (True, "not a phone number")],
)
def test_phone_problems_are_na_text_with_the_reason(value, reason):
    got = AMEYO_PHONE(value)
    assert got.startswith("#N/A: ")
    assert reason in got


# --- AMEYO_HEADER_MAPPING ------------------------------------------------------------------------


def test_header_mapping_is_exactly_what_the_upload_sends(remote, creds, sim):
    book = lead_book(sim, [["Asha", "9876543210", None, None, None]])
    upload(book, ui=ScriptedUI(book, ["ok"]))
    sent = sim.upload_requests()[0]["fields"]["header_mapping"]
    assert AMEYO_HEADER_MAPPING(mapping_rows(), HEADERS) == sent
    assert AMEYO_HEADER_MAPPING(mapping_rows()) == sent  # headers match exactly
    assert AMEYO_HEADER_MAPPING(mapping_rows()[1:], HEADERS) == sent  # without the header row


def test_header_mapping_uses_the_sheets_header_text_and_keeps_custom_fields():
    mapping = mapping_rows({"phone1": "mobile ", "city": "City"})
    got = AMEYO_HEADER_MAPPING(mapping, [["Name", "Mobile", "City"]])
    assert json.loads(got) == {
        "name": "", "phone1": "Mobile", "phone2": "", "phone3": "", "phone4": "",
        "phone5": "", "email": "", "timezone": "", "twitter": "", "facebook": "",
        "city": "City",
    }
    assert " " not in got.replace("Customer Name", "")  # compact
    assert list(json.loads(got))[-1] == "city"


def test_header_mapping_problems():
    got = AMEYO_HEADER_MAPPING(mapping_rows({"name": "Name"}), HEADERS)
    assert got.startswith("#N/A: ") and "phone1 is not mapped" in got
    got = AMEYO_HEADER_MAPPING(mapping_rows({"phone1": "Mobil"}), HEADERS)
    assert "column 'Mobil' is not in the headers" in got and "Closest header: 'Mobile'" in got


# --- AMEYO_ROW_OK --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "answer"),
    [(["Asha", "98765 43210", None, "a@x.com", "Pune"], "OK"),
     (["Asha", 9876543210.0, "+91 98111 22233", None, None], "OK"),
     (["Asha", None, None, None, None], "#N/A: phone1 is empty (column 'Mobile')"),
     (["Asha", "123", None, None, None],
      "#N/A: phone1: has 3 digits, needs 7 to 15 (column 'Mobile')"),
     (["Asha", "9876543210", "12", None, None],
      "#N/A: phone2: has 2 digits, needs 7 to 15 (column 'Alternate Phone')"),
     (["Asha", "9876543210", None, "#REF!", None],
      "#N/A: Excel error #REF! in column 'E-mail'"),
     ([None, None, None, None, None], "empty row: skipped")],
)
def test_row_ok(row, answer):
    assert AMEYO_ROW_OK([row], HEADERS, mapping_rows()) == answer


def test_row_ok_checks_every_row_it_is_given():
    rows = [["Asha", "98765 43210", None, None, None],
            ["Ravi", "123", None, None, None],
            [None, None, None, None, None],
            ["Asha again", "9876543210", None, None, None]]
    assert AMEYO_ROW_OK(rows, HEADERS, mapping_rows()) == [
        ["OK"],
        ["#N/A: phone1: has 3 digits, needs 7 to 15 (column 'Mobile')"],
        ["empty row: skipped"],
        ["#N/A: duplicate of row 1 (column 'Mobile')"],
    ]


def test_an_empty_mapping_range_says_it_is_empty():
    for func in (lambda m: AMEYO_ROW_OK([["a"]], HEADERS, m),
                 lambda m: AMEYO_HEADER_MAPPING(m, HEADERS), AMEYO_HEADER_MAPPING):
        got = func([[None, None], [None, None], ["", "  "]])
        assert got.startswith("#N/A: The Mapping range is empty")
        assert "Mapping!$A$1:$B$20" in got


@pytest.mark.parametrize(("call", "what"), [
    (lambda r: AMEYO_PHONE(r), "The phone number"),
    (lambda r: AMEYO_ENDPOINT("https://x.example", r, 13, 17), "cc_list_id"),
    (lambda r: AMEYO_TASK_STATUS(r, "https://x.example", 1, 13, 17), "The task id"),
])
def test_a_range_where_one_cell_is_expected_says_so(call, what):
    got = call([["9876543210", "9123456780"]])
    assert got.startswith(f"#N/A: {what} must be one cell; a range has 2 cells")
    assert "[" not in got  # not a Python list


def test_a_one_cell_range_is_that_cell():
    assert AMEYO_PHONE([["98765 43210"]]) == AMEYO_PHONE("98765 43210") == "9876543210"
    assert AMEYO_ENDPOINT([["https://x.example"]], [[1.0]], 13, [17.0]).endswith(
        "/v1/cc-list/1/process-list/13/leads/17/contact-upload-tasks")


def test_row_ok_of_nothing_is_an_empty_row():
    assert AMEYO_ROW_OK(None, HEADERS, mapping_rows()) == "empty row: skipped"


def test_row_ok_ignores_unmapped_error_cells():
    row = ["Asha", "9876543210", None, None, "#DIV/0!"]  # City is not mapped
    assert AMEYO_ROW_OK([row], HEADERS, mapping_rows()) == "OK"


def test_row_ok_with_a_bad_mapping():
    got = AMEYO_ROW_OK([["a"]], HEADERS, mapping_rows({"phone1": "Phone"}))
    assert got.startswith("#N/A: ") and "'Phone' is not in the headers" in got


# --- AMEYO_ENDPOINT ------------------------------------------------------------------------------


def test_endpoint_is_the_upload_url(sim):
    assert AMEYO_ENDPOINT(sim.url, 1.0, 13.0, 17.0) == sim.upload_url(1, 13, 17)
    assert AMEYO_ENDPOINT("https://ameyo.example.com:8443/", 1, 13, 17) == (
        "https://ameyo.example.com:8443/v1/cc-list/1/process-list/13/leads/17/"
        "contact-upload-tasks"
    )


def test_endpoint_matches_the_client(sim):
    client = AmeyoClient(sim.url, "u", "p")
    assert AMEYO_ENDPOINT(sim.url, 1, 13, 17) == client.upload_url(1, 13, 17)


@pytest.mark.parametrize(
    ("args", "reason"),
    [(("http://ameyo.example.com", 1, 13, 17), "http://"),
     (("https://x.example", 0, 13, 17), "cc_list_id must be a positive whole number"),
     (("https://x.example", 1, 13.5, 17), "process_id"),
     (("ameyo.example.com", 1, 13, 17), "https://")],
)
def test_endpoint_problems(args, reason):
    got = AMEYO_ENDPOINT(*args)
    assert got.startswith("#N/A: ") and reason in got
    assert "arguments!" not in got


# --- AMEYO_TASK_STATUS ---------------------------------------------------------------------------


def finished_task(sim, sim_upload) -> str:
    response = sim_upload()
    assert response.status_code == 200
    task_id = str(response.json()["response"][0]["data"]["task_id"])
    sim.wait_for_task(task_id)
    return task_id


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = AmeyoClient.get_task

    def get_task(self, *args):
        calls.append(args)
        return real(self, *args)

    monkeypatch.setattr(AmeyoClient, "get_task", get_task)
    return calls


def test_task_status_from_the_server(creds, sim, sim_upload, counted):
    task_id = finished_task(sim, sim_upload)
    assert len(task_id) == 16
    assert AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17) == "COMPLETED"
    got = AMEYO_TASK_STATUS(task_id, sim.url, 1.0, 13.0, 17.0, True)
    assert got.startswith("COMPLETED (rows 1, inserted 1")
    assert [c[3] for c in counted] == [task_id, task_id]


def test_task_status_with_the_settings_range(creds, sim, sim_upload):
    task_id = finished_task(sim, sim_upload)
    settings = support.settings_rows(base_url=sim.url, cc_list_id=1, process_id=13,
                                     lead_id=17, user_id="john")
    assert AMEYO_TASK_STATUS(task_id, settings) == "COMPLETED"


def test_a_final_state_is_cached_for_good(creds, sim, sim_upload, counted, monkeypatch):
    task_id = finished_task(sim, sim_upload)
    now = [1000.0]
    monkeypatch.setattr(udfs, "_clock", lambda: now[0])
    assert AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17) == "COMPLETED"
    now[0] += 10 * udfs.STATUS_TTL_S
    assert AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17) == "COMPLETED"
    assert len(counted) == 1


def test_other_states_are_cached_for_a_while(creds, sim, sim_upload, monkeypatch):
    task_id = finished_task(sim, sim_upload)
    answers = iter([{"status": "QUEUED"}, {"status": "RUNNING"}, {"status": "COMPLETED"}])
    calls = []

    def get_task(self, *args):
        calls.append(args)
        return next(answers)

    monkeypatch.setattr(AmeyoClient, "get_task", get_task)
    now = [1000.0]
    monkeypatch.setattr(udfs, "_clock", lambda: now[0])
    assert AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17) == "QUEUED"
    now[0] += udfs.STATUS_TTL_S - 1
    assert AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17) == "QUEUED"  # recalculation
    assert len(calls) == 1
    now[0] += 2
    assert AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17) == "RUNNING"
    now[0] += udfs.STATUS_TTL_S
    assert AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17) == "COMPLETED"
    now[0] += 100 * udfs.STATUS_TTL_S
    assert AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17) == "COMPLETED"
    assert len(calls) == 3


def test_a_number_task_id_is_refused(creds, sim, counted):
    got = AMEYO_TASK_STATUS(9007199254740993.0, sim.url, 1, 13, 17)
    assert got.startswith("#N/A: ") and "Excel keeps only 15 digits" in got
    assert "as text" in got
    assert AMEYO_TASK_STATUS(17, sim.url, 1, 13, 17).startswith("#N/A: ")
    assert counted == []


@pytest.mark.parametrize(("task_id", "reason"),
                         [("#N/A", "Excel error #N/A"), (None, "no task id"),
                          ("12 34", "not a number in text form")])
def test_other_bad_task_ids(creds, sim, counted, task_id, reason):
    got = AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17)
    assert got.startswith("#N/A: ") and reason in got
    assert counted == []


def test_unknown_task(creds, sim):
    got = AMEYO_TASK_STATUS("9007199254740993", sim.url, 1, 13, 17)
    assert got.startswith("#N/A: ") and "404" in got


def test_task_status_without_a_password_says_run_login(sim, sim_upload, no_keyring,
                                                        monkeypatch):
    task_id = finished_task(sim, sim_upload)
    monkeypatch.setenv("AMEYO_USERNAME", "demo")
    monkeypatch.delenv("AMEYO_PASSWORD", raising=False)
    got = AMEYO_TASK_STATUS(task_id, sim.url, 1, 13, 17)
    assert got.startswith("#N/A: ") and "xl-ameyo login" in got


def test_task_status_needs_the_ids_with_a_base_url(creds, sim):
    got = AMEYO_TASK_STATUS("123", sim.url)
    assert got.startswith("#N/A: ") and "cc_list_id, process_id and lead_id" in got


def test_the_functions_keep_their_excel_names():
    for func in (AMEYO_PHONE, AMEYO_ROW_OK, AMEYO_HEADER_MAPPING, AMEYO_ENDPOINT,
                 AMEYO_TASK_STATUS):
        assert func.__name__.startswith("AMEYO_")
        assert callable(func)


# --- through xlwings: the arguments as its UDF server hands them over ---------------------------


def call_like_excel(name: str, *args):
    """Call the function as xlwings' call_udf does: each argument through xlwings' converters
    with the options of its ``@xw.arg`` (a Range of the remote engine, or a typed-in value)."""
    from xlwings import conversion

    from xl_ameyo.excel.wrappers import described_udfs

    with described_udfs() as module:
        info = getattr(module, name).__xlfunc__["args"]
    values = []
    for i, arg in enumerate(args):
        options = info[i]["options"]
        if isinstance(arg, xw.Range):
            values.append(conversion.read(arg, None, options))
        else:
            values.append(conversion.read(None, arg, options, engine_name="remote"))
    return getattr(udfs, name)(*values)


@pytest.fixture
def sheet_book(remote):
    """Leads from A1; the Mapping and the Settings placed lower and further right on another
    sheet, as an analyst may keep them."""
    leads = [LEADS_HEADERS,
             ["Asha", "98765 43210", None, None, None],
             ["Ravi", "123", None, None, None],
             ["Asha", "9876543210", None, "#REF!", None]]
    setup = [[None] * 6 for _ in range(3)]
    for row in mapping_rows({"phone1": "Mobile", "email": "E-mail", "city": "Town"}):
        setup.append([None, None, *row])
    return remote({"Leads": leads, "Setup": setup})


def test_row_ok_names_the_cell_on_the_sheet(sheet_book):
    leads, setup = sheet_book.sheets["Leads"], sheet_book.sheets["Setup"]
    mapping = setup["C4:D15"]
    got = call_like_excel("AMEYO_ROW_OK", leads["A2:E2"], leads["A1:E1"], mapping)
    assert got.startswith("#N/A: Setup!D15: column 'Town' is not in the headers Leads!A1:E1. ")
    mapping = setup["C4:D14"]  # without the city row
    assert call_like_excel("AMEYO_ROW_OK", leads["A2:E2"], leads["A1:E1"], mapping) == "OK"
    assert call_like_excel("AMEYO_ROW_OK", leads["A3:E3"], leads["A1:E1"], mapping) == (
        "#N/A: Leads!B3: phone1: has 3 digits, needs 7 to 15 (column 'Mobile')")
    assert call_like_excel("AMEYO_ROW_OK", leads["A2:E4"], leads["A1:E1"], mapping) == [
        ["OK"],
        ["#N/A: Leads!B3: phone1: has 3 digits, needs 7 to 15 (column 'Mobile')"],
        ["#N/A: Leads!D4: Excel error #REF! in column 'E-mail'"],
    ]
    got = call_like_excel("AMEYO_ROW_OK", leads["B2:F2"], leads["A1:E1"], mapping)
    assert got.startswith("#N/A: the row Leads!B2:F2 does not start in the column of the "
                          "headers Leads!A1:E1")


def test_mapping_problems_name_the_mapping_cell(sheet_book):
    leads, setup = sheet_book.sheets["Leads"], sheet_book.sheets["Setup"]
    got = call_like_excel("AMEYO_HEADER_MAPPING", setup["C4:D15"], leads["A1:E1"])
    assert got.startswith("#N/A: Setup!D15: column 'Town' is not in the headers Leads!A1:E1. ")
    # the same Mapping without its header row: the cells are still the sheet's
    got = call_like_excel("AMEYO_HEADER_MAPPING", setup["C5:D15"], leads["A1:E1"])
    assert got.startswith("#N/A: Setup!D15: ")
    # a problem whose text names cells too
    odd = [[None] * 4] * 3 + [[None, None, "Ameyo field", "Sheet column"],
                              [None, None, "phone1", "Mobile"], [None, None, None, "City"]]
    odd = support.make_book({"Odd": odd}).sheets["Odd"]
    got = call_like_excel("AMEYO_HEADER_MAPPING", odd["C4:D6"], leads["A1:E1"])
    assert got == ("#N/A: Odd!C6: D6 names the column 'City' but C6 has no Ameyo field. "
                   "Type the Ameyo field (e.g. phone1) in C6, or clear D6")
    got = call_like_excel("AMEYO_HEADER_MAPPING", setup["A1:B3"], leads["A1:E1"])
    assert got.startswith("#N/A: The Mapping range Setup!A1:B3 is empty")


def test_phone_names_its_cell_and_a_range_says_it_is_one(sheet_book):
    leads = sheet_book.sheets["Leads"]
    assert call_like_excel("AMEYO_PHONE", leads["B2"]) == "9876543210"
    assert call_like_excel("AMEYO_PHONE", leads["B3"]) == (
        "#N/A: Leads!B3: has 3 digits, needs 7 to 15")
    got = call_like_excel("AMEYO_PHONE", leads["B2:B4"])
    assert got == ("#N/A: The phone number must be one cell; the range Leads!B2:B4 has 3 "
                   "cells. Pass one cell, e.g. B2")
    assert call_like_excel("AMEYO_PHONE", "(+91) 98765-43210") == "919876543210"  # typed in


def test_settings_problems_name_the_settings_cell(remote, creds, sim):
    rows = support.settings_rows(base_url=sim.url, cc_list_id=1, process_id=13, lead_id=17,
                                 user_id="john", lead_idd=5)
    book = remote({"Notes": [[None] * 5] * 4 + [[None, None, *r] for r in rows]})
    settings = book.sheets["Notes"][f"C5:E{4 + len(rows)}"]
    got = call_like_excel("AMEYO_TASK_STATUS", "123", settings)
    assert got.startswith(f"#N/A: Notes!C{4 + len(rows)}: unknown setting 'lead_idd'")


def test_task_status_with_cells_as_excel_hands_them_over(remote, creds, sim, sim_upload):
    task_id = finished_task(sim, sim_upload)
    book = remote({"Log": [["task_id", "base_url"], [task_id, sim.url]]})
    log = book.sheets["Log"]
    assert call_like_excel("AMEYO_TASK_STATUS", log["A2"], log["B2"], 1.0, 13.0, 17.0) == (
        "COMPLETED")
    got = call_like_excel("AMEYO_TASK_STATUS", log["A1:A2"], log["B2"], 1.0, 13.0, 17.0)
    assert got.startswith("#N/A: The task id must be one cell; the range Log!A1:A2 has 2")


def test_phone_with_the_settings_range_checks_the_settings_as_the_upload_does(sim):
    settings = support.settings_rows(base_url=sim.url, cc_list_id=1, process_id=13, lead_id=17,
                                     user_id="john")
    assert AMEYO_PHONE("98765 43210", settings) == "9876543210"
    broken = support.settings_rows(base_url=sim.url, cc_list_id=0, process_id=13, lead_id=17,
                                   user_id="john")
    got = AMEYO_PHONE("98765 43210", broken)
    assert got.startswith("#N/A: ") and "cc_list_id must be a positive whole number" in got


def test_phone_and_row_ok_follow_the_settings_phone_country(sim):
    settings = support.settings_rows(base_url=sim.url, cc_list_id=1, process_id=13, lead_id=17,
                                     user_id="john", phone_country="IN")
    assert AMEYO_PHONE("+91 98765 43210", settings) == "9876543210"  # national, as sent
    assert AMEYO_PHONE("+91 98765 43210") == "919876543210"  # the 7-15 digit rule
    assert AMEYO_PHONE("12345678", settings).startswith("#N/A: ")
    row = [["Asha", "12345678", None, None, None]]
    assert AMEYO_ROW_OK(row, HEADERS, mapping_rows()) == "OK"
    assert AMEYO_ROW_OK(row, HEADERS, mapping_rows(), settings).startswith("#N/A: phone1")


def test_endpoint_names_the_cell_of_the_wrong_argument(remote, sim):
    book = remote({"Target": [["base_url", "https://ameyo.example.com"], ["cc", 0.0],
                              ["process", 13.0], ["lead", 17.0]]})
    target = book.sheets["Target"]
    args = (target["B1"], target["B2"], target["B3"], target["B4"])
    got = call_like_excel("AMEYO_ENDPOINT", *args)
    assert got.startswith("#N/A: Target!B2: cc_list_id must be a positive whole number")
    got = call_like_excel("AMEYO_ENDPOINT", target["B1"], 1.0, target["B3"], target["B4"])
    assert got == ("https://ameyo.example.com/v1/cc-list/1/process-list/13/leads/17/"
                   "contact-upload-tasks")


def test_a_sheet_name_with_spaces_and_a_quote_is_named_as_a_formula_writes_it(remote):
    name = "Asha's Leads 2"
    book = remote({name: [LEADS_HEADERS, ["Asha", "123", None, None, None]]})
    sheet = book.sheets[name]
    got = call_like_excel("AMEYO_ROW_OK", sheet["A2:E2"], sheet["A1:E1"], mapping_rows())
    assert got == ("#N/A: 'Asha''s Leads 2'!B2: phone1: has 3 digits, needs 7 to 15 "
                   "(column 'Mobile')")
    assert call_like_excel("AMEYO_PHONE", sheet["B2"]).startswith("#N/A: 'Asha''s Leads 2'!B2: ")


def test_only_cell_references_are_moved_not_quoted_names_like_them():
    from xl_ameyo.excel.ranges import Located, relocate_text

    place = Located(None, "Setup", 4, 3, 12, 2)
    assert relocate_text("B5 names the column 'A1' but A5 has none", place) == (
        "D8 names the column 'A1' but C8 has none")
    assert relocate_text("in A2 and A3 (phone1, B52X)", place, shift=1) == (
        "in C4 and C5 (phone1, B52X)")
    assert relocate_text("see Mapping!B3", place) == "see Setup!D6"
