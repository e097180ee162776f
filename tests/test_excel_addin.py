"""The ribbon's upload, end to end: xlwings' remote engine (its real object model; what the
code does to the workbook comes back as the actions xlwings would send to Excel), the
simulator behind, credentials from the environment.

The analyst's answers to confirmations come from :class:`ScriptedUI`, which still calls the
real ``app.alert`` (so every dialog is among the recorded actions)."""

from __future__ import annotations

import json
import re
import sys

import pytest
import xlwings as xw

import xl_ameyo
from tests import test_excel_support as support
from tests.test_excel_support import (
    LEADS_HEADERS,
    ScriptedUI,
    lead_book,
    make_book,
    mapping_rows,
    replay,
    settings_rows,
)
from xl_ameyo.columns import CellError
from xl_ameyo.excel import addin as addin_module
from xl_ameyo.excel.addin import upload
from xl_ameyo.excel.sheets import HIGHLIGHT_HEX, ISSUES_HEADER, MAX_HIGHLIGHTS
from xl_ameyo.excel.ui import ExcelUI
from xl_ameyo.logrecord import LOG_COLUMNS
from xl_ameyo.template import SETTINGS_ROWS

remote = support.remote  # fixtures
creds = support.creds
no_keyring = support.no_keyring

LEADS = [
    ["Asha Rao", "98765 43210", None, "asha@example.com", "Pune"],  # row 2
    ["Bad Phone", "12345", None, None, "Delhi"],  # row 3: too short
    ["Err Row", CellError("#N/A"), None, None, None],  # row 4: error cell
    ["Ravi", 9123456780.0, "+91 98111-22233", None, "Delhi"],  # row 5
    ["Dup", "9876543210", None, None, None],  # row 6: duplicate of row 2
]
EXPECTED_CSV = [
    "Customer Name,Mobile,Alternate Phone,E-mail",
    "Asha Rao,9876543210,,asha@example.com",
    "Ravi,9123456780,919811122233,",
]
EXPECTED_MAPPING = {
    "name": "Customer Name", "phone1": "Mobile", "phone2": "Alternate Phone", "phone3": "",
    "phone4": "", "phone5": "", "email": "E-mail", "timezone": "", "twitter": "",
    "facebook": "",
}
COL = {name: i + 1 for i, name in enumerate(LOG_COLUMNS)}


def log_entry(state, row: int) -> dict:
    values = state["Log"].row(row)
    return {name: (values[i] if i < len(values) else None) for i, name in enumerate(LOG_COLUMNS)}


def no_traceback(state) -> None:
    for alert in state.alerts:
        assert "Traceback" not in alert["prompt"]
        assert 'File "' not in alert["prompt"]


# --- the happy path ------------------------------------------------------------------------------


