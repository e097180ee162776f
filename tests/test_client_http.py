"""AmeyoClient over real loopback HTTP against the simulator (no mocked requests).

The simulator logs every upload POST as it arrives, before reading its body: its request log
is the proof that a timed-out or dropped upload was sent once and never again.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from xl_ameyo.client import AmeyoClient, UploadResult
from xl_ameyo.errors import (
    AmeyoBadRequest,
    AmeyoConnectionError,
    AmeyoConnectionLost,
    AmeyoError,
    AmeyoForbidden,
    AmeyoNotFound,
    AmeyoPayloadTooLarge,
    AmeyoServerError,
    AmeyoTimeout,
    AmeyoTLSError,
    AmeyoUnauthorized,
    AmeyoUnexpectedResponse,
)
from xl_ameyo.simulator.faults import FAULT_NAMES
from xl_ameyo.simulator.server import SimulatorServer

MAPPING = {
    "name": "customer_name",
    "phone1": "phone1",
    "phone2": "",
    "phone3": "",
    "phone4": "",
    "phone5": "",
    "email": "email",
    "timezone": "",
    "twitter": "",
    "facebook": "",
    "ville_Ä": "ville Ä",
}
CSV = (
    "customer_name,phone1,email,ville Ä\r\n"
    'Asha Rao,9876543210,asha@example.com,Pune\r\n"Ng, ""Li""",9123456780,,Zürich\r\n'
).encode()


def upload(client: AmeyoClient, lead_id: int = 17, **kw) -> UploadResult:
    args = dict(
        cc_list_id=1,
        process_id=13,
        lead_id=lead_id,
        csv=CSV,
        user_id="john",
        header_mapping=MAPPING,
    )
    args.update(kw)
    return client.upload_contacts(**args)


def fail(client: AmeyoClient, **kw) -> AmeyoError:
    with pytest.raises(AmeyoError) as info:
        upload(client, **kw)
    return info.value


@pytest.fixture
def client(sim: SimulatorServer) -> Iterator[AmeyoClient]:
    c = AmeyoClient(sim.url, sim.username, sim.password, timeout=10)
    yield c
    c.session.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the request as it arrives --------------------------------------------------------------


def test_success_and_what_the_server_received(sim, client):
    result = upload(client)
    assert result.http_code == 200
    assert result.task_id.isdigit()
    [got] = sim.upload_requests()
    assert got["method"] == "POST"
    assert got["path"] == "/v1/cc-list/1/process-list/13/leads/17/contact-upload-tasks"
    assert str(got["task_id"]) == result.task_id
    assert got["fields"] == {
        "user_id": "john",
        "update_duplicate": "false",
        "churn_updated_records": "false",
        "migrate": "false",
        # compact, key order kept, non-ASCII as is
        "header_mapping": '{"name":"customer_name","phone1":"phone1","phone2":"","phone3":"",'
        '"phone4":"","phone5":"","email":"email","timezone":"","twitter":"","facebook":"",'
        '"ville_Ä":"ville Ä"}',
    }
    assert got["filename"] == "leads.csv"
    assert got["file_content_type"] == "text/csv"
    assert got["csv"] == CSV.decode()
    assert got["auth_user"] == "demo"
    headers = got["headers"]
    assert headers["accept"] == "*/*"
    assert headers["origin"] == "http://127.0.0.1"
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert int(headers["content-length"]) > len(CSV)
    assert "transfer-encoding" not in headers  # a plain Content-Length upload
    assert "authorization" not in headers  # the simulator never logs it
    task = sim.wait_for_task(result.task_id)
    assert task["status"] == "COMPLETED"
    assert task["inserted"] == 2


def test_flags_are_sent_as_true_and_filename_gets_csv(sim, client):
    upload(client, update_duplicate=True, churn_updated_records=True, migrate=True, filename="x")
    [got] = sim.upload_requests()
    flags = ("update_duplicate", "churn_updated_records", "migrate")
    assert [got["fields"][k] for k in flags] == ["true", "true", "true"]
    assert got["filename"] == "x.csv"


def test_explicit_origin_and_trailing_slash(sim):
    client = AmeyoClient(sim.url + "/", "demo", "demo-pass", origin="https://ameyo.example.com")
    upload(client)
    [got] = sim.upload_requests()
    assert got["headers"]["origin"] == "https://ameyo.example.com"
    assert got["path"].startswith("/v1/cc-list/1/")


