"""The ribbon's "Check results" (xl_ameyo/excel/results.py) through xlwings' remote engine,
the simulator behind: the Log row gets the task's state and counts, the rejected rows go
to a Rejected sheet, a server without the status endpoint is one message."""

from __future__ import annotations

from tests import test_excel_support as support
from tests.test_excel_support import ScriptedUI, lead_book, replay
from xl_ameyo.excel import results
from xl_ameyo.excel.addin import upload
from xl_ameyo.logrecord import LOG_COLUMNS, TASK_COLUMNS

remote = support.remote  # fixtures
creds = support.creds
no_keyring = support.no_keyring

LEADS = [
    ["Asha Rao", "98765 43210", None, "asha@example.com", "Pune"],
    ["Short Nine", "98765 4321", None, None, "Agra"],  # the server rejects 9 digits
]
COL = {name: i + 1 for i, name in enumerate((*LOG_COLUMNS, *TASK_COLUMNS))}


def _uploaded(sim, remote):
    """A book on the remote engine whose Log holds one upload's row, as the ribbon wrote it."""
    first = lead_book(sim, LEADS)
    assert upload(first, dry_run=None, ui=ScriptedUI(first, ["yes"])).status == "uploaded"
    log = replay(first)["Log"].rows()
    task_id = str(log[1][COL["task_id"] - 1])
    sim.wait_for_task(task_id)
    # the same workbook as Excel would hand it over next time: its Log included
    return lead_book(sim, LEADS, log=log), task_id


def test_check_results_fills_the_log_row_and_the_rejected_sheet(remote, creds, sim):
    book, task_id = _uploaded(sim, remote)
    summary = results.run(book, ui=ScriptedUI(book))
    assert [r.state for r in summary.results] == ["COMPLETED"]
    state = replay(book)
    log = state["Log"]
    assert log.row(1)[len(LOG_COLUMNS):] == list(TASK_COLUMNS)
    row = log.row(2)
    assert row[COL["task_state"] - 1] == "COMPLETED"
    assert (row[COL["task_rows"] - 1], row[COL["inserted"] - 1], row[COL["rejected"] - 1]) == (
        2, 1, 1)
    assert log.formatted_before_written(f"{support.addr(2, COL['checked_at'])}")
    assert state.names[-1] == "Rejected"
    assert state["Rejected"].rows() == [
        ["task_id", "sheet", "sheet_row", "error_code", "reason", "Customer Name", "Mobile",
         "Alternate Phone", "E-mail"],
        [task_id, "Leads", 3, "PREPROCESSING_INVALID_LENGTH",
         "the server takes 10 to 15 digits in phone1", "Short Nine", "987654321", None, None],
    ]
    (alert,) = state.alerts[-1:]
    assert f"Task {task_id}: COMPLETED" in alert["prompt"]
    assert "1 rejected rows are listed in the Rejected sheet" in alert["prompt"]


def test_check_results_on_a_server_without_task_status(remote, creds, sim):
    book, _ = _uploaded(sim, remote)
    sim.hide_task_status(405)
    summary = results.run(book, ui=ScriptedUI(book))
    assert summary.message == "this server does not report task status"
    state = replay(book)
    assert state["Log"].cells == {}  # nothing written
    assert state.alerts[-1]["mode"] == "critical"
