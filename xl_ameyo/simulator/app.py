"""The simulator's web application: Ameyo's upload endpoint, its own task extensions, and
the ``/_sim`` control API for tests and the demo.
"""

from __future__ import annotations

import asyncio
import csv
import io
import ipaddress
import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from xl_ameyo.simulator import pages
from xl_ameyo.simulator.connections import ConnectionRegistry, reset_connection
from xl_ameyo.simulator.faults import (
    CANNED,
    DEFAULT_SLOW_DELAY,
    DEFAULT_TRICKLE_DELAY,
    Fault,
    FaultBook,
    FaultError,
    check_fault,
    fault_from_headers,
)
from xl_ameyo.simulator.store import Store
from xl_ameyo.simulator.tasks import TaskRunner
from xl_ameyo.simulator.users import SimUser, authenticate
from xl_ameyo.simulator.validation import BadUpload, check_upload

UPLOAD_PATH = (
    "/v1/cc-list/{cc_list_id}/process-list/{process_id}/leads/{lead_id}/contact-upload-tasks"
)
#: headers never written to the request log
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})
_WHOLE = re.compile(r"[0-9]{1,18}")


@dataclass
class SimState:
    """Everything the handlers share; one per running simulator."""

    store: Store
    runner: TaskRunner
    faults: FaultBook
    users: Mapping[str, SimUser]
    connections: ConnectionRegistry
    seed: bool = True


def _sim(request: Request) -> SimState:
    return request.app.state.sim


def _whole(text: str | None) -> int | None:
    return int(text) if text is not None and _WHOLE.fullmatch(text) else None


def _path_ids(request: Request) -> tuple[int | None, int | None, int | None]:
    p = request.path_params
    return (_whole(p.get("cc_list_id")), _whole(p.get("process_id")), _whole(p.get("lead_id")))


