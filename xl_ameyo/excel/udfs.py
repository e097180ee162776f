"""Worksheet functions (``=AMEYO_...``) that help prepare a sheet, as xlwings UDFs.

They use the same core as the upload, so what they show is what will be sent. Each is a plain
Python function too (the ``@xw.func``/``@xw.arg`` decorators only attach metadata; on systems
without Excel they do nothing), callable and tested as such.

| function | returns |
|---|---|
| ``AMEYO_PHONE(value, [settings])`` | the phone as it will be sent (digits), ``""`` if empty |
| ``AMEYO_ROW_OK(row, headers, mapping, [settings])`` | ``"OK"`` or why the row is skipped |
| ``AMEYO_HEADER_MAPPING(mapping, [headers])`` | the compact JSON sent as ``header_mapping`` |
| ``AMEYO_ENDPOINT(base_url, cc_list_id, process_id, lead_id)`` | the upload URL |
| ``AMEYO_TASK_STATUS(task_id, settings_or_base_url, ...)`` | the task's state on the server |

*Errors.* xlwings' desktop UDFs cannot return an Excel error value that carries a reason (an
exception only shows its text in the cell), so a problem is returned as **text starting with
``#N/A:``** followed by the sheet cell to fix, when there is one, and the reason
(``#N/A: Leads!B7: phone1: has 5 digits, needs 7 to 15``). Test for it with
``=LEFT(A2, 4) = "#N/A"``. UDFs run on Windows only (an xlwings limitation); the add-in
declares them (its ``xlwings_udfs`` module), nothing needs importing.

*Ranges.* ``mapping`` is the Mapping sheet's two columns (``Mapping!A1:B20``, with or without
its header row ``Ameyo field``/``Sheet column``); ``headers`` the data sheet's row 1; ``row`` one
or more data rows across the same columns as ``headers`` (several rows: one answer per row, a
column that Excel 365 spills). ``settings`` the Settings sheet's columns A:B (or A:C). The
arguments are read with :class:`~xl_ameyo.excel.ranges.Located`, so messages name the cells on
the sheet, wherever the ranges start. An argument that must be one cell says so when given a
range of several.

*Task status.* ``AMEYO_TASK_STATUS`` asks the server (``GET .../contact-upload-tasks/{id}``,
which the simulator offers). Answers are cached in this Python process: a final state
(``COMPLETED``, ``FAILED``) for good, any other state and any error for
:data:`STATUS_TTL_S` seconds, so recalculating a sheet does not query the server again. The task
id must be **text** (as the Log sheet stores it): a number has already lost digits in Excel
(16+ digits), so a number is refused with a message saying so.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable

import xlwings as xw

from xl_ameyo.client import AmeyoClient
from xl_ameyo.columns import CellError
from xl_ameyo.connection import tls_verify
from xl_ameyo.credentials import resolve_password, resolve_username
from xl_ameyo.errors import XlAmeyoError
from xl_ameyo.excel.ranges import Located, column_number, located, relocate_text
from xl_ameyo.excel.source import core_rows, core_value
from xl_ameyo.mapping import resolve_mapping
from xl_ameyo.pipeline import settings_phone_rule
from xl_ameyo.rules import check_rows, format_value, normalise_phone, short
from xl_ameyo.settings import Settings, parse_settings

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
#: how long a status query may wait for the server (seconds); in Excel the query runs in
#: xlwings' background thread (async_mode), so recalculation does not wait for it
STATUS_TIMEOUT_S = 15.0
FINAL_STATES = frozenset({"COMPLETED", "FAILED"})
_MAPPING_HEADERS = ("ameyo field", "field")
_RANGE = {"ndim": 2, "err_to_str": True}  # how range arguments are read
_HEADERS = "\x00headers"
_ARGUMENTS = "\x00arguments"
_AT = "\x00at"


def _error(reason: str) -> str:
    return ERROR_PREFIX + " ".join(str(reason).split())


def _problem(exc: XlAmeyoError, place: Located | None = None, *, shift: int = 0,
             label: str | None = None) -> str:
    """An error as the cell shows it. Its cell references count from the argument's first
    cell (the core reads a sheet from A1): with the argument's ``place`` they become the cells
    on the sheet; without, the references to the argument (``label!``) are left out."""
    where = exc.where or ""
    message, hint = exc.message, exc.hint
    if label and where.startswith(f"{label}!"):
        if place is None:
            where = ""
        else:
            where = relocate_text(where.split("!", 1)[1], place, shift=shift)
            where = f"{place.cell().split('!')[0]}!{where}"
            message = relocate_text(message, place, shift=shift)
            hint = relocate_text(hint, place, shift=shift)
    text = f"{where}: {message}" if where else message
    if hint:
        text = f"{text.rstrip('.')}. {hint}"
    return _error(text)


def _split(arg) -> tuple[object, Located | None]:
    """(values, place) of an argument (place None: a typed-in value or a Python value)."""
    arg = located(arg, **_RANGE)
    if isinstance(arg, Located):
        return arg.value, arg
    return arg, None


def _rows(value) -> list[list]:
    """A range argument's values (scalar, 1-D or 2-D) -> rows of core values."""
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


