"""SPEC §2 "Log sheet", end to end: what `xl-ameyo upload` appends, read back with openpyxl and
compared with what the simulator received."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import openpyxl
import pytest

from tests.books import LEAD, lead_book, log_dicts, read_log, upload

#: SPEC §2, spelled out here (not imported from the code under test)
SPEC_COLUMNS = [
    "timestamp", "sheet", "rows_sent", "rows_skipped", "cc_list_id", "process_id", "lead_id",
    "user_id", "update_duplicate", "churn_updated_records", "migrate", "task_id", "status",
    "http_code", "message", "request_id", "csv_sha256", "duration_s",
]
ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)")

ROWS = [
    ["Asha", "9876543210", "Pune"],
    ["Ravi", "98765 43210", "Goa"],      # duplicate of row 2 once normalised
    ["Meena", "9000000009", "Delhi"],
    [None, None, None],
    ["Bad", "12", "X"],
]


@pytest.fixture
def book(tmp_path):
    return tmp_path / "leads.xlsx"


def test_log_created_with_its_header_in_spec_order(sim, book):
    lead_book(book, sim.url)
    assert "Log" not in openpyxl.load_workbook(book).sheetnames
    result = upload(book)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Leads", "Settings", "Mapping", "Log"]
    header, rows = read_log(book)
    assert header == SPEC_COLUMNS
    assert len(rows) == 1


def test_ok_row(sim, book):
    result = upload(lead_book(book, sim.url, rows=ROWS, settings={"update_duplicate": True}))
    assert result.exit_code == 0, result.output
    (req,) = sim.upload_requests()
    header, rows = read_log(book)
    (row,) = rows
    cells = dict(zip(header, row, strict=True))
    values = {k: c.value for k, c in cells.items()}

    # task_id: text, exactly the simulator's 16+ digit id
    assert cells["task_id"].data_type == "s"
    assert values["task_id"] == req["task_id"]
    assert re.fullmatch(r"\d{16,}", values["task_id"])
    sim.wait_for_task(values["task_id"])

    # timestamp: ISO 8601 with a UTC offset, as text
    assert cells["timestamp"].data_type == "s"
    assert ISO_WITH_OFFSET.fullmatch(values["timestamp"]), values["timestamp"]
    stamp = dt.datetime.fromisoformat(values["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None
    assert abs(dt.datetime.now(dt.timezone.utc) - stamp) < dt.timedelta(hours=1)

    # the CSV's hash is that of the bytes the simulator received
    sent = req["csv"].encode("utf-8")
    assert len(sent) == req["file_size"]
    assert values["csv_sha256"] == hashlib.sha256(sent).hexdigest()

    assert values["status"] == "OK"
    assert values["http_code"] == 200
    assert (values["rows_sent"], values["rows_skipped"]) == (2, 2)
    assert (values["cc_list_id"], values["process_id"], values["lead_id"]) == (1, 13, LEAD)
    assert values["user_id"] == "john"
    assert (values["update_duplicate"], values["churn_updated_records"], values["migrate"]) == (
        True, False, False)
    assert values["sheet"] == "Leads"
    assert values["task_id"] in values["message"]
    assert isinstance(values["duration_s"], (int, float)) and values["duration_s"] >= 0


def test_rows_sent_equals_the_rows_the_server_got(sim, book):
    rows = [[f"N{i}", f"90000000{i:02d}", "C"] for i in range(25)] + [[None, None, None]] * 3
    rows += [["x", "not a phone", "C"], ["y", "9000000003", "dup"]]
    result = upload(lead_book(book, sim.url, rows=rows))
    assert result.exit_code == 0, result.output
    (req,) = sim.upload_requests()
    task = sim.wait_for_task(req["task_id"])
    logged = log_dicts(book)[-1]
    assert (logged["rows_sent"], logged["rows_skipped"]) == (25, 2)
    assert task["rows"] == 25
    assert len(sim.contacts(LEAD)) == 25


def test_failed_server_row_has_http_code_and_server_code(sim, book):
    sim.set_fault(LEAD, "object-envelope")  # 500 with error code IS-1002
    result = upload(lead_book(book, sim.url))
    assert result.exit_code == 1, result.output
    logged = log_dicts(book)[-1]
    assert logged["status"] == "FAILED"
    assert logged["http_code"] == 500
    assert "IS-1002" in logged["message"]
    assert logged["task_id"] in (None, "")
    (req,) = sim.upload_requests()
    assert logged["request_id"] == req["request_id"]
    assert logged["csv_sha256"] == hashlib.sha256(req["csv"].encode()).hexdigest()
    assert logged["rows_sent"] == 2


def test_failed_row_for_an_unknown_lead_list(sim, book):
    result = upload(lead_book(book, sim.url, settings={"lead_id": 99}))
    assert result.exit_code == 1, result.output
    logged = log_dicts(book)[-1]
    assert (logged["status"], logged["http_code"], logged["lead_id"]) == ("FAILED", 404, 99)
    assert "CONF-1003" in logged["message"]
    assert "CONF-1003" in result.stderr


def test_one_row_per_attempt_newest_last(sim, book):
    lead_book(book, sim.url)
    assert upload(book, "--dry-run").exit_code == 0
    assert upload(book).exit_code == 0
    sim.set_fault(LEAD, "server-error-html", times=1)
    assert upload(book, "--allow-reupload").exit_code == 1
    assert upload(book).exit_code == 2  # a re-upload, refused: still an attempt
    statuses = [r["status"] for r in log_dicts(book)]
    assert statuses == ["DRY RUN", "OK", "FAILED", "FAILED"]
    rows = log_dicts(book)
    assert rows[2]["http_code"] == 500
    assert "allow-reupload" in rows[3]["message"]
    stamps = [dt.datetime.fromisoformat(r["timestamp"]) for r in rows]
    assert stamps == sorted(stamps)
    header, _ = read_log(book)
    assert header == SPEC_COLUMNS  # one header, not one per attempt
    assert len(sim.upload_requests()) == 2


def test_dry_run_row(sim, book):
    result = upload(lead_book(book, sim.url, rows=ROWS), "--dry-run")
    assert result.exit_code == 0, result.output
    assert sim.upload_requests() == []
    (logged,) = log_dicts(book)
    assert logged["status"] == "DRY RUN"
    assert (logged["rows_sent"], logged["rows_skipped"]) == (2, 2)
    assert logged["task_id"] in (None, "") and logged["http_code"] is None
    # the hash is that of the CSV a real upload sends
    assert upload(book).exit_code == 0
    (req,) = sim.upload_requests()
    assert logged["csv_sha256"] == hashlib.sha256(req["csv"].encode()).hexdigest()


def test_workbook_problem_is_logged_as_failed(sim, book):
    result = upload(lead_book(book, sim.url, mapping={"name": "Name", "phone1": "Phone"}))
    assert result.exit_code == 2
    (logged,) = log_dicts(book)
    assert logged["status"] == "FAILED"
    assert "Phone" in logged["message"]
    assert logged["rows_sent"] == 0


def test_appended_below_existing_rows_of_an_existing_log(sim, book):
    old = ["2025-01-01T10:00:00+05:30", "Leads", 5, 0, 1, 13, 17, "john", False, False, False,
           "1234567890123457", "OK", 200, "old", "", "ab" * 32, 1.5]
    lead_book(book, sim.url, extra={"Log": [SPEC_COLUMNS, old, [None] * 18, old]})
    result = upload(book)
    assert result.exit_code == 0, result.output
    header, rows = read_log(book)
    assert header == SPEC_COLUMNS
    assert [r[0].value for r in rows] == [old[0], old[0], rows[-1][0].value]
    assert rows[-1][12].value == "OK"
    assert rows[0][14].value == "old"


def test_task_ids_stay_text_over_many_uploads(sim, book):
    lead_book(book, sim.url)
    for _ in range(3):
        assert upload(book, "--allow-reupload").exit_code == 0
    header, rows = read_log(book)
    j = header.index("task_id")
    assert [r[j].value for r in rows] == [q["task_id"] for q in sim.upload_requests()]
    assert all(r[j].data_type == "s" for r in rows)
    # also as the reader the next run uses sees them (text, not a float)
    from xl_ameyo.xlsx.reader import XlsxBook

    read = XlsxBook(book).read_sheet("Log")
    assert [r[j] for r in read[1:]] == [q["task_id"] for q in sim.upload_requests()]


@pytest.mark.parametrize(
    ("fault", "http", "code"),
    [("unauthorized", 401, "AUTH-1001"), ("forbidden", 403, "AUTH-1002"),
     ("cc-not-found", 404, "CONF-1001"), ("bad-request", 400, "VAL-1000"),
     ("legacy-status", 400, "INVALID_REQUEST"), ("legacy-message", 400, "UPLOAD_FAILED"),
     ("object-envelope", 500, "IS-1002"), ("too-large", 413, "413"),
     ("unavailable", 503, "503")],
)
def test_failed_row_quotes_the_servers_code(sim, book, fault, http, code):
    sim.set_fault(LEAD, fault)
    result = upload(lead_book(book, sim.url))
    assert result.exit_code == 1, result.output
    logged = log_dicts(book)[-1]
    assert (logged["status"], logged["http_code"]) == ("FAILED", http)
    assert code in logged["message"]
    assert code in result.stderr
