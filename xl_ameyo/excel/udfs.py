"""Worksheet functions (``=AMEYO_...``) that help prepare a sheet, as xlwings UDFs.

They use the same core as the upload, so what they show is what will be sent. Each is a plain
Python function too (the ``@xw.func``/``@xw.arg`` decorators only attach metadata; on systems
without Excel they do nothing), callable and tested as such.

| function | returns |
|---|---|
| ``AMEYO_PHONE(value)`` | the phone number as it will be sent (digits), ``""`` for an empty cell |
| ``AMEYO_ROW_OK(row, headers, mapping)`` | ``"OK"`` or why the row would be skipped |
| ``AMEYO_HEADER_MAPPING(mapping, [headers])`` | the compact JSON sent as ``header_mapping`` |
| ``AMEYO_ENDPOINT(base_url, cc_list_id, process_id, lead_id)`` | the upload URL |
| ``AMEYO_TASK_STATUS(task_id, settings_or_base_url, ...)`` | the task's state on the server |

*Errors.* xlwings' desktop UDFs cannot return an Excel error value that carries a reason (an
exception only shows its text in the cell), so a problem is returned as **text starting with
``#N/A:``** followed by the reason (``#N/A: phone1: has 5 digits, needs 7 to 15``). Test for it
with ``=LEFT(A2, 4) = "#N/A"``. UDFs run on Windows only (an xlwings limitation): import them
with the xlwings add-in's "Import Functions" and ``UDF Modules`` set to
``xl_ameyo.excel.udfs`` (docs/excel.md).

*Ranges.* ``mapping`` is the Mapping sheet's two columns (``Mapping!A1:B20``, with or without
its header row ``Ameyo field``/``Sheet column``); ``headers`` the data sheet's row 1; ``row`` a
data row across the same columns as ``headers``.

*Task status.* ``AMEYO_TASK_STATUS`` asks the server (``GET .../contact-upload-tasks/{id}``,
which the simulator offers). Answers are cached in this Python process: a final state
(``COMPLETED``, ``FAILED``) for good, any other state and any error for
:data:`STATUS_TTL_S` seconds, so recalculating a sheet does not query the server again. The task
id must be **text** (as the Log sheet stores it): a number has already lost digits in Excel
(16+ digits), so a number is refused with a message saying so.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import xlwings as xw

from xl_ameyo.checks import check_rows
from xl_ameyo.client import AmeyoClient
from xl_ameyo.credentials import resolve_password, resolve_username
from xl_ameyo.errors import XlAmeyoError
from xl_ameyo.excel.source import core_rows, core_value
from xl_ameyo.mapping import resolve_mapping
from xl_ameyo.pipeline import tls_verify
from xl_ameyo.settings import Settings, parse_settings
from xl_ameyo.values import CellError, format_value, normalise_phone, short

__all__ = [
    "AMEYO_ENDPOINT",
    "AMEYO_HEADER_MAPPING",
    "AMEYO_PHONE",
    "AMEYO_ROW_OK",
    "AMEYO_TASK_STATUS",
    "STATUS_TTL_S",
    "clear_status_cache",
]

ERROR_PREFIX = "#N/A: "
#: how long a task state that may still change is reused (seconds)
STATUS_TTL_S = 30.0
#: how long a status query may wait for the server (seconds): Excel waits for a UDF
STATUS_TIMEOUT_S = 15.0
FINAL_STATES = frozenset({"COMPLETED", "FAILED"})
_MAPPING_HEADERS = ("ameyo field", "field")


def _error(reason: str) -> str:
    return ERROR_PREFIX + " ".join(str(reason).split())


def _problem(exc: XlAmeyoError) -> str:
    """An error's message and advice, without the Settings cell it would name for a sheet."""
    text = exc.message
    if exc.hint:
        text = f"{text.rstrip('.')}. {exc.hint}"
    return _error(text)


def _rows(value) -> list[list]:
    """A range argument (scalar, 1-D or 2-D) -> rows of core values."""
    if value is None:
        return []
    return core_rows(value if isinstance(value, list) else [[value]])


def _flat(value) -> list:
    """A one-row (or one-column) range -> its cells as core values."""
    rows = _rows(value)
    if len(rows) == 1:
        return rows[0]
    if rows and all(len(r) == 1 for r in rows):
        return [r[0] for r in rows]
    return rows[0] if rows else []


_HEADERS = "\x00headers"