def test_upload_sends_the_valid_rows_and_logs_the_task_id_as_text(remote, creds, sim):
    book = lead_book(sim, LEADS)
    ui = ScriptedUI(book, ["yes"])

    result = upload(book, dry_run=None, ui=ui)

    assert result.status == "uploaded", result.message
    [request] = sim.upload_requests()
    assert request["csv"].split("\r\n") == [*EXPECTED_CSV, ""]
    assert json.loads(request["fields"]["header_mapping"]) == EXPECTED_MAPPING
    assert request["fields"]["header_mapping"] == json.dumps(EXPECTED_MAPPING,
                                                             separators=(",", ":"))
    assert request["fields"]["user_id"] == "john"
    task_id = request["task_id"]
    assert len(task_id) == 16
    assert sim.wait_for_task(task_id)["status"] == "COMPLETED"

    state = replay(book)
    # the Log sheet was created with its header; the row holds the task id as text
    assert state.names == ["Leads", "Settings", "Mapping", "Issues", "Log"]
    assert state["Log"].row(1) == list(LOG_COLUMNS)
    entry = log_entry(state, 2)
    assert entry["task_id"] == task_id
    assert isinstance(entry["task_id"], str)
    assert state["Log"].formatted_before_written("L2")
    assert state["Log"].formatted_before_written("A2")  # the ISO timestamp stays text
    assert (2, COL["rows_sent"]) not in state["Log"].formats  # numbers stay numbers
    assert (1, COL["task_id"]) not in state["Log"].formats
    assert entry["status"] == "OK"
    assert (entry["rows_sent"], entry["rows_skipped"]) == (2, 3)
    assert (entry["cc_list_id"], entry["process_id"], entry["lead_id"]) == (1, 13, 17)
    assert entry["sheet"] == "Leads"
    assert entry["http_code"] == 200
    assert len(entry["csv_sha256"]) == 64
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", entry["timestamp"])

    # the Issues sheet lists the skipped rows, with links, and their cells are highlighted
    issues = state["Issues"].rows()
    assert issues[0] == list(ISSUES_HEADER)
    assert [(r[1], r[3], r[5]) for r in issues[1:]] == [
        (3, "B3", "phone1: has 5 digits, needs 7 to 15"),
        (4, "B4", "Excel error #N/A in column 'Mobile'"),
        (6, "B6", "duplicate of row 2"),
    ]
    assert issues[1][0] == "Leads" and issues[1][2] == "Mobile" and issues[1][4] == "12345"
    assert issues[1][6] == '=HYPERLINK("#\'Leads\'!B3","Leads!B3")'
    assert [r[7] for r in issues[1:]] == ["none", "none", "none"]  # no fill before (remote)
    assert state["Leads"].fills == {(3, 2): HIGHLIGHT_HEX, (4, 2): HIGHLIGHT_HEX,
                                    (6, 2): HIGHLIGHT_HEX}
    assert state["Issues"].formatted_before_written("E2")

    # one confirmation naming the target and the counts, one message with the task id
    confirm, done = state.alerts
    assert confirm["buttons"] == "yes_no_cancel"
    for part in (sim.url, "cc_list_id 1", "process_id 13", "lead_id 17", "user_id john",
                 "2 to send, 3 to skip", "Issues"):
        assert part in confirm["prompt"]
    assert done["buttons"] == "ok" and done["mode"] == "info"
    assert task_id in done["prompt"]
    assert "3 rows skipped" in done["prompt"]
    assert "Logged in sheet 'Log', row 2" in done["prompt"]
    # the analyst is back on the sheet they clicked from
    assert state.active == "Leads"
    no_traceback(state)


def test_explicit_upload_asks_ok_cancel(remote, creds, sim):
    book = lead_book(sim, LEADS[:1])
    ui = ScriptedUI(book, ["ok"])
    result = upload(book, dry_run=False, ui=ui)
    assert result.status == "uploaded"
    assert replay(book).alerts[0]["buttons"] == "ok_cancel"
    assert len(sim.upload_requests()) == 1


def test_log_row_goes_after_the_last_used_row(remote, creds, sim):
    old = ["2026-01-01T10:00:00+05:30", "Leads", 1, 0, 1, 13, 18, "john", False, False, False,
           "1234567890123457", "OK", 200, "", "", "ab" * 32, 0.5]
    log = [list(LOG_COLUMNS), old, old, [None] * 3, [None] * 3]
    book = lead_book(sim, LEADS[:1], log=log)
    upload(book, ui=ScriptedUI(book, ["ok"]))
    state = replay(book)
    assert state["Log"].row(1) == []  # the header was not written again
    assert log_entry(state, 4)["status"] == "OK"
    assert log_entry(state, 4)["task_id"] == sim.upload_requests()[0]["task_id"]


def test_split_uploads_log_one_row_per_part(remote, creds, sim):
    book = lead_book(sim, [LEADS[0], LEADS[3]], settings={"max_rows_per_upload": 1})
    result = upload(book, ui=ScriptedUI(book, ["ok"]))
    assert result.status == "uploaded"
    ids = [r["task_id"] for r in sim.upload_requests()]
    assert len(ids) == 2
    state = replay(book)
    assert [log_entry(state, r)["task_id"] for r in (2, 3)] == ids
    assert f"Task ids: {ids[0]}, {ids[1]}" in state.alerts[-1]["prompt"]


