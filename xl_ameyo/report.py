"""What ``--json`` prints (SPEC §4): one JSON object per run of ``upload`` or ``status``, for
schedulers. Pure: plain data in, a JSON-ready dict out; the schema is
``docs/report.schema.json`` (tests validate real output against it).

Every report has ``command``, ``book``, ``ok`` (exit status 0), ``exit_code`` and ``error``
(the one error line, or null); ``upload`` adds the sheet's counts, the invalid rows and one
entry per upload attempt (the Log rows it wrote); ``status`` adds one entry per task asked
about and the rows the server rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SCHEMA_VERSION", "base_report", "invalid_rows", "upload_attempts"]

#: bumped when a field changes meaning or goes away (new fields do not bump it)
SCHEMA_VERSION = 1


def base_report(command: str, book: str) -> dict[str, Any]:
    """The fields every report has, for a run that has not failed (yet)."""
    return {"schema_version": SCHEMA_VERSION, "command": command, "book": book, "ok": True,
            "exit_code": 0, "error": None, "warnings": []}


def set_error(report: dict[str, Any], message: str, exit_code: int) -> dict[str, Any]:
    """Mark ``report`` failed with the one error line and the exit status."""
    report.update(ok=exit_code == 0, exit_code=exit_code, error=message)
    return report


def invalid_rows(invalid: Sequence[Any]) -> list[dict[str, Any]]:
    """The checks' invalid rows (``checks.InvalidRow``) as JSON objects."""
    return [{"row": bad.row, "cell": bad.cell, "column": bad.column, "value": bad.value,
             "reason": bad.reason} for bad in invalid]


def upload_attempts(records: Sequence[Any]) -> list[dict[str, Any]]:
    """The Log records of a run (``logrecord.LogRecord``) as JSON objects."""
    out = []
    for rec in records:
        out.append({
            "status": rec.status,
            "task_id": rec.task_id or None,
            "rows_sent": rec.rows_sent,
            "rows_skipped": rec.rows_skipped,
            "http_code": rec.http_code,
            "request_id": rec.request_id or None,
            "csv_sha256": rec.csv_sha256 or None,
            "message": rec.message,
            "timestamp": rec.timestamp,
        })
    return out