def _loggable_headers(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name = raw_name.decode("latin-1").lower()
        if name in SECRET_HEADERS:
            continue
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


# --- the checks every Ameyo endpoint makes ----------------------------------------------


async def _access_error(request: Request, user: SimUser | None, method: str) -> Response | None:
    """401, 404 (CONF-1001/1002/1003) or 403 for this user and path, or None when allowed.

    Order: credentials, contact center, the user's access to it, process, lead list.
    """
    sim = _sim(request)
    if user is None:
        return pages.error_response(
            401,
            "AUTH-1001",
            "Unauthorized",
            "Full authentication is required to access this resource",
            method=method,
            headers={"www-authenticate": 'Basic realm="Ameyo"'},
        )
    cc_list_id, process_id, lead_id = _path_ids(request)
    missing = await run_in_threadpool(sim.store.find_missing, cc_list_id, process_id, lead_id)
    if missing == "cc":
        return pages.error_response(
            404,
            "CONF-1001",
            "Contact center not found",
            f"No contact center with id {request.path_params['cc_list_id']}",
            method=method,
        )
    if cc_list_id in user.denied_cc_lists:
        return pages.error_response(
            403,
            "AUTH-1002",
            "Forbidden",
            f"User {user.username} does not have access to contact center {cc_list_id}",
            method=method,
        )
    if missing == "process":
        return pages.error_response(
            404,
            "CONF-1002",
            "Process not found",
            f"No process with id {request.path_params['process_id']}"
            f" in contact center {cc_list_id}",
            method=method,
        )
    if missing == "lead":
        return pages.error_response(
            404,
            "CONF-1003",
            "Lead list not found",
            f"No lead list with id {request.path_params['lead_id']} in process {process_id}",
            method=method,
        )
    return None


# --- POST .../contact-upload-tasks ----------------------------------------------------


class DropConnection(Response):
    """Not an answer: resets the TCP connection (the ``drop`` fault)."""

    def __init__(self, connections: ConnectionRegistry) -> None:
        self.connections = connections
        self.status_code = 0  # never sent
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = self.connections.find(scope)
        if transport is None:  # served without the simulator's protocol: cut the answer
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise ConnectionAbortedError("drop fault: connection cut")
        reset_connection(transport)
        while (await receive())["type"] != "http.disconnect":
            pass


@dataclass
class _Form:
    fields: dict[str, str]
    file_content: bytes | None
    filename: str | None
    file_content_type: str | None


async def _read_form(request: Request) -> _Form:
    """The multipart form: text parts (first of each name) and the first ``file`` part."""
    fields: dict[str, str] = {}
    file_part: UploadFile | None = None
    form = await request.form()
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name == "file" and file_part is None:
                    file_part = value
            else:
                fields.setdefault(name, value)
        content = await file_part.read() if file_part is not None else None
    finally:
        await form.close()
    return _Form(
        fields=fields,
        file_content=content,
        filename=file_part.filename if file_part is not None else None,
        file_content_type=file_part.content_type if file_part is not None else None,
    )


def _fault_for(
    request: Request, lead_id: int | None
) -> tuple[Fault | None, str | None, str | None]:
    """(fault, its name for the log, an error about the X-Sim-* headers)."""
    named = request.headers.get("x-sim-fault")
    try:
        fault = fault_from_headers(named, request.headers.get("x-sim-delay"))
    except FaultError as exc:
        return None, named, str(exc)
    if fault is None:
        fault = _sim(request).faults.take(lead_id)
    return fault, fault.name if fault else None, None


async def upload(request: Request) -> Response:
    """Ameyo's contact upload: log it, apply any fault, check it, queue a task, answer."""
    sim = _sim(request)
    ids = _path_ids(request)
    user = authenticate(sim.users, request.headers.get("authorization"))
    fault, fault_name, fault_problem = _fault_for(request, ids[2])
    seq = await run_in_threadpool(
        sim.store.log_request,
        method=request.method,
        path=request.url.path,
        ids=ids,
        fault=fault_name,
        headers=_loggable_headers(request),
        auth_user=user.username if user else None,
    )

    if fault is not None and fault.name == "drop":
        await request.receive()  # part of the upload has arrived; then the line goes dead
        return DropConnection(sim.connections)

    try:
        form = await _read_form(request)
    except HTTPException as exc:  # a body that is not a readable form
        response: Response = pages.error_response(
            400, "VAL-1009", "Malformed request", f"The multipart body is unreadable: {exc.detail}"
        )
        task_id: int | None = None
    else:
        csv_text = None
        if form.file_content is not None:
            try:
                csv_text = form.file_content.decode("utf-8")
            except UnicodeDecodeError:
                csv_text = None
        await run_in_threadpool(
            sim.store.update_request,
            seq,
            fields=form.fields,
            filename=form.filename,
            file_content_type=form.file_content_type,
            file_size=len(form.file_content) if form.file_content is not None else None,
            csv=csv_text,
        )
        task_id = None
        if fault_problem is not None:
            response = pages.error_response(
                400, "SIM-1001", "Unknown simulator fault", fault_problem
            )
        elif fault is not None and fault.name in CANNED:
            response = CANNED[fault.name]()
        else:
            fail = fault is not None and fault.name == "task-fail"
            response, task_id = await _accept(request, user, form, fail=fail)
            if fault is not None and fault.name == "accepted" and task_id is not None:
                # the task exists, but the answer is 202 (SPEC §3 counts only 200)
                response = Response(response.body, status_code=202,
                                    media_type="application/json")

    request_id = None
    if isinstance(response, JSONResponse):
        body = json.loads(response.body)
        if isinstance(body, dict) and isinstance(body.get("request_id"), str):
            request_id = body["request_id"]
    await run_in_threadpool(
        sim.store.update_request,
        seq,
        status=response.status_code,
        task_id=task_id,
        request_id=request_id,
    )

    if fault is not None and fault.name == "slow":
        # the work is done (the task exists); only the answer is late
        await _sleep_unless_gone(
            request, fault.delay if fault.delay is not None else DEFAULT_SLOW_DELAY
        )
    if fault is not None and fault.name == "trickle":
        # the status line and headers at once, then the body a byte at a time: every read
        # gets something within seconds, the whole answer takes minutes
        pause = fault.delay if fault.delay is not None else DEFAULT_TRICKLE_DELAY
        response = StreamingResponse(
            _trickle(response.body, pause),
            status_code=response.status_code,
            media_type=response.media_type,
        )
    if fault is not None and fault.name == "text-plain-json":
        response = Response(
            response.body, status_code=response.status_code, media_type="text/plain"
        )
    return response


async def _trickle(body: bytes, pause: float) -> AsyncIterator[bytes]:
    for i in range(len(body)):
        if i:
            await asyncio.sleep(pause)
        yield body[i : i + 1]


async def _sleep_unless_gone(request: Request, seconds: float) -> None:
    """Wait, but stop waiting when the client hangs up (nobody is left to answer)."""

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    waits = {asyncio.ensure_future(asyncio.sleep(seconds)), asyncio.ensure_future(gone())}
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


async def _accept(
    request: Request, user: SimUser | None, form: _Form, *, fail: bool
) -> tuple[Response, int | None]:
    """The real checks; a new task and the vendor's success envelope when all pass."""
    sim = _sim(request)
    problem = await _access_error(request, user, "POST")
    if problem is not None:
        return problem, None
    try:
        checked = check_upload(form.fields, form.file_content, form.filename)
    except BadUpload as exc:
        return pages.error_response(400, exc.code, exc.message, exc.description), None
    cc_list_id, process_id, lead_id = _path_ids(request)
    assert cc_list_id is not None and process_id is not None and lead_id is not None
    task_id = await run_in_threadpool(
        lambda: sim.store.create_task(
            cc_list_id=cc_list_id,
            process_id=process_id,
            lead_id=lead_id,
            user_id=checked.user_id,
            auth_user=user.username if user else None,
            update_duplicate=checked.update_duplicate,
            churn_updated_records=checked.churn_updated_records,
            migrate=checked.migrate,
            header_mapping=checked.header_mapping,
            filename=checked.filename,
            csv_text=checked.csv_text,
            fail=fail,
        )
    )
    sim.runner.submit(task_id)
    return JSONResponse(pages.success_envelope(task_id)), task_id


# --- the simulator's own task endpoints (not Ameyo's) ---------------------------------


async def _find_task(request: Request) -> tuple[dict | None, Response | None]:
    sim = _sim(request)
    absent = sim.faults.no_task_status
    if absent is not None:  # a server without these extensions, as a real Ameyo is
        return None, pages.nginx_not_allowed() if absent == 405 else pages.nginx_not_found()
    user = authenticate(sim.users, request.headers.get("authorization"))
    problem = await _access_error(request, user, "GET")
    if problem is not None:
        return None, problem
    cc_list_id, process_id, lead_id = _path_ids(request)
    task_id = _whole(request.path_params["task_id"])
    task = await run_in_threadpool(sim.store.task, task_id) if task_id is not None else None
    if task is None or (task["cc_list_id"], task["process_id"], task["lead_id"]) != (
        cc_list_id,
        process_id,
        lead_id,
    ):
        return None, pages.error_response(
            404,
            "TASK-1001",
            "Task not found",
            f"No contact upload task {request.path_params['task_id']} in lead list {lead_id}",
            method="GET",
        )
    return task, None


async def task_status(request: Request) -> Response:
    task, problem = await _find_task(request)
    if problem is not None:
        return problem
    return JSONResponse(pages.data_envelope(task))


async def error_file(request: Request) -> Response:
    """The rejected rows as CSV: the file's own columns plus ``error_reason``."""
    task, problem = await _find_task(request)
    if problem is not None:
        return problem
    assert task is not None
    if task["status"] not in ("COMPLETED", "FAILED"):
        return pages.error_response(
            409,
            "TASK-1002",
            "Task not finished",
            f"Task {task['task_id']} is {task['status']}; its error file is not ready",
            method="GET",
        )
    store = _sim(request).store
    row = await run_in_threadpool(store.task_row, task["task_id_number"])
    rejects = await run_in_threadpool(store.task_rejects, task["task_id_number"])
    header = next(csv.reader(io.StringIO(row["csv"] if row else "", newline="")), [])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*header, "error_reason"])
    for values, reason in rejects:
        values = (values + [""] * len(header))[: len(header)]
        writer.writerow([*values, reason])
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="task-{task["task_id"]}-errors.csv"'
        },
    )