# --- choices: cancel, dry run --------------------------------------------------------------------


def test_cancel_sends_nothing_and_logs_nothing(remote, creds, sim):
    book = lead_book(sim, LEADS)
    result = upload(book, dry_run=None, ui=ScriptedUI(book, ["cancel"]))
    assert result.status == "cancelled"
    assert sim.upload_requests() == []
    state = replay(book)
    assert "Log" not in state.names
    assert len(state.alerts) == 1  # the question only
    assert state.active == "Leads"


def test_no_answer_counts_as_cancel(remote, creds, sim):
    # the remote engine's app.alert cannot answer: nothing is sent without a yes
    book = lead_book(sim, LEADS[:1])
    result = upload(book, dry_run=None)  # the real ExcelUI
    assert result.status == "cancelled"
    assert sim.upload_requests() == []
    assert replay(book).alerts[0]["buttons"] == "yes_no_cancel"


def test_no_means_check_only(remote, creds, sim):
    book = lead_book(sim, LEADS)
    result = upload(book, dry_run=None, ui=ScriptedUI(book, ["no"]))
    assert result.status == "dry-run"
    assert sim.upload_requests() == []
    state = replay(book)
    entry = log_entry(state, 2)
    assert entry["status"] == "DRY RUN"
    assert (entry["rows_sent"], entry["rows_skipped"]) == (2, 3)
    assert entry["task_id"] is None
    assert "Nothing was sent" in state.alerts[-1]["prompt"]


def test_dry_run_needs_no_password_and_asks_nothing(remote, sim, no_keyring, monkeypatch):
    monkeypatch.delenv("AMEYO_PASSWORD", raising=False)
    monkeypatch.delenv("AMEYO_USERNAME", raising=False)
    book = lead_book(sim, LEADS)
    result = upload(book, dry_run=True, ui=ScriptedUI(book, []))
    assert result.status == "dry-run"
    state = replay(book)
    assert log_entry(state, 2)["status"] == "DRY RUN"
    assert len(state.alerts) == 1


# --- the first click -----------------------------------------------------------------------------


def test_first_click_creates_settings_and_mapping_and_sends_nothing(remote, creds, sim):
    headers = ["Customer Name", "Mobile No", "Alt Phone", "E-mail", "City"]
    leads = [["Asha Rao", "98765 43210", None, "asha@example.com", "Pune"]]
    book = make_book({"Sheet1": [headers, *leads]})
    result = upload(book, dry_run=None, ui=ScriptedUI(book, []))

    assert result.status == "setup"
    assert result.created == ["Settings", "Mapping"]
    assert sim.upload_requests() == []
    state = replay(book)
    assert state.names == ["Sheet1", "Settings", "Mapping"]
    assert state.active == "Settings"
    settings = state["Settings"].rows()
    assert settings[0] == ["Setting", "Value", "Notes"]
    assert [r[0] for r in settings[1:]] == [key for key, _d, _n in SETTINGS_ROWS]
    values = {r[0]: r[1] for r in settings[1:]}
    assert values["update_duplicate"] is False and values["verify_tls"] is True
    assert values["timeout_s"] == 300 and values["on_invalid_rows"] == "skip"
    assert values["data_sheet"] == "Sheet1"
    assert values["base_url"] is None
    assert all(r[2] for r in settings[1:])  # every key has its note
    mapping = state["Mapping"].rows()
    assert mapping[0] == ["Ameyo field", "Sheet column"]
    assert {r[0]: (r[1] if len(r) > 1 else None) for r in mapping[1:]} == {
        "name": "Customer Name", "phone1": "Mobile No", "phone2": "Alt Phone", "phone3": None,
        "phone4": None, "phone5": None, "email": "E-mail", "timezone": None, "twitter": None,
        "facebook": None,
    }
    [message] = state.alerts
    for part in ("Settings", "base_url", "phone1 = 'Mobile No'", "xl-ameyo login",
                 "Nothing was sent"):
        assert part in message["prompt"]

    # the analyst fills in Settings and clicks again: the same sheets now upload
    filled = [list(r) for r in settings]
    for row in filled[1:]:
        row[1] = {"base_url": sim.url, "cc_list_id": 1, "process_id": 13, "lead_id": 17,
                  "user_id": "john"}.get(row[0], row[1])
    book2 = make_book({"Sheet1": [headers, *leads], "Settings": filled, "Mapping": mapping})
    result = upload(book2, ui=ScriptedUI(book2, ["ok"]))
    assert result.status == "uploaded", result.message
    [request] = sim.upload_requests()
    assert request["csv"].split("\r\n")[0] == "Customer Name,Mobile No,Alt Phone,E-mail"


