"""The simulator's state in SQLite: the contact-center tree, contacts, tasks, the request log.

One connection is shared by the web handlers and the task worker; every access holds one
lock, so SQLite writes are serialised and concurrent uploads are safe. Without a file path
the database lives in memory (a temporary database for one run); with one it survives
restarts (``xl-ameyo simulator --db PATH``).
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

#: Ameyo's standard contact fields (the documented header_mapping keys).
STANDARD_FIELDS = (
    "name",
    "phone1",
    "phone2",
    "phone3",
    "phone4",
    "phone5",
    "email",
    "timezone",
    "twitter",
    "facebook",
)

#: Seed contact-center tree: (cc_list_id, name), (process_id, cc_list_id, name),
#: (lead_id, process_id, name). Documented in the README; other engineers code against it.
SEED_CC_LISTS = ((1, "Demo contact center"),)
SEED_PROCESSES = ((13, 1, "Sales"), (14, 1, "Collections"))
SEED_LEAD_LISTS = ((17, 13, "Sales leads A"), (18, 13, "Sales leads B"), (19, 14, "Collections"))

#: Task ids are odd numbers in (2**53, 10**16): 16 digits, and no IEEE double holds them
#: exactly, so a client that passes one through a float visibly corrupts it.
TASK_ID_MIN = 2**53 + 1
TASK_ID_MAX = 10**16 - 1

TASK_STATES = ("QUEUED", "RUNNING", "COMPLETED", "FAILED")
COUNT_COLUMNS = ("rows", "inserted", "updated", "duplicates", "migrated", "rejected", "churned")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS cc_lists (
    cc_list_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS processes (
    process_id INTEGER PRIMARY KEY,
    cc_list_id INTEGER NOT NULL REFERENCES cc_lists (cc_list_id),
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lead_lists (
    lead_id INTEGER PRIMARY KEY,
    process_id INTEGER NOT NULL REFERENCES processes (process_id),
    name TEXT NOT NULL
);
-- Assumption (no public source): phone1 is the unique key of a contact within a process.
CREATE TABLE IF NOT EXISTS contacts (
    contact_id INTEGER PRIMARY KEY AUTOINCREMENT,
    process_id INTEGER NOT NULL,
    lead_id INTEGER NOT NULL,
    {", ".join(f"{f} TEXT" for f in STANDARD_FIELDS)},
    custom TEXT NOT NULL DEFAULT '{{}}',
    dial_state TEXT NOT NULL DEFAULT 'READY',
    attempts INTEGER NOT NULL DEFAULT 0,
    churn_count INTEGER NOT NULL DEFAULT 0,
    last_task_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (process_id, phone1)
);
CREATE INDEX IF NOT EXISTS contacts_by_lead ON contacts (lead_id, contact_id);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL UNIQUE,
    cc_list_id INTEGER NOT NULL,
    process_id INTEGER NOT NULL,
    lead_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    auth_user TEXT,
    update_duplicate INTEGER NOT NULL,
    churn_updated_records INTEGER NOT NULL,
    migrate INTEGER NOT NULL,
    header_mapping TEXT NOT NULL,
    filename TEXT,
    csv TEXT NOT NULL,
    fail INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'QUEUED',
    {", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in COUNT_COLUMNS)},
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS task_rejects (
    task_id INTEGER NOT NULL,
    record INTEGER NOT NULL,
    row_json TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (task_id, record)
);
CREATE TABLE IF NOT EXISTS upload_requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    cc_list_id INTEGER,
    process_id INTEGER,
    lead_id INTEGER,
    fault TEXT,
    headers TEXT NOT NULL,
    auth_user TEXT,
    fields TEXT,
    filename TEXT,
    file_content_type TEXT,
    file_size INTEGER,
    csv TEXT,
    status INTEGER,
    task_id INTEGER,
    request_id TEXT
);
"""


