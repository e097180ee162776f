"""Contact-upload tasks: the work Ameyo does after it has answered the POST.

One worker thread takes queued tasks in order. A task's rows are applied in one transaction,
so a task is either fully applied (COMPLETED) or not at all (FAILED, or re-queued when the
simulator stopped half-way and a kept database is opened again).
"""

from __future__ import annotations

import csv
import io
import json
import queue
import re
import sqlite3
import threading
from dataclasses import dataclass, field

from xl_ameyo.simulator.store import STANDARD_FIELDS, Store, now_iso

#: Phone numbers must hold this many digits (field report: PREPROCESSING_INVALID_LENGTH).
PHONE_MIN_DIGITS = 10
PHONE_MAX_DIGITS = 15

#: Reasons a row is rejected; each appears in the error file's ``error_reason`` column.
REASON_COLUMN_COUNT = "INVALID_COLUMN_COUNT"
REASON_EMPTY = "PREPROCESSING_EMPTY_NUMBER"
REASON_CHARACTERS = "PREPROCESSING_INVALID_CHARACTERS"
REASON_LENGTH = "PREPROCESSING_INVALID_LENGTH"

_DIGITS = re.compile(r"[0-9]+")


def phone1_problem(phone1: str) -> str | None:
    """Why phone1 is refused, or None. The number is kept exactly as sent (no trimming)."""
    if phone1 == "":
        return REASON_EMPTY
    if not _DIGITS.fullmatch(phone1):
        return REASON_CHARACTERS
    if not PHONE_MIN_DIGITS <= len(phone1) <= PHONE_MAX_DIGITS:
        return REASON_LENGTH
    return None


#: What deployments that keep "the last 10 digits" store of a valid phone1 (the simulator
#: itself stores the number as sent); tests hold phone_country IN + national to agree with it.
DEPLOYMENT_DIGITS = 10


def deployment_number(phone1: str) -> str:
    """The number such a deployment dials: the last :data:`DEPLOYMENT_DIGITS` digits."""
    return phone1[-DEPLOYMENT_DIGITS:]


