"""Fault injection: the README's fault names, who chose one, and the canned answers.

A fault comes from the request's ``X-Sim-Fault`` header or from a fault set on the lead list
(``PUT /_sim/faults/{lead_id}``); the header wins. Lead-list faults may be limited to
``times`` requests. Faults act on upload POSTs only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from starlette.responses import JSONResponse, Response

from xl_ameyo.simulator import pages

#: The slow fault's delay when none is given (seconds).
DEFAULT_SLOW_DELAY = 5.0
#: The trickle fault's pause between two bytes of its answer when none is given (seconds).
DEFAULT_TRICKLE_DELAY = 2.0


def _json(body: object, status: int, media_type: str = "application/json") -> Response:
    return JSONResponse(body, status_code=status, media_type=media_type)


#: Faults answered with a fixed page, whatever the request holds (no task is created).
CANNED: dict[str, Callable[[], Response]] = {
    "unauthorized": lambda: pages.error_response(
        401,
        "AUTH-1001",
        "Unauthorized",
        "Full authentication is required to access this resource",
        headers={"www-authenticate": 'Basic realm="Ameyo"'},
    ),
    "forbidden": lambda: pages.error_response(
        403, "AUTH-1002", "Forbidden", "User does not have access to this contact center"
    ),
    "cc-not-found": lambda: pages.error_response(
        404, "CONF-1001", "Contact center not found", "No contact center with the given id"
    ),
    "process-not-found": lambda: pages.error_response(
        404, "CONF-1002", "Process not found", "No process with the given id"
    ),
    "lead-not-found": lambda: pages.error_response(
        404, "CONF-1003", "Lead list not found", "No lead list with the given id"
    ),
    "bad-request": lambda: pages.error_response(
        400, "VAL-1000", "Bad request", "The request could not be processed"
    ),
    "too-large": pages.nginx_too_large,
    "server-error-html": pages.tomcat_server_error,
    "object-envelope": lambda: pages.error_response(
        500, "IS-1002", "Internal server error", "Something went wrong while processing"
    ),
    "bad-gateway": pages.nginx_bad_gateway,
    "unavailable": pages.nginx_unavailable,
    "legacy-status": lambda: _json(
        {
            "statusCode": 400,
            "status": "BAD_REQUEST",
            "errorCode": "INVALID_REQUEST",
            "errorMessage": "Invalid header mapping for the lead list",
        },
        400,
    ),
    "legacy-message": lambda: _json(
        {
            "message": "Contact upload failed",
            "code": "UPLOAD_FAILED",
            "info": "Invalid header mapping for the lead list",
            "status": "failure",
        },
        400,
    ),
    "null-body": lambda: Response(b"null", status_code=200, media_type="application/json"),
    "garbage": pages.login_page,
}

#: Faults that let the request be processed like any other, then change the answer.
PROCESSED = ("slow", "trickle", "text-plain-json", "task-fail", "accepted")

#: Every fault name, in the README's order.
FAULT_NAMES = (*CANNED, *PROCESSED, "drop")


class FaultError(ValueError):
    """A fault name or delay the simulator does not know."""


@dataclass(frozen=True)
class Fault:
    name: str
    delay: float | None = None
    times: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def check_fault(name: object, delay: object = None, times: object = None) -> Fault:
    """Validate a fault as given in a header or a ``PUT /_sim/faults`` body."""
    if not isinstance(name, str) or name not in FAULT_NAMES:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    if delay is not None:
        if isinstance(delay, bool) or not isinstance(delay, (int, float)):
            raise FaultError(f"delay must be a number of seconds, not {delay!r}")
        if not math.isfinite(delay) or delay < 0:
            raise FaultError(f"delay must be 0 or more seconds, not {delay!r}")
        delay = float(delay)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise FaultError(f"times must be a whole number of 1 or more (or null), not {times!r}")
    return Fault(name, delay, times)


def fault_from_headers(fault: str | None, delay: str | None) -> Fault | None:
    """The fault named by ``X-Sim-Fault`` (``X-Sim-Delay``: for ``slow`` and ``trickle``)."""
    if fault is None:
        return None
    seconds: float | None = None
    if delay is not None:
        try:
            seconds = float(delay)
        except ValueError:
            raise FaultError(f"X-Sim-Delay must be a number of seconds, not {delay!r}") from None
    return check_fault(fault.strip(), seconds)


class FaultBook:
    """Faults set per lead list (thread-safe; kept in memory for one run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[int, Fault] = {}
        #: 404 or 405: the task GET extensions answer as a server without them (a real
        #: Ameyo); None: they are served. Cleared with the faults.
        self.no_task_status: int | None = None

    def set(self, lead_id: int, fault: Fault) -> None:
        with self._lock:
            self._faults[lead_id] = fault

    def remove(self, lead_id: int) -> bool:
        with self._lock:
            return self._faults.pop(lead_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.no_task_status = None

    def all(self) -> dict[int, Fault]:
        with self._lock:
            return dict(self._faults)

    def take(self, lead_id: int | None) -> Fault | None:
        """The lead list's fault for one request, using up one of its ``times``."""
        if lead_id is None:
            return None
        with self._lock:
            fault = self._faults.get(lead_id)
            if fault is None:
                return None
            if fault.times is not None:
                if fault.times <= 1:
                    del self._faults[lead_id]
                else:
                    self._faults[lead_id] = Fault(fault.name, fault.delay, fault.times - 1)
            return fault