def _resolve(mapping, headers):
    """``resolve_mapping`` for a Mapping range and a headers range; its messages speak of "the
    headers" instead of a sheet."""
    try:
        return resolve_mapping(_mapping_rows(mapping), headers, data_sheet=_HEADERS)
    except XlAmeyoError as exc:
        exc.message = exc.message.replace(f"sheet '{_HEADERS}'", "the headers")
        exc.hint = exc.hint.replace(f"sheet '{_HEADERS}'", "the headers")
        raise


def _mapping_rows(mapping) -> list[list]:
    """The Mapping range as ``resolve_mapping`` wants it: header row first."""
    rows = [r for r in _rows(mapping) if any(v is not None for v in r)]
    first = rows[0][0] if rows and rows[0] else None
    if isinstance(first, str) and first.strip().casefold() in _MAPPING_HEADERS:
        return rows
    return [["Ameyo field", "Sheet column"], *rows]


# --- AMEYO_PHONE -----------------------------------------------------------------------------


@xw.func
@xw.arg("value", err_to_str=True)
def AMEYO_PHONE(value) -> str:
    """The phone number as it will be sent: digits only (spaces, dashes, dots, brackets and a
    leading + removed), 7 to 15 of them; "" for an empty cell; else "#N/A: reason"."""
    digits, reason = normalise_phone(core_value(value))
    if reason is not None:
        return _error(reason)
    return digits or ""


# --- AMEYO_HEADER_MAPPING --------------------------------------------------------------------


def _header_mapping_without_headers(rows: list[list]) -> dict[str, str]:
    """The mapping as typed (trimmed), for when the data headers are not given: what is sent
    when the sheet's headers match exactly."""
    headers = []
    for row in rows[1:]:
        b = row[1] if len(row) > 1 else None
        if b is not None and not isinstance(b, CellError):
            text = format_value(b).strip()
            if text and text not in headers:
                headers.append(text)
    return resolve_mapping(rows, headers, data_sheet=_HEADERS).header_mapping


@xw.func
@xw.arg("mapping", ndim=2, err_to_str=True)
@xw.arg("headers", ndim=2, err_to_str=True)
def AMEYO_HEADER_MAPPING(mapping, headers=None) -> str:
    """The exact compact JSON sent as ``header_mapping``: the ten standard fields (``""`` when
    unmapped), then the custom fields. With ``headers`` (the data sheet's row 1) the values are
    the matched headers, exactly as the upload resolves them; without, the Mapping's text."""
    try:
        rows = _mapping_rows(mapping)
        if headers is None:
            header_mapping = _header_mapping_without_headers(rows)
        else:
            header_mapping = _resolve(mapping, _flat(headers)).header_mapping
    except XlAmeyoError as exc:
        return _problem(exc)
    return json.dumps(header_mapping, separators=(",", ":"), ensure_ascii=False)


# --- AMEYO_ROW_OK ----------------------------------------------------------------------------


@xw.func
@xw.arg("row", ndim=2, err_to_str=True)
@xw.arg("headers", ndim=2, err_to_str=True)
@xw.arg("mapping", ndim=2, err_to_str=True)
def AMEYO_ROW_OK(row, headers, mapping) -> str:
    """"OK" when the row would be sent, else why not: an Excel error in a mapped cell, phone1
    empty or not a phone number, another phone field not a phone number. (Duplicates of an
    earlier row are found only at upload time, across the whole sheet.)"""
    try:
        resolved = _resolve(mapping, _flat(headers))
    except XlAmeyoError as exc:
        return _problem(exc)
    cells = _flat(row)
    checked = check_rows([cells], resolved, first_row=1)
    if checked.invalid:
        bad = checked.invalid[0]
        reason = bad.reason
        if bad.column and f"'{bad.column}'" not in reason:
            reason = f"{reason} (column '{bad.column}')"
        return reason
    if not checked.rows_read:
        return "empty row: skipped"
    return "OK"


# --- AMEYO_ENDPOINT --------------------------------------------------------------------------


def _target(base_url, cc_list_id, process_id, lead_id) -> Settings:
    """Checked like the Settings sheet: https (http for this machine only), positive ids."""
    rows = [
        ["base_url", core_value(base_url)],
        ["cc_list_id", core_value(cc_list_id)],
        ["process_id", core_value(process_id)],
        ["lead_id", core_value(lead_id)],
        ["user_id", "-"],
    ]
    return parse_settings(rows, sheet="arguments")


def _upload_url(settings: Settings) -> str:
    return (
        f"{settings.base_url}/v1/cc-list/{settings.cc_list_id}/process-list/"
        f"{settings.process_id}/leads/{settings.lead_id}/contact-upload-tasks"
    )


