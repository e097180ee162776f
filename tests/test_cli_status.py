"""SPEC §4 `xl-ameyo status BOOK [--wait] [--json]`, end to end against the simulator: the
server's state and counts in the Log row, its rejected rows in a Rejected sheet (read back
with openpyxl), everything else kept byte for byte, a server without the status endpoint
(404, 405), a task that failed, and --wait on a task that is still queued."""

from __future__ import annotations

import json
import threading

import openpyxl
import pytest

from tests.books import lead_book, log_dicts, one_line_error, run_cli, upload, zip_bytes
from tests.conftest import queue_task
from xl_ameyo.logrecord import LOG_COLUMNS, TASK_COLUMNS
from xl_ameyo.simulator.tasks import run_task
from xl_ameyo.xlsx.logbook import append_log_row

ROWS = [
    ["Asha Rao", "9876543210", "Pune"],
    ["Short Nine", "98765 4321", "Agra"],  # 9 digits: we send it, the server rejects it
    ["Vikram Das", "9123456780", "Delhi"],
    ["Seven", "8765432", "Goa"],  # 7 digits: the same
]


def status(book, *args):
    return run_cli("status", book, *args)


def rejected_sheet(book) -> list[list]:
    ws = openpyxl.load_workbook(book)["Rejected"]
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_status_writes_the_task_into_the_log_and_the_rejected_rows(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url, rows=ROWS)
    assert upload(book).exit_code == 0
    task_id = log_dicts(book)[-1]["task_id"]
    sim.wait_for_task(task_id)
    before = zip_bytes(book)

    result = status(book)
    assert result.exit_code == 0, result.output
    assert f"Task {task_id} (Log row 2): COMPLETED, 4 rows: 2 inserted, 2 rejected" in \
        result.stdout
    assert "rejected: row 3 of 'Leads': PREPROCESSING_INVALID_LENGTH" in result.stdout

    (row,) = log_dicts(book)
    assert row["task_state"] == "COMPLETED"
    assert (row["task_rows"], row["inserted"], row["rejected"], row["duplicates"]) == (4, 2, 2, 0)
    assert row["checked_at"]
    header = [c.value for c in next(openpyxl.load_workbook(book)["Log"].iter_rows())]
    assert header == [*LOG_COLUMNS, *TASK_COLUMNS]
    assert row["status"] == "OK" and row["task_id"] == task_id  # the upload's cells kept

    rejected = rejected_sheet(book)
    assert rejected[0] == ["task_id", "sheet", "sheet_row", "error_code", "reason", "Name",
                           "Mobile", "City"]
    assert rejected[1:] == [
        [task_id, "Leads", 3, "PREPROCESSING_INVALID_LENGTH",
         "the server takes 10 to 15 digits in phone1", "Short Nine", "987654321", "Agra"],
        [task_id, "Leads", 5, "PREPROCESSING_INVALID_LENGTH",
         "the server takes 10 to 15 digits in phone1", "Seven", "8765432", "Goa"],
    ]
    # every other part of the workbook byte for byte
    after = zip_bytes(book)
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed <= {"xl/worksheets/sheet4.xml", "xl/workbook.xml",
                       "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}
    assert set(after) - set(before) == {"xl/worksheets/sheet5.xml"}

    # final now: a second run asks nothing and writes nothing
    again = zip_bytes(book)
    second = status(book)
    assert second.exit_code == 0, second.output
    assert "No task in the Log" in second.stdout
    assert zip_bytes(book) == again


@pytest.mark.parametrize("answer", [404, 405])
def test_a_server_without_task_status_is_told_in_one_line(sim, tmp_path, answer):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    assert upload(book).exit_code == 0
    before = book.read_bytes()
    sim.hide_task_status(answer)
    result = status(book)
    assert result.exit_code == 1
    assert one_line_error(result) == "error: this server does not report task status"
    assert book.read_bytes() == before


def test_a_task_that_failed_on_the_server_exits_1(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    sim.set_fault(17, "task-fail", times=1)
    assert upload(book).exit_code == 0
    sim.wait_for_task(log_dicts(book)[-1]["task_id"])
    result = status(book)
    assert result.exit_code == 1
    assert "failed on the server" in one_line_error(result)
    row = log_dicts(book)[-1]
    assert row["task_state"] == "FAILED"
    assert "task-fail" in row["task_error"]
    assert "Rejected" not in openpyxl.load_workbook(book).sheetnames


def _logged_queued_task(sim, tmp_path):
    """A workbook whose Log names a task the simulator holds QUEUED (not given to its
    worker), so that its state is known to change only when the test runs it."""
    book = lead_book(tmp_path / "q.xlsx", sim.url)
    task_id = queue_task(sim.store)
    row = dict.fromkeys(LOG_COLUMNS)
    row.update(timestamp="2026-12-04T10:00:00+00:00", sheet="Leads", rows_sent=1,
               cc_list_id=1, process_id=13, lead_id=17, user_id="john", task_id=str(task_id),
               status="OK", update_duplicate=False, churn_updated_records=False,
               migrate=False)
    append_log_row(book, list(row.values()), columns=LOG_COLUMNS)
    return book, task_id


def test_a_queued_task_is_written_as_queued_and_asked_again_later(sim, tmp_path):
    book, task_id = _logged_queued_task(sim, tmp_path)
    result = status(book)
    assert result.exit_code == 0, result.output
    assert log_dicts(book)[-1]["task_state"] == "QUEUED"
    run_task(sim.store, task_id)
    result = status(book)
    assert result.exit_code == 0, result.output
    row = log_dicts(book)[-1]
    assert (row["task_state"], row["inserted"]) == ("COMPLETED", 1)


def test_wait_polls_until_the_task_is_final(sim, tmp_path, monkeypatch):
    from xl_ameyo import cli_status

    book, task_id = _logged_queued_task(sim, tmp_path)
    asked = threading.Event()
    real_sleep = cli_status.time.sleep

    def sleep_then_run(seconds):
        # the first pause between two questions: the server finishes the task meanwhile
        if not asked.is_set():
            asked.set()
            run_task(sim.store, task_id)
        real_sleep(0)

    monkeypatch.setattr(cli_status.time, "sleep", sleep_then_run)
    result = status(book, "--wait")
    assert result.exit_code == 0, result.output
    assert asked.is_set()  # it was QUEUED at the first question, and asked again
    assert log_dicts(book)[-1]["task_state"] == "COMPLETED"


def test_wait_gives_up_after_max_wait(sim, tmp_path):
    book, task_id = _logged_queued_task(sim, tmp_path)
    result = status(book, "--wait", "--max-wait", "0")
    assert result.exit_code == 1
    assert f"Task {task_id} is still QUEUED" in one_line_error(result)
    assert log_dicts(book)[-1]["task_state"] == "QUEUED"


def test_the_task_columns_of_a_template_log_look_like_its_header(sim, tmp_path):
    from xl_ameyo.template import write_template

    book = write_template(
        tmp_path / "t.xlsx", rows=[["Asha", "9876543210", None, None, "Pune"]],
        settings={"base_url": sim.url, "cc_list_id": 1, "process_id": 13, "lead_id": 17,
                  "user_id": "john"})
    assert upload(book).exit_code == 0
    sim.wait_for_task(log_dicts(book)[-1]["task_id"])
    assert status(book).exit_code == 0
    ws = openpyxl.load_workbook(book)["Log"]
    last = openpyxl.utils.get_column_letter(len(LOG_COLUMNS))
    for k, name in enumerate(TASK_COLUMNS, len(LOG_COLUMNS) + 1):
        cell = ws.cell(row=1, column=k)
        assert cell.value == name
        assert cell.font.bold
        assert cell.fill.fgColor.rgb == ws[f"{last}1"].fill.fgColor.rgb != "00000000"
        assert ws.column_dimensions[cell.column_letter].width >= len(name)
    assert ws.column_dimensions["A"].width >= len("2026-11-26T14:03:07+05:30")


def test_a_wrong_password_stops_status_with_the_log_unchanged(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    assert upload(book).exit_code == 0
    before = book.read_bytes()
    result = run_cli("status", book, env={"AMEYO_USERNAME": "demo", "AMEYO_PASSWORD": "nope"})
    assert result.exit_code == 1
    assert "401" in one_line_error(result)
    assert "nope" not in result.output
    assert book.read_bytes() == before


def test_status_without_a_log_says_so(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    result = status(book, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tasks"] == []
    assert "No task in the Log" in result.stderr
