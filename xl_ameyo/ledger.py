"""The upload ledger (SPEC §5 "Recorded before it is sent"): every upload attempt, recorded
durably *before* its POST, completed by its answer.

Why a ledger beside the Log: the Log lives in the workbook, and whatever ends a run after the
POST started (Ctrl-C, a closed terminal, SIGTERM, a crash, power loss, a Log write that failed)
can leave the Log without the row that guards a re-upload. The ledger is written first, so
the next run of that workbook writes the missing Log row (``UNKNOWN`` unless the outcome is
known) before anything else, and the re-upload guard asks it too, whichever workbook the same
rows came from.

It is one SQLite file per user (:func:`ledger_path`: the user's data folder from
``platformdirs``, or ``$XL_AMEYO_DATA_DIR``), shared by the command line and the add-in. WAL
journal, ``synchronous=FULL`` (a committed claim survives power loss), the schema's version
in ``PRAGMA user_version``. The claim is one ``BEGIN IMMEDIATE`` transaction that looks for
an earlier upload of the same rows and inserts the new record: two processes cannot both
pass it. It holds no lead data: hashes, ids, counts, the workbook's path and the Log row to
come (whose message is the one-line error, never a lead).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from xl_ameyo.errors import WorkbookError
from xl_ameyo.logrecord import LOG_COLUMNS, LogRecord

__all__ = [
    "DATA_DIR_VARIABLE",
    "INTERRUPTED_MESSAGE",
    "AlreadySent",
    "Ledger",
    "LedgerError",
    "data_dir",
    "ledger_path",
    "workbook_key",
]

#: the environment variable that moves the ledger (and the workbook locks) elsewhere
DATA_DIR_VARIABLE = "XL_AMEYO_DATA_DIR"
FILE_NAME = "ledger.sqlite3"
SCHEMA_VERSION = 1
#: the Log message of an attempt whose run ended after its POST started, outcome unknown
INTERRUPTED_MESSAGE = (
    "interrupted after sending: check the lead list in Ameyo before sending again"
)
#: a record's states: SENDING (claimed, POST under way or its run died), then one of the rest
STATES = ("SENDING", "OK", "FAILED", "UNKNOWN")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id          INTEGER PRIMARY KEY,
    workbook    TEXT NOT NULL,
    csv_sha256  TEXT NOT NULL,
    cc_list_id  INTEGER NOT NULL,
    process_id  INTEGER NOT NULL,
    lead_id     INTEGER NOT NULL,
    rows_sent   INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    state       TEXT NOT NULL CHECK (state IN ('SENDING', 'OK', 'FAILED', 'UNKNOWN')),
    task_id     TEXT NOT NULL DEFAULT '',
    http_code   INTEGER,
    log_row     TEXT NOT NULL,
    logged      INTEGER NOT NULL DEFAULT 0,
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_rows ON uploads (csv_sha256, lead_id, process_id, cc_list_id);
CREATE INDEX IF NOT EXISTS uploads_unlogged ON uploads (workbook) WHERE logged = 0;
"""


class LedgerError(WorkbookError):
    """The ledger cannot be opened or written: nothing is sent without it (exit 2)."""

    hint = (
        "Nothing was sent. Make that folder writable, or point XL_AMEYO_DATA_DIR at a "
        "writable folder; a damaged ledger file may be moved aside (README: Troubleshooting)"
    )


class AlreadySent(Exception):
    """The claim found an earlier upload of the same rows to the same lead list."""

    def __init__(self, previous: dict):
        super().__init__("already sent")
        self.previous = previous


def data_dir() -> Path:
    """``$XL_AMEYO_DATA_DIR``, else the user's data folder (platformdirs):
    ``~/.local/share/xl-ameyo``, ``~/Library/Application Support/xl-ameyo``,
    ``%LOCALAPPDATA%\\xl-ameyo``."""
    chosen = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("xl-ameyo", appauthor=False))


def ledger_path() -> Path:
    return data_dir() / FILE_NAME


def workbook_key(book: str | os.PathLike) -> str:
    """How the ledger names a workbook: its real, absolute path (case-folded where the file
    system ignores case); a workbook with no local path (a URL in Excel) as given."""
    text = os.fspath(book)
    if "://" in text:
        return text
    return os.path.normcase(os.path.realpath(text))


@dataclass(frozen=True)
class Entry:
    """One ledger record whose Log row the workbook still lacks."""

    id: int
    state: str
    record: LogRecord


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _record_json(record: LogRecord) -> str:
    return json.dumps(record.as_dict(), ensure_ascii=False)


def _record_of(text: str) -> LogRecord:
    values = json.loads(text)
    return LogRecord(**{k: values[k] for k in LOG_COLUMNS if k in values})


