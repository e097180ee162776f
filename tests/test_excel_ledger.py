"""The add-in and ``xl-ameyo upload`` share the workbook's lock and the upload ledger (SPEC §5),
with real processes: the command line and a click (a second Python, as RunPython on macOS
starts one) against the simulator, the click on xlwings' remote engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import test_excel_support as support
from tests.test_exactly_once import error_line, finish, run, run_env, start, wait_until_held
from tests.test_excel_support import ScriptedUI, lead_book, replay
from tests.test_failure_matrix import make_book
from xl_ameyo.excel.addin import upload
from xl_ameyo.ledger import INTERRUPTED_MESSAGE, Ledger, workbook_key
from xl_ameyo.logrecord import LOG_COLUMNS

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

remote = support.remote  # fixtures
creds = support.creds
no_keyring = support.no_keyring
run_env = run_env

LEADS = [["Asha Rao", "98765 43210", None, "asha@example.com", "Pune"],
         ["Ravi", "9123456780", None, None, "Delhi"]]
ROOT = Path(__file__).resolve().parents[1]
#: a click in a Python of its own: the book, the simulator's URL, the answers to its questions
CLICK = """
import os, sys, types
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
import xlwings as xw
from xlwings.pro import _xlremote
xw.engines.add(xw.main.Engine(impl=_xlremote.engine))
from tests.test_excel_ledger import LEADS
from tests.test_excel_support import ScriptedUI, lead_book
from xl_ameyo.excel.addin import upload
book = lead_book(types.SimpleNamespace(url=sys.argv[2]), LEADS, name=sys.argv[1])
print(upload(book, ui=ScriptedUI(book, ["ok"])).status, flush=True)
"""


def log_entry(state, row: int) -> dict:
    values = state["Log"].row(row)
    return {name: (values[i] if i < len(values) else None) for i, name in enumerate(LOG_COLUMNS)}


def test_a_click_while_xl_ameyo_upload_runs_starts_nothing(tmp_path, remote, creds, sim, run_env):
    path = make_book(tmp_path / "leads.xlsx", sim.url)
    sim.set_fault(17, "slow", delay=120)
    proc = start(path, run_env)
    try:
        wait_until_held(sim, proc)
        book = lead_book(sim, LEADS, name=str(path))  # the same file, open in Excel
        result = upload(book, ui=ScriptedUI(book, []), dry_run=None)  # no question asked
        assert result.status == "busy", result.message
        [alert] = replay(book).alerts
        assert alert["prompt"].startswith("An upload of leads.xlsx is already running")
        assert "click again" in alert["prompt"]
        assert len(sim.upload_requests()) == 1
    finally:
        proc.kill()
        finish(proc)


def test_xl_ameyo_upload_while_a_click_runs_stops(tmp_path, remote, creds, sim, run_env):
    path = make_book(tmp_path / "leads.xlsx", sim.url)
    book = lead_book(sim, LEADS, name=str(path))
    seen = []

    class CommandMeanwhile(ScriptedUI):
        def ask(self, text, **kwargs):  # the click waits for its answer, holding the lock
            seen.append(run(path, run_env))
            return super().ask(text, **kwargs)

    assert upload(book, ui=CommandMeanwhile(book, ["cancel"])).status == "cancelled"
    [(code, _out, err)] = seen
    assert code == 2, err
    assert f"Another upload of {path} is running" in error_line(err)
    assert sim.upload_requests() == []


def test_a_killed_click_gets_its_unknown_row_first_and_a_resend_is_asked(
    tmp_path, remote, creds, sim
):
    name = str(tmp_path / "leads.xlsx")
    sim.set_fault(17, "slow", delay=120)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CLICK, name, sim.url], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until_held(sim, proc)
    proc.kill()  # Excel closed, the machine slept, ...: no clean-up of any kind
    proc.communicate(timeout=60)
    with Ledger() as ledger:  # recorded before it was sent
        [(state, logged)] = ledger.db.execute(
            "SELECT state, logged FROM uploads WHERE workbook = ?", (workbook_key(name),)
        ).fetchall()
    assert (state, logged) == ("SENDING", 0)

    sim.clear_faults()
    book = lead_book(sim, LEADS, name=name)
    ui = ScriptedUI(book, ["ok", "cancel"])
    result = upload(book, ui=ui)
    assert result.status == "failed"
    assert len(sim.upload_requests()) == 1  # nothing sent again
    actions = book.json()["actions"]
    assert (actions[0]["func"], actions[0]["args"][1]) == ("addSheet", "Log")
    first_alert = next(i for i, a in enumerate(actions) if a["func"] == "alert")
    first_value = next(i for i, a in enumerate(actions) if a["func"] == "setValues")
    assert first_value < first_alert  # the Log row before any question
    assert "already uploaded" in ui.questions[1] and "UNKNOWN" in ui.questions[1]
    state = replay(book)
    unknown, refused = log_entry(state, 2), log_entry(state, 3)
    assert unknown["status"] == "UNKNOWN" and unknown["message"] == INTERRUPTED_MESSAGE
    assert unknown["rows_sent"] == 2 and unknown["csv_sha256"]
    assert refused["status"] == "FAILED" and "re-upload was not confirmed" in refused["message"]
    assert refused["csv_sha256"] == unknown["csv_sha256"]
    assert "1 Log row of an earlier run written from the upload ledger (UNKNOWN)" in (
        state.alerts[-1]["prompt"])

    # written once: the next click adds only its own row
    again = lead_book(sim, LEADS, name=name, log=state["Log"].rows())
    upload(again, ui=ScriptedUI(again, ["ok", "cancel"]))
    later = replay(again)
    assert {row for row, _col in later["Log"].cells} == {4}
    assert log_entry(later, 4)["status"] == "FAILED"


def test_a_click_records_its_upload_and_marks_it_logged(remote, creds, sim):
    book = lead_book(sim, LEADS)
    assert upload(book, ui=ScriptedUI(book, ["ok"])).status == "uploaded"
    with Ledger() as ledger:
        rows = ledger.db.execute("SELECT workbook, state, task_id, logged FROM uploads").fetchall()
    task = str(sim.upload_requests()[0]["task_id"])
    assert rows == [(workbook_key(book.fullname), "OK", task, 1)]