def test_first_click_without_a_phone_column_says_phone1_is_needed(remote, creds, sim):
    book = make_book({"Leads": [["Who", "Where"]]})
    upload(book, ui=ScriptedUI(book, []))
    [message] = replay(book).alerts
    assert "phone1 is not mapped" in message["prompt"]


def test_only_the_missing_mapping_is_created(remote, creds, sim):
    values = dict(base_url=sim.url, cc_list_id=1, process_id=13, lead_id=17, user_id="john")
    book = make_book({"Leads": [LEADS_HEADERS, LEADS[0]], "Settings": settings_rows(**values)})
    result = upload(book, ui=ScriptedUI(book, []))
    assert result.created == ["Mapping"]
    state = replay(book)
    assert state.names == ["Leads", "Settings", "Mapping"]
    assert state.active == "Mapping"
    assert sim.upload_requests() == []


# --- which sheet ---------------------------------------------------------------------------------


def test_active_log_sheet_uploads_the_only_lead_sheet(remote, creds, sim):
    book = lead_book(sim, LEADS[:1], log=[list(LOG_COLUMNS)], active="Log")
    result = upload(book, ui=ScriptedUI(book, ["ok"]))
    assert result.status == "uploaded"
    assert result.plan.data_sheet == "Leads"
    assert replay(book).active == "Log"


def test_active_settings_sheet_uses_data_sheet(remote, creds, sim):
    other = [LEADS_HEADERS, ["Meena", "9000000001", None, None, None]]
    book = lead_book(sim, LEADS[:1], settings={"data_sheet": "Leads2"},
                     extra={"Leads2": other}, active="Settings")
    result = upload(book, ui=ScriptedUI(book, ["ok"]))
    assert result.plan.data_sheet == "Leads2"
    assert sim.upload_requests()[0]["csv"].split("\r\n")[1] == "Meena,9000000001,,"


def test_active_lead_sheet_wins_over_data_sheet(remote, creds, sim):
    other = [LEADS_HEADERS, ["Meena", "9000000001", None, None, None]]
    book = lead_book(sim, LEADS[:1], settings={"data_sheet": "Leads2"},
                     extra={"Leads2": other}, active="Leads")
    result = upload(book, ui=ScriptedUI(book, ["ok"]))
    assert result.plan.data_sheet == "Leads"


# --- the previous run's Issues and highlights ----------------------------------------------------


def test_previous_highlights_are_undone_and_issues_cleared(remote, creds, sim):
    previous = [
        list(ISSUES_HEADER),
        ["Leads", 3, "Mobile", "B3", "12", "phone1: ...", None, "none"],
        ["Leads", 4, "Mobile", "B4", "x", "phone1: ...", None, "#00ff00"],
        ["Leads", 9, "Mobile", "B9", "x", "phone1: ...", None, ""],  # was not highlighted
    ]
    valid = [LEADS[0], LEADS[3]]
    book = lead_book(sim, valid, extra={"Issues": previous})
    result = upload(book, ui=ScriptedUI(book, ["ok"]))
    assert result.status == "uploaded"
    state = replay(book)
    # only the cells this add-in coloured get their fill back; nothing else is touched
    assert state["Leads"].fills == {(3, 2): None, (4, 2): "#00ff00"}
    assert state["Issues"].cleared
    assert state["Issues"].rows() == [list(ISSUES_HEADER),
                                      ["Leads", None, None, None, None,
                                       "No invalid rows in the last check", None, None]]