def test_task_id_above_2_to_the_53_is_exact(sim, client):
    result = upload(client)
    assert int(result.task_id) > 2**53
    [task] = sim.tasks()
    assert task["task_id"] == result.task_id
    assert result.body["response"][0]["data"]["task_id"] == int(result.task_id)


@pytest.mark.parametrize("kind", ["path", "str", "file", "bytesio", "iterable", "pipe"])
def test_csv_sources(sim, client, tmp_path, kind):
    path = tmp_path / "leads.csv"
    path.write_bytes(CSV)
    if kind == "path":
        source = path
    elif kind == "str":
        source = str(path)
    elif kind == "file":
        source = open(path, "rb")  # noqa: SIM115
    elif kind == "bytesio":
        source = io.BytesIO(CSV)
    elif kind == "iterable":
        source = (CSV[i : i + 7] for i in range(0, len(CSV), 7))
    else:
        source = _pipe(CSV)
    try:
        upload(client, csv=source)
    finally:
        if hasattr(source, "close"):
            source.close()
    [got] = sim.upload_requests()
    assert got["csv"] == CSV.decode()


def _pipe(data: bytes):
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    return open(r, "rb")


def test_big_iterable_is_spooled_and_progress_reaches_the_total(sim, client):
    row = b"Asha Rao,9876543210,asha@example.com,Pune\r\n"
    chunks = [CSV.split(b"\r\n", 1)[0] + b"\r\n"] + [row] * 30_000
    calls: list[tuple[int, int]] = []
    result = upload(client, csv=iter(chunks), progress=lambda s, t: calls.append((s, t)))
    assert result.task_id
    [got] = sim.upload_requests()
    assert got["csv"].encode() == b"".join(chunks)
    total = int(got["headers"]["content-length"])
    assert len(calls) > 2
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))


def test_get_task_and_error_file(sim, client):
    csv = CSV + b"Bad Row,12,,X\r\n"
    result = upload(client, csv=csv)
    sim.wait_for_task(result.task_id)
    task = client.get_task(1, 13, 17, result.task_id)
    assert task["task_id"] == result.task_id
    assert task["status"] == "COMPLETED"
    assert task["rejected"] == 1
    errors = client.get_error_file(1, 13, 17, result.task_id)
    assert errors.splitlines()[0].endswith(",error_reason")
    assert "Bad Row" in errors and "PREPROCESSING_INVALID_LENGTH" in errors


def test_get_task_unknown(sim, client):
    with pytest.raises(AmeyoNotFound) as info:
        client.get_task(1, 13, 17, 12345)
    assert "TASK-1001" in str(info.value)


# --- the server's errors --------------------------------------------------------------------

FAULTS = {
    "unauthorized": (AmeyoUnauthorized, "401 AUTH-1001"),
    "forbidden": (AmeyoForbidden, "403 AUTH-1002"),
    "cc-not-found": (AmeyoNotFound, "404 CONF-1001"),
    "process-not-found": (AmeyoNotFound, "404 CONF-1002"),
    "lead-not-found": (AmeyoNotFound, "404 CONF-1003"),
    "bad-request": (AmeyoBadRequest, "400 VAL-1000"),
    "too-large": (AmeyoPayloadTooLarge, '413 with an HTML page: "413 Request Entity Too Large"'),
    "server-error-html": (AmeyoServerError, '500 with an HTML page: "HTTP Status 500'),
    "object-envelope": (AmeyoServerError, "500 IS-1002"),
    "bad-gateway": (AmeyoServerError, '502 with an HTML page: "502 Bad Gateway"'),
    "unavailable": (AmeyoServerError, '"503 Service Temporarily Unavailable"'),
    "legacy-status": (AmeyoBadRequest, "400 INVALID_REQUEST: Invalid header mapping"),
    "legacy-message": (AmeyoBadRequest, "400 UPLOAD_FAILED: Contact upload failed"),
    "null-body": (AmeyoUnauthorized, "200 with the body null"),
    "garbage": (AmeyoUnexpectedResponse, '200 with an HTML page: "Ameyo | Login"'),
}
#: faults that end in success for the client, or are tested on their own below
OTHER_FAULTS = {"text-plain-json", "task-fail", "slow", "trickle", "drop", "accepted"}


