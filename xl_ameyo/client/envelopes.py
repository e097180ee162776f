"""Ameyo's answer shapes (``reference/ameyo-api-notes.md``): the envelope, the older error
bodies and other Java servers' ones, read into a task id or a :class:`Complaint`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


def task_id_text(value: object) -> str | None:
    """Ameyo's task id as exact text; None when it is not an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, Decimal):
        try:
            if value.is_finite() and value == value.to_integral_value() and value >= 0:
                return str(int(value))
        except (InvalidOperation, ValueError, OverflowError):
            return None
        return None
    if isinstance(value, str):
        value = value.strip()
        if value and len(value) <= 100 and value.isprintable():
            return value
    return None


def scalar_text(value: object) -> str | None:
    """A server-given scalar (code, message) as text; None for null/empty/structures."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


@dataclass
class Complaint:
    """An error the server stated in its own words."""

    status: int | None = None  # the status the body claims (inner http_code, statusCode)
    code: str | None = None
    message: str | None = None
    description: str | None = None


def complaint_from_error_data(data: dict, status: int | None) -> Complaint:
    return Complaint(
        status=status,
        code=scalar_text(data.get("error_code") or data.get("errorCode") or data.get("code")),
        message=scalar_text(data.get("message") or data.get("error_message")),
        description=scalar_text(data.get("description")),
    )


def legacy_complaint(doc: dict) -> Complaint | None:
    """The older shapes: ``{statusCode, status, errorCode, errorMessage}`` and
    ``{message, code, info, status}``."""
    if "errorCode" in doc or "errorMessage" in doc:
        return Complaint(
            status=int_or_none(doc.get("statusCode")) or int_or_none(doc.get("status")),
            code=scalar_text(doc.get("errorCode")),
            message=scalar_text(doc.get("errorMessage")) or scalar_text(doc.get("status")),
        )
    if "message" in doc and ("code" in doc or "info" in doc):
        return Complaint(
            status=int_or_none(doc.get("status")),
            code=scalar_text(doc.get("code")),
            message=scalar_text(doc.get("message")),
            description=scalar_text(doc.get("info")),
        )
    return None


def generic_complaint(doc: dict) -> Complaint | None:
    """Other Java servers' error bodies, e.g. ``{status, error, message, path}``."""
    message = scalar_text(doc.get("message")) or scalar_text(doc.get("error"))
    if message is None:
        return None
    code = scalar_text(doc.get("error")) if doc.get("message") else None
    return Complaint(
        status=int_or_none(doc.get("status")),
        code=None,
        message=message if code is None else f"{code}: {message}",
    )


def is_error_status(code: int | None) -> bool:
    return code is not None and code >= 400


def read_envelope(doc: dict) -> tuple[str | None, Complaint | None]:
    """(task_id, complaint) from Ameyo's envelope: ``response`` a list (upload success) or an
    object (errors in sibling services); an entry says error by ``error_data`` or its own
    ``http_code``."""
    outer = int_or_none(doc.get("http_code"))
    response = doc.get("response")
    entries = response if isinstance(response, list) else [response]
    entries = [e for e in entries if isinstance(e, dict)]
    task_id = None
    for entry in entries:
        inner = int_or_none(entry.get("http_code"))
        error_data = entry.get("error_data")
        if isinstance(error_data, dict) and error_data:
            status = inner if is_error_status(inner) else outer
            return None, complaint_from_error_data(error_data, status)
        if error_data not in (None, {}, []):
            # an error given as plain text, or some other non-null value
            status = inner if is_error_status(inner) else outer
            return None, Complaint(status=status, message=scalar_text(error_data))
        if is_error_status(inner):
            return None, Complaint(status=inner)
        data = entry.get("data")
        if task_id is None and isinstance(data, dict):
            task_id = task_id_text(data.get("task_id"))
    if is_error_status(outer):
        return None, Complaint(status=outer)
    return task_id, None


def describe(complaint: Complaint) -> str:
    """``CONF-1002: Process not found (details)`` from the server's own words."""
    text = complaint.code or ""
    if complaint.message:
        text = f"{text}: {complaint.message}" if text else complaint.message
    if complaint.description and complaint.description != complaint.message:
        text = f"{text} ({complaint.description})" if text else complaint.description
    return text