def test_a_foreign_issues_sheet_is_not_cleared(remote, creds, sim):
    book = lead_book(sim, LEADS[:1], extra={"Issues": [["My notes"], ["call back Asha"]]})
    result = upload(book, ui=ScriptedUI(book, []))
    assert result.status == "failed"
    state = replay(book)
    [message] = state.alerts
    assert "not made by xl_ameyo" in message["prompt"]
    assert message["mode"] == "critical"
    assert not state["Issues"].cleared
    assert sim.upload_requests() == []


def test_highlights_are_capped(remote, creds, sim, monkeypatch):
    bad = [["X", f"1{n}", None, None, None] for n in range(5)]
    book = lead_book(sim, [LEADS[0], *bad])
    monkeypatch.setattr("xl_ameyo.excel.sheets.MAX_HIGHLIGHTS", 2)
    upload(book, ui=ScriptedUI(book, ["ok"]))
    state = replay(book)
    assert len(state["Leads"].fills) == 2
    assert len(state["Issues"].rows()) == 6  # all five listed
    assert [r[7] for r in state["Issues"].rows()[1:]] == ["none", "none", None, None, None]
    assert MAX_HIGHLIGHTS >= 100


# --- failures: one message each, logged, never a traceback ---------------------------------------


def test_missing_password_says_run_login(remote, sim, no_keyring, monkeypatch):
    monkeypatch.setenv("AMEYO_USERNAME", "demo")
    monkeypatch.delenv("AMEYO_PASSWORD", raising=False)
    book = lead_book(sim, LEADS)
    result = upload(book, dry_run=None, ui=ScriptedUI(book, ["yes"]))
    assert result.status == "failed"
    assert sim.upload_requests() == []
    state = replay(book)
    _question, message = state.alerts
    assert message["mode"] == "critical"
    assert "xl-ameyo login" in message["prompt"]
    entry = log_entry(state, 2)
    assert entry["status"] == "FAILED" and "No password" in entry["message"]
    assert entry["lead_id"] == 17
    no_traceback(state)


def test_a_settings_error_names_the_cell(remote, creds, sim):
    book = lead_book(sim, LEADS, settings={"lead_idd": 5})
    result = upload(book, ui=ScriptedUI(book, []))
    assert result.status == "failed"
    assert sim.upload_requests() == []
    state = replay(book)
    [message] = state.alerts
    assert "Settings!A" in message["prompt"] and "lead_idd" in message["prompt"]
    assert "Did you mean 'lead_id'" in message["prompt"]
    assert log_entry(state, 2)["status"] == "FAILED"
    assert log_entry(state, 2)["lead_id"] is None
    no_traceback(state)


def test_a_mapping_error_names_the_cell(remote, creds, sim):
    mapping = dict(support.MAPPING, phone1="Mobil")
    book = lead_book(sim, LEADS, mapping=mapping)
    result = upload(book, ui=ScriptedUI(book, []))
    assert result.status == "failed"
    [message] = replay(book).alerts
    assert "Mapping!B3" in message["prompt"] and "Closest header: 'Mobile'" in message["prompt"]


def test_password_in_settings_is_refused(remote, creds, sim):
    book = lead_book(sim, LEADS, settings={"password": "demo-pass"})
    result = upload(book, ui=ScriptedUI(book, []))
    assert result.status == "failed"
    state = replay(book)
    [message] = state.alerts
    assert "password does not belong in the workbook" in message["prompt"]
    assert "demo-pass" not in message["prompt"]
    assert "demo-pass" not in json.dumps(book.json())