class Ledger:
    """An open ledger; use as a context manager, or :meth:`close`."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else ledger_path()
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("the file is damaged")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"it was made by a newer xl-ameyo (schema {version}); update xl-ameyo"
                )
            if version < SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)  # (executescript would commit first)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.execute("COMMIT")
        except (OSError, sqlite3.Error) as exc:
            db.close()
            raise self._error(exc) from None
        self._db = db

    def _error(self, exc: BaseException) -> LedgerError:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return LedgerError(f"The upload ledger {self.path} cannot be used: {reason}")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise LedgerError(f"The upload ledger {self.path} is closed")
        return self._db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (the write lock taken first): committed at the
        end, rolled back on any exception; SQLite's failures become :class:`LedgerError`."""
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            yield db
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise self._error(exc) from None

    # -- the claim -------------------------------------------------------------------------

    def previous_upload(self, csv_sha256: str, cc_list_id: int, process_id: int,
                        lead_id: int) -> dict | None:
        """The latest record of these rows to this lead list that guards a re-upload (OK,
        UNKNOWN, still SENDING, or any that holds a task id), as Log-like fields."""
        row = self.db.execute(
            "SELECT log_row, state, workbook FROM uploads WHERE csv_sha256 = ? AND "
            "cc_list_id = ? AND process_id = ? AND lead_id = ? AND (state != 'FAILED' OR "
            "task_id != '') ORDER BY id DESC LIMIT 1",
            (csv_sha256.casefold(), int(cc_list_id), int(process_id), int(lead_id)),
        ).fetchone()
        if row is None:
            return None
        found = json.loads(row[0])
        found["status"] = row[1]
        found["workbook"] = row[2]
        return found

    def claim(self, workbook: str, record: LogRecord, *, log_previous: dict | None = None,
              allow_reupload: bool = False) -> int:
        """Record the attempt ``record`` (state SENDING) before its POST, in one transaction
        with the re-upload guard: raises :class:`AlreadySent` (nothing recorded) when
        ``log_previous`` (the workbook's Log found one) or the ledger holds an earlier upload
        of the same rows, unless ``allow_reupload``. The record's id."""
        with self._write() as db:
            if not allow_reupload:
                previous = log_previous or self.previous_upload(
                    record.csv_sha256, record.cc_list_id, record.process_id, record.lead_id
                )
                if previous is not None:
                    raise AlreadySent(previous)
            cursor = db.execute(
                "INSERT INTO uploads (workbook, csv_sha256, cc_list_id, process_id, lead_id, "
                "rows_sent, started_at, state, log_row, pid, host) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'SENDING', ?, ?, ?)",
                (
                    workbook, record.csv_sha256.casefold(), record.cc_list_id,
                    record.process_id, record.lead_id, record.rows_sent, _now(),
                    _record_json(record), os.getpid(), socket.gethostname(),
                ),
            )
            return int(cursor.lastrowid)

    def complete(self, claim: int, record: LogRecord) -> None:
        """The answer (or its absence): state OK / FAILED / UNKNOWN and the Log row to write."""
        state = record.status if record.status in STATES else "FAILED"
        with self._write() as db:
            db.execute(
                "UPDATE uploads SET state = ?, task_id = ?, http_code = ?, log_row = ?, "
                "finished_at = ? WHERE id = ?",
                (state, record.task_id, record.http_code, _record_json(record), _now(), claim),
            )

    # -- the Log rows ----------------------------------------------------------------------

    def unlogged(self, workbook: str) -> list[Entry]:
        """The records of ``workbook`` whose Log row was never written, oldest first. A
        record still SENDING belongs to a run that ended during its POST (the caller holds
        the workbook's lock, so no live run owns it): it becomes UNKNOWN here."""
        with self._write() as db:
            rows = db.execute(
                "SELECT id, state, log_row FROM uploads WHERE workbook = ? AND logged = 0 "
                "ORDER BY id",
                (workbook,),
            ).fetchall()
            entries = []
            for claim, state, text in rows:
                record = _record_of(text)
                if state == "SENDING":
                    record.status = "UNKNOWN"
                    record.message = INTERRUPTED_MESSAGE
                    state = "UNKNOWN"
                    db.execute(
                        "UPDATE uploads SET state = 'UNKNOWN', log_row = ?, finished_at = ? "
                        "WHERE id = ?",
                        (_record_json(record), _now(), claim),
                    )
                entries.append(Entry(claim, state, record))
            return entries

    def mark_logged(self, claims: Sequence[int]) -> None:
        """These records' Log rows are in the workbook now."""
        if not claims:
            return
        with self._write() as db:
            db.executemany("UPDATE uploads SET logged = 1 WHERE id = ?", [(c,) for c in claims])

    def write_unlogged(self, book: str | os.PathLike,
                       write: Callable[[list[LogRecord]], object]) -> list[Entry]:
        """SPEC §5's first step of every run, the command line's and the add-in's: the Log
        rows of ``book``'s earlier runs that its Log lacks (:meth:`unlogged`) go to ``write``
        (the front's Log writer), then they are marked as logged. If ``write`` raises, they
        stay unlogged for the next run. The caller holds the workbook's lock."""
        entries = self.unlogged(workbook_key(book))
        if entries:
            write([entry.record for entry in entries])
            self.mark_logged([entry.id for entry in entries])
        return entries
