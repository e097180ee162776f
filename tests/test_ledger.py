"""ledger.py and booklock.py on their own: the claim is one transaction that two processes
cannot both pass; records complete, become UNKNOWN when their run died, and leave the
"unlogged" list once logged; the schema has a version; a workbook's lock is taken over from a
dead process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from xl_ameyo.booklock import BookBusy, book_lock, lock_path
from xl_ameyo.ledger import (
    INTERRUPTED_MESSAGE,
    AlreadySent,
    Ledger,
    LedgerError,
    ledger_path,
    workbook_key,
)
from xl_ameyo.logrecord import LogRecord

SHA = "ab" * 32


def pending(**kw) -> LogRecord:
    values = dict(sheet="Leads", rows_sent=3, rows_skipped=1, cc_list_id=1, process_id=13,
                  lead_id=17, user_id="john", csv_sha256=SHA, status="UNKNOWN",
                  message=INTERRUPTED_MESSAGE)
    values.update(kw)
    return LogRecord.now(**values)


def test_the_ledger_lives_in_the_data_folder(own_data_dir):
    assert ledger_path() == own_data_dir / "ledger.sqlite3"
    with Ledger() as ledger:
        assert ledger.path == ledger_path()
        version = ledger.db.execute("PRAGMA user_version").fetchone()[0]
        mode = ledger.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert version == 1 and mode == "wal"


def test_a_claim_guards_the_same_rows_whichever_workbook(tmp_path):
    with Ledger() as ledger:
        first = ledger.claim(workbook_key(tmp_path / "a.xlsx"), pending())
        with pytest.raises(AlreadySent) as info:  # still SENDING: refused too
            ledger.claim(workbook_key(tmp_path / "b.xlsx"), pending())
        assert info.value.previous["status"] == "SENDING"
        assert info.value.previous["workbook"] == workbook_key(tmp_path / "a.xlsx")
        ledger.complete(first, pending(status="OK", task_id="9007199254740993",
                                       message="Uploaded"))
        previous = ledger.previous_upload(SHA, 1, 13, 17)
        assert previous["status"] == "OK" and previous["task_id"] == "9007199254740993"
        # other rows or another lead list: free
        assert ledger.previous_upload("cd" * 32, 1, 13, 17) is None
        assert ledger.previous_upload(SHA, 1, 13, 18) is None
        ledger.claim("c.xlsx", pending(lead_id=18))
        # past the guard on purpose
        ledger.claim("b.xlsx", pending(), allow_reupload=True)


def test_a_failure_guards_only_with_a_task_id():
    with Ledger() as ledger:
        claim = ledger.claim("a.xlsx", pending())
        ledger.complete(claim, pending(status="FAILED", message="refused", http_code=401))
        assert ledger.previous_upload(SHA, 1, 13, 17) is None
        claim = ledger.claim("a.xlsx", pending())
        ledger.complete(claim, pending(status="FAILED", task_id="77", http_code=202))
        assert ledger.previous_upload(SHA, 1, 13, 17)["task_id"] == "77"


def test_a_dead_runs_record_becomes_unknown_and_is_logged_once():
    with Ledger() as ledger:
        died = ledger.claim("a.xlsx", pending())
        done = ledger.claim("a.xlsx", pending(csv_sha256="cd" * 32))
        ledger.complete(done, pending(csv_sha256="cd" * 32, status="OK", task_id="5"))
        ledger.claim("other.xlsx", pending(csv_sha256="ef" * 32))
        entries = ledger.unlogged("a.xlsx")
        assert [(e.id, e.state) for e in entries] == [(died, "UNKNOWN"), (done, "OK")]
        assert entries[0].record.status == "UNKNOWN"
        assert entries[0].record.message == INTERRUPTED_MESSAGE
        assert entries[1].record.task_id == "5"
        ledger.mark_logged([e.id for e in entries])
        assert ledger.unlogged("a.xlsx") == []
    with Ledger() as again:  # durable
        assert again.previous_upload(SHA, 1, 13, 17)["status"] == "UNKNOWN"


def test_no_lead_data_in_the_ledger():
    with Ledger() as ledger:
        ledger.claim("a.xlsx", pending())
        columns = [row[1] for row in ledger.db.execute("PRAGMA table_info(uploads)")]
    assert "csv" not in columns and not any("phone" in c for c in columns)


def test_a_newer_schema_or_a_damaged_file_is_one_clear_error():
    with Ledger() as ledger:
        ledger.db.execute("PRAGMA user_version=99")
    with pytest.raises(LedgerError) as info:
        Ledger()
    assert "newer xl-ameyo" in str(info.value) and "Nothing was sent" in str(info.value)
    for suffix in ("", "-wal", "-shm"):
        ledger_path().with_name(ledger_path().name + suffix).unlink(missing_ok=True)
    ledger_path().write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    with pytest.raises(LedgerError) as info:
        Ledger()
    assert "cannot be used" in str(info.value) and "\n" not in str(info.value)


CLAIMER = textwrap.dedent(
    """
    import sys
    from xl_ameyo.ledger import AlreadySent, Ledger
    from xl_ameyo.logrecord import LogRecord
    record = LogRecord.now(rows_sent=3, cc_list_id=1, process_id=13, lead_id=17,
                           csv_sha256="ab" * 32, status="UNKNOWN")
    sys.stdin.readline()  # all start together
    with Ledger() as ledger:
        try:
            ledger.claim(sys.argv[1], record)
        except AlreadySent:
            print("refused")
        else:
            print("claimed")
    """
)


def test_processes_racing_for_the_same_rows_claim_once():
    """Four processes, four workbooks, the same rows: exactly one claim (BEGIN IMMEDIATE)."""
    Ledger().close()  # the schema first, so the race is about the claim only
    procs = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, f"book{i}.xlsx"], text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for i in range(4)
    ]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    said = sorted(proc.communicate(timeout=60)[0].strip() for proc in procs)
    assert said == ["claimed", "refused", "refused", "refused"]
    with Ledger() as ledger:
        count = ledger.db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0]
    assert count == 1


HOLDER = textwrap.dedent(
    """
    import sys, time
    from xl_ameyo.booklock import book_lock
    with book_lock(sys.argv[1]):
        print("HELD", flush=True)
        time.sleep(120)
    """
)


def test_a_workbook_lock_of_a_dead_process_is_taken_over(tmp_path):
    book = tmp_path / "leads.xlsx"
    book.write_bytes(b"PK")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(book)], text=True,
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        with pytest.raises(BookBusy) as info, book_lock(book, wait=0.2):
            pass
        assert str(info.value).startswith("Another upload of leads.xlsx is running")
        assert "Nothing was sent" in str(info.value)
    finally:
        holder.kill()  # SIGKILL: it cannot let go itself
        holder.communicate()
    with book_lock(book, wait=30):
        pass
    # the lock file is in the data folder, not next to the workbook
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads.xlsx"]
    assert lock_path(book).exists()


def test_the_ledger_file_is_sqlite_with_wal(tmp_path):
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        ledger.claim("a.xlsx", pending())
    db = sqlite3.connect(tmp_path / "l.sqlite3")
    try:
        assert db.execute("SELECT state FROM uploads").fetchone() == ("SENDING",)
    finally:
        db.close()
