"""Every upload exactly once, whatever ends the run (SPEC §5), with real processes and real
signals against the simulator:

- two uploads of one workbook started together: one POST, one OK row;
- SIGINT, SIGTERM, SIGHUP while the server holds its answer: exit 1 with one line, the Log
  has the UNKNOWN row, and the next plain upload sends nothing (exit 2);
- SIGKILL there (no clean-up at all): the next run writes the UNKNOWN row from the ledger;
- the same leads saved as a second workbook: refused;
- a Log write that failed after a success: the next run writes the OK row first;
- a server trickling its answer: over at timeout_s, exit 1;
- after each of these no file with the leads is left anywhere (the CSV is anonymous; the
  ledger holds hashes, ids and counts only).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_failure_matrix import make_book, read_log
from xl_ameyo.booklock import book_lock
from xl_ameyo.ledger import INTERRUPTED_MESSAGE, Ledger, ledger_path, workbook_key

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

#: what the leads of make_book's rows look like in a CSV or any copy of them
LEAD_BYTES = (b"9876543210", b"asha@example.com", b"Vikram Das")


@pytest.fixture
def run_env(tmp_path, sim):
    """The environment of the upload processes: the simulator's demo user, a temporary
    folder of the test's own (it must stay empty), the test's data folder."""
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("AMEYO_") and "PROXY" not in k.upper()}
    env.update(AMEYO_USERNAME=sim.username, AMEYO_PASSWORD=sim.password, TMPDIR=str(temp),
               PYTHONDONTWRITEBYTECODE="1")
    return env


def start(book: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "xl_ameyo", "upload", str(book), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def run(book: Path, env: dict, *args: str) -> tuple[int, str, str]:
    return finish(start(book, env, *args))


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def wait_until_held(sim, proc: subprocess.Popen) -> None:
    """Until the simulator has the POST and holds its answer (the task exists); not a timing
    assertion: the bound only stops a broken test from hanging."""
    limit = time.monotonic() + 90
    while True:
        requests = sim.upload_requests()
        if requests and requests[-1]["status"] is not None:
            return
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < limit, "the upload never reached the simulator"
        time.sleep(0.05)


def assert_no_leads_left(env: dict, folder: Path, books: list[Path]) -> None:
    """No file but the workbooks holds a lead: the temporary folder is empty, and neither
    the workbooks' folder nor the data folder (ledger, locks) has a copy of a lead."""
    assert list(Path(env["TMPDIR"]).iterdir()) == []
    data = Path(os.environ["XL_AMEYO_DATA_DIR"])
    for path in [*folder.rglob("*"), *data.rglob("*")]:
        if not path.is_file() or path in books or path.is_relative_to(Path(env["TMPDIR"])):
            continue
        content = path.read_bytes()
        for lead in LEAD_BYTES:
            assert lead not in content, (lead, path)


def statuses(book: Path) -> list[str]:
    return [row["status"] for row in read_log(book)]


def test_two_uploads_started_together_send_once(tmp_path, sim, run_env):
    book = make_book(tmp_path / "leads.xlsx", sim.url)
    sim.set_fault(17, "slow", delay=1.0)  # the first one's answer takes a while
    first, second = start(book, run_env), start(book, run_env)
    results = [finish(first), finish(second)]
    assert len(sim.upload_requests()) == 1
    assert sorted(code for code, _, _ in results) == [0, 2], results
    [(_, _, refused)] = [r for r in results if r[0] == 2]
    line = error_line(refused)
    assert "already uploaded" in line or "Another upload of" in line, line
    assert statuses(book).count("OK") == 1
    assert set(statuses(book)) <= {"OK", "FAILED"}
    assert_no_leads_left(run_env, tmp_path, [book])


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_while_the_answer_is_held_leaves_the_unknown_row(tmp_path, sim, run_env, sig):
    book = make_book(tmp_path / "leads.xlsx", sim.url)
    sim.set_fault(17, "slow", delay=120)
    proc = start(book, run_env)
    wait_until_held(sim, proc)
    proc.send_signal(getattr(signal, sig))
    code, _out, err = finish(proc)
    assert code == 1, err
    line = error_line(err)
    assert f"Interrupted by {sig} after the upload was sent" in line
    assert "check the lead list in Ameyo before sending again" in line
    [row] = read_log(book)
    assert row["status"] == "UNKNOWN" and row["message"] == line.removeprefix("error: ")
    assert row["rows_sent"] == 3 and row["csv_sha256"]

    sim.clear_faults()
    code, _out, err = run(book, run_env)
    assert code == 2, err
    assert "already uploaded" in error_line(err)
    assert len(sim.upload_requests()) == 1  # nothing sent the second time
    assert statuses(book) == ["UNKNOWN", "FAILED"]
    assert_no_leads_left(run_env, tmp_path, [book])


def test_a_killed_run_gets_its_unknown_row_from_the_ledger(tmp_path, sim, run_env):
    book = make_book(tmp_path / "leads.xlsx", sim.url)
    sim.set_fault(17, "slow", delay=120)
    proc = start(book, run_env)
    wait_until_held(sim, proc)
    proc.kill()  # SIGKILL: no clean-up of any kind
    finish(proc)
    assert read_log(book) == []

    sim.clear_faults()
    code, out, err = run(book, run_env)
    assert code == 2, err
    assert "1 row of an earlier run written from the upload ledger (UNKNOWN)" in out
    assert "already uploaded" in error_line(err)
    assert len(sim.upload_requests()) == 1
    unknown, refused = read_log(book)
    assert unknown["status"] == "UNKNOWN" and unknown["message"] == INTERRUPTED_MESSAGE
    assert unknown["rows_sent"] == 3 and unknown["cc_list_id"] == 1
    assert refused["status"] == "FAILED" and refused["csv_sha256"] == unknown["csv_sha256"]
    # written once: a third run adds only its own refusal
    assert run(book, run_env)[0] == 2
    assert statuses(book) == ["UNKNOWN", "FAILED", "FAILED"]
    assert_no_leads_left(run_env, tmp_path, [book])