def _one(arg, what: str):
    """The value of an argument that must be one cell (as a core value); XlAmeyoError naming
    the range when it has several cells."""
    value, place = _split(arg)
    if isinstance(value, list):
        cells = [v for row in _rows(value) for v in row]
        if len(cells) != 1:
            where = f"the range {place.address}" if place else "a range"
            raise XlAmeyoError(f"{what} must be one cell; {where} has {len(cells)} cells",
                               hint=f"Pass one cell, e.g. {_first_cell(place)}")
        return cells[0]
    return core_value(value)


def _first_cell(place: Located | None) -> str:
    return place.cell().split("!", 1)[1] if place else "B2"


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- the Mapping and Settings ranges ---------------------------------------------------------


def _resolve(mapping, headers):
    """``resolve_mapping`` for a Mapping range and a headers range. Problems are raised as
    ``(error, place, shift)`` for :func:`_problem`, via :class:`_RangeProblem`."""
    values, place = _split(mapping)
    rows, shift = _mapping_rows(values, place)
    header_values, header_place = _split(headers)
    names = _flat(header_values)
    try:
        return resolve_mapping(rows, names, data_sheet=_HEADERS)
    except XlAmeyoError as exc:
        # "the headers" stands in for the sheet's name; their address goes in after the
        # Mapping's cells are put right (it is already the sheet's)
        exc.message = exc.message.replace(f"sheet '{_HEADERS}'", f"the headers{_AT}")
        exc.hint = exc.hint.replace(f"sheet '{_HEADERS}'", f"the headers{_AT}")
        at = f" {header_place.address}" if header_place else ""
        raise _RangeProblem(exc, place, shift, at=at) from None


class _RangeProblem(Exception):
    """An error about a range argument, with where that argument is."""

    def __init__(self, error: XlAmeyoError, place: Located | None, shift: int = 0,
                 label: str = "Mapping", at: str = ""):
        super().__init__(str(error))
        self.error, self.place, self.shift, self.label = error, place, shift, label
        self.at = at

    def text(self) -> str:
        shown = _problem(self.error, self.place, shift=self.shift, label=self.label)
        return shown.replace(_AT, self.at)


def _mapping_rows(values, place: Located | None) -> tuple[list[list], int]:
    """The Mapping range as ``resolve_mapping`` wants it (header row first), and how many
    rows were put in front (its cell references shift by that much)."""
    rows = _rows(values)
    if not any(not _is_blank(v) for row in rows for v in row):
        where = f"The Mapping range {place.address}" if place else "The Mapping range"
        raise _RangeProblem(XlAmeyoError(
            f"{where} is empty",
            hint="Pass the Mapping sheet's two columns, e.g. Mapping!$A$1:$B$20, with "
            "phone1 mapped to a column"), None)
    first = rows[0][0] if rows and rows[0] else None
    if isinstance(first, str) and first.strip().casefold() in _MAPPING_HEADERS:
        return rows, 0
    return [["Ameyo field", "Sheet column"], *rows], 1