def now_iso() -> str:
    """UTC time stamp with offset, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _flag(value: Any) -> bool:
    return bool(value)


class Store:
    """Thread-safe access to the simulator's SQLite database."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            path or ":memory:", check_same_thread=False, isolation_level=None
        )
        self._conn.row_factory = sqlite3.Row
        self._random = random.SystemRandom()
        with self._lock:
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one write transaction; commit on success, roll back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # --- the contact-center tree -------------------------------------------------------

    def seed(self) -> None:
        """Insert the README's seed tree (idempotent: a kept database is left as it is)."""
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO cc_lists VALUES (?, ?)", SEED_CC_LISTS)
            db.executemany("INSERT OR IGNORE INTO processes VALUES (?, ?, ?)", SEED_PROCESSES)
            db.executemany("INSERT OR IGNORE INTO lead_lists VALUES (?, ?, ?)", SEED_LEAD_LISTS)

    def add_lead_list(
        self,
        cc_list_id: int,
        process_id: int,
        lead_id: int,
        *,
        cc_name: str | None = None,
        process_name: str | None = None,
        lead_name: str | None = None,
    ) -> None:
        """Create a lead list, and its process and contact center when missing."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO cc_lists VALUES (?, ?)",
                (cc_list_id, cc_name or f"Contact center {cc_list_id}"),
            )
            db.execute(
                "INSERT OR IGNORE INTO processes VALUES (?, ?, ?)",
                (process_id, cc_list_id, process_name or f"Process {process_id}"),
            )
            db.execute(
                "INSERT OR REPLACE INTO lead_lists VALUES (?, ?, ?)",
                (lead_id, process_id, lead_name or f"Lead list {lead_id}"),
            )

    def lead_lists(self) -> list[dict]:
        rows = self._query(
            "SELECT l.lead_id, l.name AS lead_name, p.process_id, p.name AS process_name,"
            " c.cc_list_id, c.name AS cc_name FROM lead_lists l"
            " JOIN processes p USING (process_id) JOIN cc_lists c USING (cc_list_id)"
            " ORDER BY l.lead_id"
        )
        return [dict(r) for r in rows]

    def find_missing(
        self, cc_list_id: int | None, process_id: int | None, lead_id: int | None
    ) -> str | None:
        """Which part of the path does not exist: "cc", "process", "lead" or None (all fine).

        A process of another contact center, or a lead list of another process, is missing.
        """
        checks = (
            ("cc", "SELECT 1 FROM cc_lists WHERE cc_list_id = ?", (cc_list_id,)),
            (
                "process",
                "SELECT 1 FROM processes WHERE process_id = ? AND cc_list_id = ?",
                (process_id, cc_list_id),
            ),
            (
                "lead",
                "SELECT 1 FROM lead_lists WHERE lead_id = ? AND process_id = ?",
                (lead_id, process_id),
            ),
        )
        with self._lock:
            for level, sql, params in checks:
                if params[0] is None or not self._conn.execute(sql, params).fetchone():
                    return level
        return None

    # --- reset -----------------------------------------------------------------------

    def reset(self, *, seed: bool) -> None:
        """Forget contacts, tasks and the request log; put the tree back to the seed."""
        with self.transaction() as db:
            for table in (
                "contacts",
                "task_rejects",
                "tasks",
                "upload_requests",
                "lead_lists",
                "processes",
                "cc_lists",
            ):
                db.execute(f"DELETE FROM {table}")
        if seed:
            self.seed()

    # --- the upload request log ------------------------------------------------------

    def log_request(
        self,
        *,
        method: str,
        path: str,
        ids: tuple[int | None, int | None, int | None],
        fault: str | None,
        headers: dict[str, str],
        auth_user: str | None,
    ) -> int:
        """Record an upload POST as it arrives (before its body is read or a fault acts)."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO upload_requests (received_at, method, path, cc_list_id, process_id,"
                " lead_id, fault, headers, auth_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now_iso(), method, path, *ids, fault, json.dumps(headers), auth_user),
            )
            return int(cur.lastrowid or 0)

    def update_request(self, seq: int, **values: Any) -> None:
        """Add what was learnt later about a logged request (its fields, file, answer)."""
        allowed = {
            "fields",
            "filename",
            "file_content_type",
            "file_size",
            "csv",
            "status",
            "task_id",
            "request_id",
        }
        if not values or not set(values) <= allowed:
            raise ValueError(f"cannot update {sorted(set(values) - allowed)}")
        if "fields" in values and values["fields"] is not None:
            values["fields"] = json.dumps(values["fields"])
        assignments = ", ".join(f"{k} = ?" for k in values)
        with self.transaction() as db:
            db.execute(
                f"UPDATE upload_requests SET {assignments} WHERE seq = ?",
                (*values.values(), seq),
            )

    def upload_requests(self) -> list[dict]:
        out = []
        for r in self._query("SELECT * FROM upload_requests ORDER BY seq"):
            d = dict(r)
            d["headers"] = json.loads(d["headers"])
            d["fields"] = json.loads(d["fields"]) if d["fields"] is not None else None
            if d["task_id"] is not None:
                d["task_id"] = str(d["task_id"])
            out.append(d)
        return out

    # --- tasks -----------------------------------------------------------------------

    def create_task(
        self,
        *,
        cc_list_id: int,
        process_id: int,
        lead_id: int,
        user_id: str,
        auth_user: str | None,
        update_duplicate: bool,
        churn_updated_records: bool,
        migrate: bool,
        header_mapping: str,
        filename: str | None,
        csv_text: str,
        fail: bool = False,
    ) -> int:
        """Queue a new task and return its id (new, unique by a database constraint)."""
        while True:
            task_id = self._random.randrange(TASK_ID_MIN, TASK_ID_MAX + 1, 2)
            try:
                with self.transaction() as db:
                    db.execute(
                        "INSERT INTO tasks (task_id, cc_list_id, process_id, lead_id, user_id,"
                        " auth_user, update_duplicate, churn_updated_records, migrate,"
                        " header_mapping, filename, csv, fail, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            task_id,
                            cc_list_id,
                            process_id,
                            lead_id,
                            user_id,
                            auth_user,
                            update_duplicate,
                            churn_updated_records,
                            migrate,
                            header_mapping,
                            filename,
                            csv_text,
                            fail,
                            now_iso(),
                        ),
                    )
                return task_id
            except sqlite3.IntegrityError:  # pragma: no cover - a 1 in 10**14 collision
                continue

    def unfinished_task_ids(self) -> list[int]:
        """Tasks a previous run left QUEUED or RUNNING (their work was rolled back)."""
        rows = self._query(
            "SELECT task_id FROM tasks WHERE state IN ('QUEUED', 'RUNNING') ORDER BY seq"
        )
        return [r["task_id"] for r in rows]

    def task_row(self, task_id: int) -> sqlite3.Row | None:
        rows = self._query("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        return rows[0] if rows else None

    def task(self, task_id: int) -> dict | None:
        row = self.task_row(task_id)
        return task_dict(row) if row is not None else None

    def tasks(self) -> list[dict]:
        return [task_dict(r) for r in self._query("SELECT * FROM tasks ORDER BY seq")]

    def task_rejects(self, task_id: int) -> list[tuple[list[str], str]]:
        rows = self._query(
            "SELECT row_json, reason FROM task_rejects WHERE task_id = ? ORDER BY record",
            (task_id,),
        )
        return [(json.loads(r["row_json"]), r["reason"]) for r in rows]

    # --- contacts --------------------------------------------------------------------

    def contacts(self, lead_id: int) -> list[dict]:
        rows = self._query(
            "SELECT * FROM contacts WHERE lead_id = ? ORDER BY contact_id", (lead_id,)
        )
        return [contact_dict(r) for r in rows]

    def mark_dialed(self, lead_id: int, phone1s: list[str] | None = None) -> int:
        """Play the dialer: contacts of a lead list were called once (state DIALED)."""
        sql = (
            "UPDATE contacts SET dial_state = 'DIALED', attempts = attempts + 1, updated_at = ?"
            " WHERE lead_id = ?"
        )
        params: list[Any] = [now_iso(), lead_id]
        if phone1s is not None:
            sql += f" AND phone1 IN ({', '.join('?' for _ in phone1s)})"
            params += list(phone1s)
        with self.transaction() as db:
            return db.execute(sql, params).rowcount


def task_dict(row: sqlite3.Row) -> dict:
    """A task as the status endpoint and the test API show it."""
    task_id = int(row["task_id"])
    return {
        "task_id": str(task_id),
        "task_id_number": task_id,
        "status": row["state"],
        "cc_list_id": row["cc_list_id"],
        "process_id": row["process_id"],
        "lead_id": row["lead_id"],
        "user_id": row["user_id"],
        "update_duplicate": _flag(row["update_duplicate"]),
        "churn_updated_records": _flag(row["churn_updated_records"]),
        "migrate": _flag(row["migrate"]),
        "filename": row["filename"],
        **{c: row[c] for c in COUNT_COLUMNS},
        "error": row["error"],
        "created_at": row["created_at"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
    }


def contact_dict(row: sqlite3.Row) -> dict:
    """A stored contact, with its custom fields decoded."""
    d = dict(row)
    d["custom"] = json.loads(d["custom"])
    if d["last_task_id"] is not None:
        d["last_task_id"] = str(d["last_task_id"])
    return d