# --- /_sim: the control API for tests and the demo (no auth, loopback clients only) --------


def _loopback_only(handler: Any) -> Any:
    async def guarded(request: Request) -> Response:
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return JSONResponse({"error": "the /_sim API answers loopback clients only"}, 403)
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


def _int_param(request: Request, name: str) -> int:
    value = _whole(request.path_params[name])
    if value is None:
        raise HTTPException(404, f"{name} must be a whole number")
    return value


async def sim_lead_lists(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_sim(request).store.lead_lists))


async def sim_contacts(request: Request) -> Response:
    lead_id = _int_param(request, "lead_id")
    return JSONResponse(await run_in_threadpool(_sim(request).store.contacts, lead_id))


async def sim_dial(request: Request) -> Response:
    """Play the dialer: mark a lead list's contacts (or the listed phone1s) as dialed once."""
    lead_id = _int_param(request, "lead_id")
    body = await request.body()
    phone1s = None
    if body.strip():
        try:
            phone1s = json.loads(body).get("phone1")
        except (ValueError, AttributeError):
            return JSONResponse({"error": 'body must be {"phone1": [...]} or empty'}, 400)
    dialed = await run_in_threadpool(_sim(request).store.mark_dialed, lead_id, phone1s)
    return JSONResponse({"dialed": dialed})