def _settings(arg) -> Settings:
    """The Settings sheet's range -> Settings, checked as the upload checks them."""
    values, place = _split(arg)
    try:
        return parse_settings(_rows(values), sheet="Settings")
    except XlAmeyoError as exc:
        raise _RangeProblem(exc, place, label="Settings") from None


# --- AMEYO_PHONE -----------------------------------------------------------------------------


def _phone_rule(settings: Settings | None) -> Callable[[object], tuple[str | None, str | None]]:
    """The rule the upload applies to phone cells with these settings (``phone_country``)."""
    return (settings_phone_rule(settings) if settings is not None else None) or normalise_phone


@xw.func
@xw.arg("value", Located, err_to_str=True)
@xw.arg("settings", Located, **_RANGE)
def AMEYO_PHONE(value, settings=None) -> str:
    """The phone number as it will be sent: digits only (spaces, dashes, dots, brackets and a
    leading + removed), 7 to 15 of them; with the Settings range, its phone_country's rule
    (e.g. IN, national: the 10-digit number);
    "" for an empty cell; else "#N/A: cell: reason"."""
    try:
        cell = _one(value, "The phone number")
        rule = _phone_rule(None if settings is None else _settings(settings))
    except XlAmeyoError as exc:
        return _problem(exc)
    except _RangeProblem as problem:
        return problem.text()
    digits, reason = rule(cell)
    if reason is not None:
        _values, place = _split(value)
        return _error(f"{place.cell()}: {reason}" if place else reason)
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
@xw.arg("mapping", Located, **_RANGE)
@xw.arg("headers", Located, **_RANGE)
def AMEYO_HEADER_MAPPING(mapping, headers=None) -> str:
    """The exact compact JSON sent as ``header_mapping``: the ten standard fields (``""`` when
    unmapped), then the custom fields. With ``headers`` (the data sheet's row 1) the values are
    the matched headers, exactly as the upload resolves them; without, the Mapping's text."""
    try:
        if headers is None:
            values, place = _split(mapping)
            rows, shift = _mapping_rows(values, place)
            try:
                header_mapping = _header_mapping_without_headers(rows)
            except XlAmeyoError as exc:
                raise _RangeProblem(exc, place, shift) from None
        else:
            header_mapping = _resolve(mapping, headers).header_mapping
    except _RangeProblem as problem:
        return problem.text()
    return json.dumps(header_mapping, separators=(",", ":"), ensure_ascii=False)


# --- AMEYO_ROW_OK ----------------------------------------------------------------------------

_LETTERS = re.compile(r"^([A-Z]+)")


def _column_index(cell: str) -> int:
    """The 0-based column of an A1 address."""
    return column_number(_LETTERS.match(cell).group(1)) - 1  # type: ignore[union-attr]