def test_the_same_leads_from_another_workbook_are_refused(tmp_path, sim, run_env):
    first = make_book(tmp_path / "monday.xlsx", sim.url)
    second = make_book(tmp_path / "monday-copy.xlsx", sim.url)
    assert run(first, run_env)[0] == 0
    code, _out, err = run(second, run_env)
    assert code == 2, err
    line = error_line(err)
    assert "already uploaded" in line and "from monday.xlsx" in line
    assert "--allow-reupload" in line
    assert len(sim.upload_requests()) == 1
    assert statuses(second) == ["FAILED"]
    assert run(second, run_env, "--allow-reupload")[0] == 0  # the one way past the guard
    assert len(sim.upload_requests()) == 2
    assert_no_leads_left(run_env, tmp_path, [first, second])


def test_a_failed_log_write_is_repaired_by_the_next_run(tmp_path, sim, run_env):
    book = make_book(tmp_path / "leads.xlsx", sim.url)
    sim.set_fault(17, "slow", delay=2, times=1)
    proc = start(book, run_env)
    wait_until_held(sim, proc)
    excel_lock = tmp_path / f"~${book.name}"  # opened in Excel meanwhile
    excel_lock.write_bytes(b"")
    code, out, err = finish(proc)
    assert code == 0, err
    assert "the Log row could not be written" in err
    assert "the next upload of this workbook writes its Log row first" in err
    assert read_log(book) == []
    excel_lock.unlink()

    code, out, err = run(book, run_env)
    assert code == 2, err
    assert "1 row of an earlier run written from the upload ledger (OK)" in out
    ok, refused = read_log(book)
    assert ok["status"] == "OK"
    assert ok["task_id"] == str(sim.upload_requests()[0]["task_id"])
    assert refused["status"] == "FAILED" and ok["task_id"] in refused["message"]
    assert len(sim.upload_requests()) == 1
    assert_no_leads_left(run_env, tmp_path, [book])


def test_a_trickled_answer_ends_at_timeout_s(tmp_path, sim, run_env):
    """A byte every 2 s never trips a per-read timeout of 3 s; the whole answer (about 150
    bytes) would take minutes. The process is given two minutes before the test fails."""
    book = make_book(tmp_path / "leads.xlsx", sim.url, timeout_s=3)
    sim.set_fault(17, "trickle")
    code, _out, err = run(book, run_env)
    assert code == 1, err
    line = error_line(err)
    assert "no answer came within 3 s" in line and "may have reached the server" in line
    [row] = read_log(book)
    assert row["status"] == "FAILED" and row["message"] == line.removeprefix("error: ")
    assert len(sim.upload_requests()) == 1
    assert_no_leads_left(run_env, tmp_path, [book])


def test_a_run_of_a_workbook_in_use_waits_then_stops(tmp_path, sim, run_env):
    book = make_book(tmp_path / "leads.xlsx", sim.url)
    with book_lock(book):  # another run (here: this process) holds the workbook
        code, _out, err = run(book, run_env)
    assert code == 2, err
    assert f"Another upload of {book} is running" in error_line(err)
    assert sim.upload_requests() == [] and read_log(book) == []
    # the holder let go (or died: the system frees its lock): the next run goes ahead
    assert run(book, run_env)[0] == 0


@pytest.mark.parametrize("damage", ["not a database", "a folder that is a file"])
def test_a_ledger_that_cannot_be_opened_stops_the_upload(tmp_path, sim, run_env, damage):
    book = make_book(tmp_path / "leads.xlsx", sim.url)
    if damage == "not a database":
        ledger_path().parent.mkdir(parents=True, exist_ok=True)
        ledger_path().write_bytes(b"this is not SQLite " * 100)
    else:
        data = tmp_path / "data-is-a-file"
        data.write_text("")
        run_env = {**run_env, "XL_AMEYO_DATA_DIR": str(data)}
    code, _out, err = run(book, run_env)
    assert code == 2, err
    line = error_line(err)
    assert "cannot be used" in line or "cannot be made" in line
    assert "Nothing was sent" in line and "XL_AMEYO_DATA_DIR" in line
    assert sim.upload_requests() == []


def run_unread(book: Path, env: dict, *args: str) -> int:
    """A run whose stdout and stderr nobody reads any more (a closed terminal, a pipe whose
    reader is gone): every line it prints fails with EPIPE. Its exit status."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "xl_ameyo", "upload", str(book), *args],
                                stdout=writer, stderr=writer, env=env)
    finally:
        os.close(writer)
    return proc.wait(timeout=120)


def test_lines_nobody_can_read_change_neither_the_exit_status_nor_the_log(
    tmp_path, sim, run_env
):
    book = make_book(tmp_path / "leads.xlsx", sim.url)
    assert run_unread(book, run_env) == 0
    assert statuses(book) == ["OK"]
    assert run_unread(book, run_env) == 2  # the same rows again: refused, and logged
    assert statuses(book) == ["OK", "FAILED"]
    assert run_unread(tmp_path / "missing.xlsx", run_env) == 2
    assert len(sim.upload_requests()) == 1
    with Ledger() as ledger:
        assert ledger.unlogged(workbook_key(book)) == []