def test_every_simulator_fault_is_covered():
    assert set(FAULTS) | OTHER_FAULTS == set(FAULT_NAMES)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_maps_to_its_exception(sim, client, fault):
    cls, quoted = FAULTS[fault]
    sim.set_fault(17, fault)
    error = fail(client)
    assert type(error) is cls
    assert quoted in str(error)
    assert "\n" not in str(error)
    assert error.may_have_arrived is True
    assert len(sim.upload_requests()) == 1


def test_object_envelope_fields(sim, client):
    sim.set_fault(17, "process-not-found")
    error = fail(client)
    assert (error.http_code, error.error_code) == (404, "CONF-1002")
    assert error.server_message.startswith("Process not found")
    [got] = sim.upload_requests()
    assert error.request_id == got["request_id"] and error.request_id


def test_text_plain_json_is_success(sim, client):
    sim.set_fault(17, "text-plain-json")
    result = upload(client)
    assert result.task_id == sim.upload_requests()[0]["task_id"]


def test_task_fail_is_an_accepted_upload_whose_task_fails(sim, client):
    sim.set_fault(17, "task-fail")
    result = upload(client)
    sim.wait_for_task(result.task_id)
    assert client.get_task(1, 13, 17, result.task_id)["status"] == "FAILED"


def test_wrong_password(sim):
    client = AmeyoClient(sim.url, "demo", "Wr0ng-Secret")
    error = fail(client)
    assert isinstance(error, AmeyoUnauthorized)
    assert "AUTH-1001" in str(error)
    assert sim.upload_requests()[0]["auth_user"] is None


def test_user_without_access(sim):
    error = fail(AmeyoClient(sim.url, "viewer", "viewer-pass"))
    assert isinstance(error, AmeyoForbidden)
    assert "AUTH-1002" in str(error)


@pytest.mark.parametrize(
    "ids, code",
    [
        ((99, 13, 17), "CONF-1001"),
        ((1, 99, 17), "CONF-1002"),
        ((1, 13, 99), "CONF-1003"),
        ((1, 14, 17), "CONF-1003"),
    ],
)
def test_unknown_ids(sim, client, ids, code):
    cc, process, lead = ids
    error = fail(client, cc_list_id=cc, process_id=process, lead_id=lead)
    assert isinstance(error, AmeyoNotFound)
    assert f"Ameyo answered 404 {code}" in str(error)
    assert error.error_code == code


def test_server_side_validation_error(sim, client):
    error = fail(client, header_mapping={"phone1": "not_a_column"})
    assert isinstance(error, AmeyoBadRequest)
    assert "VAL-1006" in str(error)


# --- the network: nothing sent vs. may have arrived -----------------------------------------


def _retries(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("Retrying")]


def test_connection_refused_is_retried_then_reported_as_nothing_sent(closed_port, caplog):
    caplog.set_level(logging.WARNING, logger="urllib3")
    client = AmeyoClient(f"http://127.0.0.1:{closed_port}", "demo", "demo-pass", connect_retries=2)
    error = fail(client)
    assert type(error) is AmeyoConnectionError
    assert error.may_have_arrived is False
    assert f"127.0.0.1:{closed_port}" in str(error)
    assert "refused" in str(error)
    # urllib3 itself reports each connect retry
    assert len(_retries(caplog)) == 2


def test_connect_retries_zero(closed_port, caplog):
    caplog.set_level(logging.WARNING, logger="urllib3")
    client = AmeyoClient(f"http://127.0.0.1:{closed_port}", "demo", "pw", connect_retries=0)
    assert type(fail(client)) is AmeyoConnectionError
    assert _retries(caplog) == []


def test_slow_answer_times_out_and_is_not_sent_again(sim, caplog):
    caplog.set_level(logging.DEBUG, logger="urllib3")
    sim.set_fault(17, "slow", delay=5)
    client = AmeyoClient(sim.url, sim.username, sim.password, timeout=0.5)
    error = fail(client)
    assert type(error) is AmeyoTimeout
    assert error.may_have_arrived is True
    assert "0.5 s" in str(error)
    assert "check the lead list in Ameyo before trying again" in str(error)
    # the server did the work (the task exists, only the answer was late); one POST only
    _wait_until_answered(sim)
    assert len(sim.upload_requests()) == 1
    assert len(sim.tasks()) == 1
    assert _retries(caplog) == []


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_trickled_answer_ends_at_timeout_s_in_all(sim, tls):
    """timeout_s bounds the whole answer, not each read: a byte every 0.4 s never lets one
    read wait 1 s, but the answer (about 200 bytes) would take over a minute."""
    if tls:
        server = SimulatorServer(host="127.0.0.1", port=0, tls=True)
        server.__enter__()
    else:
        server = sim
    try:
        server.set_fault(17, "trickle", delay=0.4)
        client = AmeyoClient(server.url, server.username, server.password, timeout=1,
                             verify=server.ca_path if tls else True)
        error = fail(client)
        assert type(error) is AmeyoTimeout, repr(error)
        assert "no answer came within 1 s" in str(error)
        assert error.may_have_arrived is True
        assert len(server.upload_requests()) == 1  # never sent again
    finally:
        if tls:
            server.__exit__(None, None, None)