async def sim_tasks(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_sim(request).store.tasks))


async def sim_task(request: Request) -> Response:
    task = await run_in_threadpool(_sim(request).store.task, _int_param(request, "task_id"))
    if task is None:
        return JSONResponse({"error": "no such task"}, 404)
    return JSONResponse(task)


async def sim_requests(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_sim(request).store.upload_requests))


async def sim_faults(request: Request) -> Response:
    if request.method == "DELETE":
        _sim(request).faults.clear()
        return JSONResponse({})
    faults = _sim(request).faults.all()
    return JSONResponse({str(lead): f.as_dict() for lead, f in sorted(faults.items())})


async def sim_fault(request: Request) -> Response:
    lead_id = _int_param(request, "lead_id")
    book = _sim(request).faults
    if request.method == "DELETE":
        return JSONResponse({"removed": book.remove(lead_id)})
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise FaultError('body must be {"fault": NAME, "delay": SECONDS, "times": N}')
        fault = check_fault(body.get("fault"), body.get("delay"), body.get("times"))
    except (ValueError, FaultError) as exc:
        return JSONResponse({"error": str(exc)}, 400)
    book.set(lead_id, fault)
    return JSONResponse(fault.as_dict())


async def sim_task_status(request: Request) -> Response:
    """``PUT /_sim/task-status {"absent": 404 | 405 | null}``."""
    try:
        body = json.loads(await request.body())
        absent = body.get("absent") if isinstance(body, dict) else "?"
        if absent not in (None, 404, 405):
            raise ValueError
    except ValueError:
        return JSONResponse({"error": 'body must be {"absent": 404, 405 or null}'}, 400)
    _sim(request).faults.no_task_status = absent
    return JSONResponse({"absent": absent})


async def sim_reset(request: Request) -> Response:
    sim = _sim(request)
    await run_in_threadpool(sim.store.reset, seed=sim.seed)
    sim.faults.clear()
    return JSONResponse({"reset": True})


def create_app(sim: SimState) -> Starlette:
    task_path = UPLOAD_PATH + "/{task_id}"
    guard = _loopback_only
    routes = [
        Route(UPLOAD_PATH, upload, methods=["POST"]),
        Route(task_path, task_status, methods=["GET"]),
        Route(task_path + "/error-file", error_file, methods=["GET"]),
        Route("/_sim/lead-lists", guard(sim_lead_lists), methods=["GET"]),
        Route("/_sim/lead-lists/{lead_id}/contacts", guard(sim_contacts), methods=["GET"]),
        Route("/_sim/lead-lists/{lead_id}/dial", guard(sim_dial), methods=["POST"]),
        Route("/_sim/tasks", guard(sim_tasks), methods=["GET"]),
        Route("/_sim/tasks/{task_id}", guard(sim_task), methods=["GET"]),
        Route("/_sim/requests", guard(sim_requests), methods=["GET"]),
        Route("/_sim/faults", guard(sim_faults), methods=["GET", "DELETE"]),
        Route("/_sim/faults/{lead_id}", guard(sim_fault), methods=["PUT", "DELETE"]),
        Route("/_sim/task-status", guard(sim_task_status), methods=["PUT"]),
        Route("/_sim/reset", guard(sim_reset), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app