@dataclass
class Counts:
    """What a task did with its rows (``rows`` counts every non-blank data record)."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    migrated: int = 0
    rejected: int = 0
    churned: int = 0
    rejects: list[tuple[int, list[str], str]] = field(default_factory=list)


def apply_csv(db: sqlite3.Connection, task: sqlite3.Row) -> Counts:
    """Apply one task's CSV to the contacts of its process (inside the caller's transaction)."""
    mapping: dict[str, str] = json.loads(task["header_mapping"])
    reader = csv.reader(io.StringIO(task["csv"], newline=""))
    header = next(reader, [])
    first_column: dict[str, int] = {}
    for index, name in enumerate(header):
        first_column.setdefault(name, index)
    columns = {f: first_column[h] for f, h in mapping.items() if h != ""}
    process_id, lead_id, task_id = task["process_id"], task["lead_id"], task["task_id"]
    update, churn, migrate = (
        bool(task["update_duplicate"]),
        bool(task["churn_updated_records"]),
        bool(task["migrate"]),
    )
    counts = Counts()
    seen: set[str] = set()
    for record, row in enumerate(reader, start=2):
        if not row:  # a blank line is not a record
            continue
        counts.rows += 1
        if len(row) != len(header):
            counts.rejects.append((record, row, REASON_COLUMN_COUNT))
            continue
        values = {f: row[i] for f, i in columns.items()}
        phone1 = values["phone1"]
        problem = phone1_problem(phone1)
        if problem:
            counts.rejects.append((record, row, problem))
            continue
        if phone1 in seen:  # duplicate within the file: the first row wins
            counts.duplicates += 1
            continue
        seen.add(phone1)
        standard = {f: v for f, v in values.items() if f in STANDARD_FIELDS}
        custom = {f: v for f, v in values.items() if f not in STANDARD_FIELDS}
        now = now_iso()
        existing = db.execute(
            "SELECT contact_id, lead_id, custom FROM contacts WHERE process_id = ? AND phone1 = ?",
            (process_id, phone1),
        ).fetchone()
        if existing is None:
            names = ", ".join(standard)
            marks = ", ".join("?" for _ in standard)
            db.execute(
                f"INSERT INTO contacts (process_id, lead_id, {names}, custom, last_task_id,"
                f" created_at, updated_at) VALUES (?, ?, {marks}, ?, ?, ?, ?)",
                (process_id, lead_id, *standard.values(), json.dumps(custom), task_id, now, now),
            )
            counts.inserted += 1
            continue
        sets: dict[str, object] = {}
        moved = existing["lead_id"] != lead_id and migrate
        if moved:
            sets["lead_id"] = lead_id
            counts.migrated += 1
        if update:
            sets.update(standard)
            sets["custom"] = json.dumps({**json.loads(existing["custom"]), **custom})
            counts.updated += 1
        if not sets:
            counts.duplicates += 1
            continue
        if churn:
            counts.churned += 1
        assignments = ", ".join(f"{k} = ?" for k in sets)
        churn_sql = (
            ", dial_state = 'READY', attempts = 0, churn_count = churn_count + 1" if churn else ""
        )
        db.execute(
            f"UPDATE contacts SET {assignments}{churn_sql}, last_task_id = ?, updated_at = ?"
            " WHERE contact_id = ?",
            (*sets.values(), task_id, now, existing["contact_id"]),
        )
    counts.rejected = len(counts.rejects)
    return counts


class TaskRunner:
    """The one background worker that runs queued tasks in arrival order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        for task_id in self.store.unfinished_task_ids():
            self._queue.put(task_id)
        self._thread = threading.Thread(target=self._work, name="ameyo-sim-tasks", daemon=True)
        self._thread.start()

    def submit(self, task_id: int) -> None:
        self._queue.put(task_id)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the task under way, leave the rest queued (a kept database re-runs them)."""
        if self._thread is None:
            return
        # jump the queue: tasks still QUEUED stay so in the database
        with self._queue.mutex:
            self._queue.queue.clear()
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def _work(self) -> None:
        while True:
            task_id = self._queue.get()
            if task_id is None:
                return
            run_task(self.store, task_id)


def run_task(store: Store, task_id: int) -> None:
    """QUEUED -> RUNNING -> COMPLETED with counts, or FAILED with an error message."""
    with store.transaction() as db:
        found = db.execute(
            "UPDATE tasks SET state = 'RUNNING', started_at = ?"
            " WHERE task_id = ? AND state IN ('QUEUED', 'RUNNING')",
            (now_iso(), task_id),
        ).rowcount
    if not found:  # reset away, or already finished
        return
    try:
        with store.transaction() as db:
            task = db.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
            if task is None or task["state"] != "RUNNING":
                return
            if task["fail"]:
                raise RuntimeError("Contact upload task failed (simulated by the task-fail fault)")
            counts = apply_csv(db, task)
            db.executemany(
                "INSERT INTO task_rejects (task_id, record, row_json, reason) VALUES (?, ?, ?, ?)",
                [(task_id, rec, json.dumps(row), why) for rec, row, why in counts.rejects],
            )
            db.execute(
                "UPDATE tasks SET state = 'COMPLETED', finished_at = ?, rows = ?, inserted = ?,"
                " updated = ?, duplicates = ?, migrated = ?, rejected = ?, churned = ?"
                " WHERE task_id = ?",
                (
                    now_iso(),
                    counts.rows,
                    counts.inserted,
                    counts.updated,
                    counts.duplicates,
                    counts.migrated,
                    counts.rejected,
                    counts.churned,
                    task_id,
                ),
            )
    except Exception as exc:  # the task fails, the simulator goes on
        with store.transaction() as db:
            db.execute(
                "UPDATE tasks SET state = 'FAILED', finished_at = ?, error = ?"
                " WHERE task_id = ? AND state = 'RUNNING'",
                (now_iso(), f"{type(exc).__name__}: {exc}", task_id),
            )