def test_a_trickled_answer_within_timeout_s_is_read_whole(sim, client):
    sim.set_fault(17, "trickle", delay=0.001)
    assert upload(client).task_id


def _wait_until_answered(sim: SimulatorServer, limit: float = 30.0) -> None:
    """Until the simulator has decided its answer to every logged request (a loaded machine
    may still be parsing the form when the client gives up); not a timing assertion."""
    deadline = time.monotonic() + limit
    while any(r["status"] is None for r in sim.upload_requests()):
        assert time.monotonic() < deadline, "the simulator never answered"
        time.sleep(0.01)


def test_dropped_connection_is_lost_and_not_sent_again(sim, client, caplog):
    caplog.set_level(logging.DEBUG, logger="urllib3")
    sim.set_fault(17, "drop")
    error = fail(client)
    assert type(error) is AmeyoConnectionLost
    assert error.may_have_arrived is True
    assert len(sim.upload_requests()) == 1
    assert sim.tasks() == []
    assert _retries(caplog) == []


def test_dropped_big_upload_reports_how_much_was_sent(sim, client):
    sim.set_fault(17, "drop")
    big = CSV + b"Asha Rao,9876543210,asha@example.com,Pune\r\n" * 200_000
    error = fail(client, csv=big)
    assert type(error) is AmeyoConnectionLost
    assert len(sim.upload_requests()) == 1


def test_adapter_retries_connect_only(sim, client):
    retry = client.session.get_adapter(client.upload_url(1, 13, 17)).max_retries
    assert (retry.connect, retry.read, retry.status, retry.other, retry.redirect) == (
        2,
        False,
        0,
        0,
        0,
    )
    assert retry.respect_retry_after_header is False


def test_injected_session_gets_the_safe_adapter_for_the_server_only(sim):
    session = requests.Session()
    client = AmeyoClient(sim.url, "demo", "demo-pass", session=session)
    assert client.session is session
    assert session.get_adapter(sim.url + "/x").max_retries.read is False
    assert session.get_adapter("http://other.example/") is session.adapters["http://"]
    assert upload(client).task_id


def test_wrong_base_url_path(sim):
    client = AmeyoClient(sim.url + "/wrong", "demo", "demo-pass")
    error = fail(client)
    assert type(error) is AmeyoNotFound
    assert "404" in str(error)
    assert sim.upload_requests() == []


def test_redirect_is_not_followed(sim):
    """A POST is sent to exactly the URL asked for: a redirect is reported, not followed."""
    target = sim.upload_url(1, 13, 17)

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(307)
            self.send_header("location", target)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with _serve(Redirect) as base:
        error = fail(AmeyoClient(base, "demo", "demo-pass"))
    assert type(error) is AmeyoUnexpectedResponse
    assert f"307 and redirects to {target}" in str(error)
    assert sim.upload_requests() == []


@contextmanager
def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(host="127.0.0.1", port=0, tls=True) as server:
        yield server


def test_tls_with_the_ca_bundle(tls_sim):
    tls_sim.reset()
    client = AmeyoClient(tls_sim.url, "demo", "demo-pass", verify=tls_sim.ca_path)
    assert upload(client).task_id
    assert tls_sim.upload_requests()[0]["headers"]["origin"] == "https://127.0.0.1"


def test_tls_untrusted_certificate_is_nothing_sent(tls_sim):
    tls_sim.reset()
    client = AmeyoClient(tls_sim.url, "demo", "demo-pass", connect_retries=0)
    error = fail(client)
    assert type(error) is AmeyoTLSError
    assert error.may_have_arrived is False
    assert "certificate" in str(error)
    assert "ca_bundle" in str(error)  # the hint says what to do
    assert tls_sim.upload_requests() == []