@xw.func
def AMEYO_ENDPOINT(base_url, cc_list_id, process_id, lead_id) -> str:
    """The URL the leads are POSTed to."""
    try:
        return _upload_url(_target(base_url, cc_list_id, process_id, lead_id))
    except XlAmeyoError as exc:
        return _problem(exc)


# --- AMEYO_TASK_STATUS -----------------------------------------------------------------------

#: the clock of the cache (tests replace it)
_clock: Callable[[], float] = time.monotonic
_cache: dict[tuple, tuple[float | None, str]] = {}
_cache_lock = threading.Lock()


def clear_status_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _task_id_text(task_id) -> str:
    """The task id as digits, or XlAmeyoError: numbers are refused, Excel lost digits."""
    value = core_value(task_id)
    if isinstance(value, (int, float)):  # bool is an int too
        raise XlAmeyoError(
            f"the task id {short(value)} is a number: Excel keeps only 15 digits, so a "
            "16-digit task id is already wrong",
            hint="Store task ids as text (format the cell as Text before typing, or refer to the "
            "Log sheet's task_id cell)",
        )
    if isinstance(value, CellError):
        raise XlAmeyoError(f"the task id cell holds the Excel error {value.code}")
    text = "" if value is None else format_value(value).strip()
    if not text:
        raise XlAmeyoError("no task id")
    if not (text.isascii() and text.isdigit()):
        raise XlAmeyoError(f"the task id '{short(text)}' is not a number in text form")
    return text


def _status_target(settings_or_base_url, cc_list_id, process_id, lead_id) -> Settings:
    rows = _rows(settings_or_base_url)
    single = rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else None
    if rows and single is None:
        # the Settings sheet's rows (key, value[, notes])
        return parse_settings(rows, sheet="Settings")
    if cc_list_id is None or process_id is None or lead_id is None:
        raise XlAmeyoError(
            "cc_list_id, process_id and lead_id are needed with a base_url",
            hint="Pass them after the base_url, or pass the Settings sheet's range instead",
        )
    return _target(single, cc_list_id, process_id, lead_id)


def _describe(task: dict, detail: bool) -> str:
    status = str(task.get("status") or "UNKNOWN")
    if not detail:
        return status
    counts = [f"{name} {task[name]}" for name in
              ("rows", "inserted", "updated", "duplicates", "migrated", "rejected", "churned")
              if task.get(name) is not None]
    text = status + (f" ({', '.join(counts)})" if counts else "")
    if task.get("error"):
        text += f": {task['error']}"
    return text


def _query(settings: Settings, task_id: str, detail: bool) -> tuple[str, bool]:
    """(what to show, final?) from the server."""
    username = resolve_username(settings.username)
    password = resolve_password(settings.base_url, username)
    client = AmeyoClient(
        settings.base_url,
        username,
        password,
        verify=tls_verify(settings),
        timeout=min(settings.timeout_s, STATUS_TIMEOUT_S),
        origin=settings.origin,
    )
    task = client.get_task(settings.cc_list_id, settings.process_id, settings.lead_id, task_id)
    status = str(task.get("status") or "").upper()
    return _describe(task, detail), status in FINAL_STATES


@xw.func(async_mode="threading")
@xw.arg("task_id", err_to_str=True)
@xw.arg("settings_or_base_url", ndim=2, err_to_str=True)
def AMEYO_TASK_STATUS(
    task_id,
    settings_or_base_url,
    cc_list_id=None,
    process_id=None,
    lead_id=None,
    detail=False,
) -> str:
    """The upload task's state on the server: ``QUEUED``, ``RUNNING``, ``COMPLETED`` or
    ``FAILED`` (with ``detail`` TRUE: and its counts). ``settings_or_base_url`` is the Settings
    sheet's range (``Settings!A1:B20``: server, ids and username from there) or a base_url,
    then followed by the three ids. Cached (see the module doc)."""
    try:
        task = _task_id_text(task_id)
        settings = _status_target(settings_or_base_url, cc_list_id, process_id, lead_id)
    except XlAmeyoError as exc:
        return _problem(exc)
    detail = bool(core_value(detail))
    key = (settings.base_url, settings.username, settings.cc_list_id, settings.process_id,
           settings.lead_id, task, detail)
    now = _clock()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and (hit[0] is None or now < hit[0]):
            return hit[1]
    try:
        shown, final = _query(settings, task, detail)
    except XlAmeyoError as exc:
        shown, final = _problem(exc), False
    with _cache_lock:
        _cache[key] = (None if final else now + STATUS_TTL_S, shown)
    return shown