@pytest.mark.parametrize(("fault", "code"), [("unauthorized", 401), ("server-error-html", 500)])
def test_server_failure_is_one_message_and_a_failed_log_row(remote, creds, sim, fault, code):
    sim.set_fault(17, fault)
    book = lead_book(sim, LEADS)
    result = upload(book, ui=ScriptedUI(book, ["ok"]))
    assert result.status == "failed"
    state = replay(book)
    _question, message = state.alerts
    assert message["mode"] == "critical"
    assert str(code) in message["prompt"]
    entry = log_entry(state, 2)
    assert (entry["status"], entry["http_code"]) == ("FAILED", code)
    assert "Logged in sheet 'Log', row 2" in message["prompt"]
    assert sim.password not in json.dumps(book.json())
    no_traceback(state)


def test_block_mode_sends_nothing_without_asking(remote, creds, sim):
    book = lead_book(sim, LEADS, settings={"on_invalid_rows": "block"})
    result = upload(book, ui=ScriptedUI(book, []))
    assert result.status == "failed"
    assert sim.upload_requests() == []
    state = replay(book)
    [message] = state.alerts
    assert "on_invalid_rows is 'block'" in message["prompt"]
    assert log_entry(state, 2)["status"] == "FAILED"
    assert len(state["Issues"].rows()) == 4


def test_unexpected_errors_show_their_type_only(remote, creds, sim, monkeypatch, tmp_path):
    monkeypatch.setattr(addin_module.tempfile, "gettempdir", lambda: str(tmp_path))

    def broken(settings):
        raise RuntimeError(f"boom with {sim.password} and Basic ZGVtbzpkZW1vLXBhc3M=")

    book = lead_book(sim, LEADS)
    result = upload(book, ui=ScriptedUI(book, ["ok"]), client_factory=broken)
    assert result.status == "unexpected"
    state = replay(book)
    message = state.alerts[-1]
    assert message["mode"] == "critical"
    assert "Unexpected error (RuntimeError)" in message["prompt"]
    assert "boom" not in message["prompt"]
    no_traceback(state)
    details = (tmp_path / addin_module.ERROR_LOG).read_text()
    assert "RuntimeError: boom" in details and "Traceback" in details
    assert sim.password not in details
    assert "ZGVtbzpkZW1vLXBhc3M=" not in details
    assert sim.upload_requests() == []


# --- re-upload of identical rows -----------------------------------------------------------------


def test_reupload_asks_again_and_cancel_sends_nothing(remote, creds, sim):
    first = lead_book(sim, LEADS)
    upload(first, ui=ScriptedUI(first, ["ok"]))
    log = replay(first)["Log"].rows()

    again = lead_book(sim, LEADS, log=log)
    ui = ScriptedUI(again, ["ok", "cancel"])
    result = upload(again, ui=ui)
    assert result.status == "failed"
    assert len(sim.upload_requests()) == 1
    assert "already uploaded" in ui.questions[1]
    assert log[1][COL["task_id"] - 1] in ui.questions[1]
    state = replay(again)
    entry = log_entry(state, 3)
    assert entry["status"] == "FAILED"
    assert "re-upload was not confirmed" in entry["message"]
    assert "--allow-reupload" not in json.dumps(state.alerts)
    assert "--allow-reupload" not in entry["message"]

    third = lead_book(sim, LEADS, log=log)
    result = upload(third, ui=ScriptedUI(third, ["ok", "ok"]))
    assert result.status == "uploaded"
    assert len(sim.upload_requests()) == 2


# --- the engine: remote has no status bar; main() ------------------------------------------------


def test_the_remote_engine_has_no_status_bar_and_that_is_fine(remote, sim):
    book = lead_book(sim, LEADS[:1])
    with pytest.raises(NotImplementedError):
        book.app.status_bar = "x"
    ExcelUI(book).status("Ameyo: uploading... 5%")
    ExcelUI(book).status(None)
    assert replay(book).alerts == []


def test_main_runs_the_calling_book(remote, creds, sim, monkeypatch):
    book = lead_book(sim, LEADS[:1])
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: book))
    xl_ameyo.main()  # the ribbon's RunPython command
    state = replay(book)
    # the remote engine cannot answer the question: nothing sent, no crash
    assert state.alerts[0]["buttons"] == "yes_no_cancel"
    assert sim.upload_requests() == []