def test_missing_ca_bundle(tls_sim, tmp_path):
    client = AmeyoClient(tls_sim.url, "demo", "demo-pass", verify=str(tmp_path / "no.pem"))
    error = fail(client)
    assert type(error) is AmeyoTLSError
    assert error.may_have_arrived is False


def test_plain_http_to_a_tls_port(tls_sim):
    tls_sim.reset()
    client = AmeyoClient(tls_sim.url.replace("https:", "http:"), "demo", "demo-pass")
    error = fail(client)
    assert isinstance(error, AmeyoError)
    assert tls_sim.upload_requests() == []


# --- the password never shows ---------------------------------------------------------------

SECRET = "S3cret-Pa55word"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _failures(sim: SimulatorServer, closed_port: int) -> Iterator[tuple[str, AmeyoError]]:
    wrong = AmeyoClient(sim.url, "demo", SECRET, timeout=0.5)
    yield "wrong password", fail(wrong)
    yield (
        "refused",
        fail(AmeyoClient(f"http://127.0.0.1:{closed_port}", "demo", SECRET, connect_retries=0)),
    )
    # a user whose password is SECRET, so every fault answers an authenticated request
    sim_client = AmeyoClient(sim.url, "secretive", SECRET, timeout=0.5)
    for fault in [*sorted(FAULTS), "slow", "drop"]:
        sim.set_fault(17, fault, delay=3 if fault == "slow" else None)
        yield fault, fail(sim_client)
    sim.clear_faults()


@pytest.fixture
def secret_sim() -> Iterator[SimulatorServer]:
    users = {"demo": "demo-pass", "secretive": SECRET}
    with SimulatorServer(host="127.0.0.1", port=0, users=users) as server:
        yield server


def test_password_never_appears(secret_sim, closed_port, caplog):
    caplog.set_level(logging.DEBUG)
    token = base64.b64encode(f"secretive:{SECRET}".encode()).decode()
    client = AmeyoClient(secret_sim.url, "secretive", SECRET)
    assert SECRET not in repr(client) and SECRET not in str(client)
    seen = 0
    for name, error in _failures(secret_sim, closed_port):
        seen += 1
        texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
        texts += [repr(vars(e)) for e in _chain(error)]
        for text in texts:
            assert SECRET not in text, name
            assert token not in text, name
        assert error.__cause__ is None and error.__context__ is None, name
    assert seen == len(FAULTS) + 4
    for record in caplog.records:
        assert SECRET not in record.getMessage() and token not in record.getMessage()


def test_server_echoing_the_password_is_scrubbed():
    """A debug page that echoes the request headers must not carry them into the message."""

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            page = f"<html><title>Bad {self.headers['authorization']} {SECRET}</title></html>"
            body = page.encode()
            self.send_response(500)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with _serve(Echo) as base:
        error = fail(AmeyoClient(base, "demo", SECRET))
    assert isinstance(error, AmeyoServerError)
    token = base64.b64encode(f"demo:{SECRET}".encode()).decode()
    assert SECRET not in str(error) and token not in str(error)
    assert "Basic ***" in str(error)


def test_header_mapping_json_is_compact_and_ordered(sim, client):
    mapping = {"phone1": "phone1", "name": "customer_name", "z": "", "a": "email"}
    upload(client, header_mapping=mapping)
    raw = sim.upload_requests()[0]["fields"]["header_mapping"]
    assert raw == json.dumps(mapping, separators=(",", ":"), ensure_ascii=False)
    assert list(json.loads(raw)) == ["phone1", "name", "z", "a"]


@pytest.mark.parametrize(
    ("ids", "code", "setting"),
    [
        ((99, 13, 17), "CONF-1001", "cc_list_id"),
        ((1, 99, 17), "CONF-1002", "process_id"),
        ((1, 13, 99), "CONF-1003", "lead_id"),
    ],
)
def test_not_found_hint_names_the_one_setting(sim, ids, code, setting):
    client = AmeyoClient(sim.url, sim.username, sim.password)
    with pytest.raises(AmeyoNotFound) as err:
        client.upload_contacts(
            cc_list_id=ids[0], process_id=ids[1], lead_id=ids[2], csv=b"phone1\r\n9876543210\r\n",
            user_id="sup", header_mapping={"phone1": "phone1"},
        )
    text = str(err.value)
    assert code in text and f"Check {setting} in Settings" in text
    others = {"cc_list_id", "process_id", "lead_id"} - {setting}
    assert not any(other in text for other in others)