@xw.func
@xw.arg("row", Located, **_RANGE)
@xw.arg("headers", Located, **_RANGE)
@xw.arg("mapping", Located, **_RANGE)
@xw.arg("settings", Located, **_RANGE)
def AMEYO_ROW_OK(row, headers, mapping, settings=None):
    """"OK" when the row would be sent, else "#N/A: cell: why not" (an Excel error in a mapped
    cell, phone1 empty or not a phone number, another phone field not a phone number, a
    duplicate of an earlier row of the range). Several rows: one answer per row, as a column.
    With the Settings range: its phone_country's phone rule. (Duplicates of rows outside the
    range are found at upload time, across the whole sheet.)"""
    try:
        resolved = _resolve(mapping, headers)
        rule = None if settings is None else settings_phone_rule(_settings(settings))
    except _RangeProblem as problem:
        return problem.text()
    values, place = _split(row)
    _h, header_place = _split(headers)
    if place and header_place and place.left != header_place.left:
        return _error(
            f"the row {place.address} does not start in the column of the headers "
            f"{header_place.address}. Pass the row across the same columns as the headers")
    rows = _rows(values) or [[]]
    top = place.top if place else 1
    answers = ["empty row: skipped" if all(_is_blank(v) for v in r) else "OK" for r in rows]
    checked = check_rows(rows, resolved, first_row=top, phone_rule=rule)
    for bad in checked.invalid:
        reason = bad.reason
        if bad.column and f"'{bad.column}'" not in reason:
            reason = f"{reason} (column '{bad.column}')"
        if place and bad.cell:
            reason = f"{place.cell(bad.row - top, _column_index(bad.cell))}: {reason}"
        answers[bad.row - top] = _error(reason)
    if len(answers) == 1:
        return answers[0]
    return [[answer] for answer in answers]


# --- AMEYO_ENDPOINT --------------------------------------------------------------------------

_TARGET = ("base_url", "cc_list_id", "process_id", "lead_id")


def _target(base_url, cc_list_id, process_id, lead_id) -> Settings:
    """Checked like the Settings sheet: https (http for this machine only), positive ids.
    Problems name the argument's cell (or the argument)."""
    args = (base_url, cc_list_id, process_id, lead_id)
    rows = [[key, _one(arg, key)] for key, arg in zip(_TARGET, args, strict=True)]
    try:
        return parse_settings([*rows, ["user_id", "-"]], sheet=_ARGUMENTS)
    except XlAmeyoError as exc:
        number = re.search(r"(\d+)$", exc.where or "")
        index = int(number.group(1)) - 1 if number else -1
        if 0 <= index < len(args):
            _v, place = _split(args[index])
            exc.where = place.cell() if place else None
        else:
            exc.where = None
        raise


def _upload_url(settings: Settings) -> str:
    return (
        f"{settings.base_url}/v1/cc-list/{settings.cc_list_id}/process-list/"
        f"{settings.process_id}/leads/{settings.lead_id}/contact-upload-tasks"
    )


@xw.func
@xw.arg("base_url", Located, err_to_str=True)
@xw.arg("cc_list_id", Located, err_to_str=True)
@xw.arg("process_id", Located, err_to_str=True)
@xw.arg("lead_id", Located, err_to_str=True)
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
    value = _one(task_id, "The task id")
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
    values, _place = _split(settings_or_base_url)
    rows = _rows(values)
    if rows and not (len(rows) == 1 and len(rows[0]) == 1):
        return _settings(settings_or_base_url)  # the Settings sheet's rows (key, value[, notes])
    if cc_list_id is None or process_id is None or lead_id is None:
        raise XlAmeyoError(
            "cc_list_id, process_id and lead_id are needed with a base_url",
            hint="Pass them after the base_url, or pass the Settings sheet's range instead",
        )
    return _target(settings_or_base_url, cc_list_id, process_id, lead_id)


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
@xw.arg("task_id", Located, err_to_str=True)
@xw.arg("settings_or_base_url", Located, **_RANGE)
@xw.arg("cc_list_id", Located, err_to_str=True)
@xw.arg("process_id", Located, err_to_str=True)
@xw.arg("lead_id", Located, err_to_str=True)
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
    then followed by the three ids. Cached (see the module doc). In Excel it runs in xlwings'
    background thread (``async_mode``): the cell shows "#N/A waiting..." until the answer."""
    try:
        task = _task_id_text(task_id)
        settings = _status_target(settings_or_base_url, cc_list_id, process_id, lead_id)
        detail = bool(_one(detail, "detail"))
    except XlAmeyoError as exc:
        return _problem(exc)
    except _RangeProblem as problem:
        return problem.text()
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