def test_main_outside_excel_prints_one_line(monkeypatch, capsys):
    def no_caller(cls):
        raise RuntimeError("Book.caller() must not be called directly")

    monkeypatch.setattr(xw.Book, "caller", classmethod(no_caller))
    with pytest.raises(SystemExit) as exit_info:
        xl_ameyo.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("xl_ameyo: ")


def test_importing_xl_ameyo_does_not_import_xlwings():
    import subprocess

    code = "import sys, xl_ameyo; print('xlwings' in sys.modules, callable(xl_ameyo.main))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "True"]


def test_mapping_rows_helper_matches_the_template_layout():
    assert mapping_rows()[0] == ["Ameyo field", "Sheet column"]


def test_half_an_emoji_in_a_cell_is_an_issue_not_a_traceback(remote, creds, sim):
    """A cell can hold a lone surrogate (LEFT cut an emoji in two); xlwings hands it over
    as it is: the row is listed in Issues and the others are sent."""
    book = lead_book(sim, [["Asha \ud83d", "9876543210", None, None, None],
                           ["Ravi", "9123456780", None, None, None]])
    result = upload(book, dry_run=None, ui=ScriptedUI(book, ["yes"]))

    assert result.status == "uploaded", result.message
    [request] = sim.upload_requests()
    assert request["csv"].split("\r\n")[1] == "Ravi,9123456780,,"
    state = replay(book)
    no_traceback(state)
    issue = state["Issues"].rows()[1]
    assert "broken character (U+D83D)" in " ".join(str(v) for v in issue)


# --- one click at a time -------------------------------------------------------------------------

HOLD = """
import sys
from xl_ameyo.booklock import book_lock
with book_lock(sys.argv[1]):
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_a_click_while_an_upload_of_the_workbook_runs_starts_nothing(remote, creds, sim):
    """macOS runs RunPython in the background: a second click is a second Python process."""
    import subprocess

    book = lead_book(sim, LEADS[:1])
    other = subprocess.Popen([sys.executable, "-c", HOLD, book.fullname],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "holding"
        ui = ScriptedUI(book, [])  # a question would fail the test
        result = upload(book, ui=ui, dry_run=None)
        assert result.status == "busy"
        state = replay(book)
        [alert] = state.alerts
        assert alert["prompt"].startswith("An upload of leads.xlsx is already running")
        assert "click again" in alert["prompt"]
        assert "Log" not in state.names and sim.upload_requests() == []
        # another workbook is not held up (other leads: the same ones would be a re-upload)
        elsewhere = lead_book(sim, LEADS[3:4], name="other.xlsx")
        assert upload(elsewhere, ui=ScriptedUI(elsewhere, ["ok"])).status == "uploaded"
    finally:
        other.communicate("\n", timeout=60)
    # the first run is over: the next click uploads
    assert upload(book, ui=ScriptedUI(book, ["ok"])).status == "uploaded"
    assert len(sim.upload_requests()) == 2


def test_a_click_during_this_processs_own_upload_is_refused_too(remote, creds, sim):
    book = lead_book(sim, LEADS[:1])
    inner = []

    class Reentrant(ScriptedUI):
        def ask(self, text, **kwargs):
            inner.append(upload(book, ui=ScriptedUI(book, [])))
            return super().ask(text, **kwargs)

    assert upload(book, ui=Reentrant(book, ["ok"])).status == "uploaded"
    assert [r.status for r in inner] == ["busy"]
    assert len(sim.upload_requests()) == 1


def test_main_without_a_workbook_says_open_one(monkeypatch, capsys):
    def no_book(cls):
        raise RuntimeError("no active workbook")

    monkeypatch.setattr(xw.Book, "caller", classmethod(no_book))
    with pytest.raises(SystemExit):
        xl_ameyo.main()
    err = capsys.readouterr().err
    assert "open the workbook with your leads" in err and err.count("\n") == 1
