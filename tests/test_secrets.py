"""The password appears nowhere (SPEC §5): after every path of the failure matrix and after
a success, neither the password nor its ``Authorization: Basic ...`` form shows up in

- the command's stdout and stderr,
- the workbook (its bytes and every zip member, decompressed; the Log's cells),
- any file in the work folder, the data folder (the upload ledger) or the temporary folder
  (which must be empty afterwards: the CSV is an anonymous temporary file),
- the error object: ``str``, ``repr``, its formatted traceback, the attributes of every
  exception in its chain; the Log records; Python's log records (urllib3 at DEBUG);
- ``repr`` of the client and of its attributes.

A server that echoes the credentials back (a debug page, a misconfigured proxy) must not get
them into the workbook either: every text that comes from the server is scrubbed.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import tempfile
import traceback
import urllib.parse
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring

from tests.test_failure_matrix import (
    CASES,
    SECRET,
    USER,
    VIEWER,
    VIEWER_SECRET,
    WRONG_SECRET,
    cli_env,
    make_book,
    matrix_sim,  # noqa: F401 - fixture
    matrix_tls_sim,  # noqa: F401 - fixture
    read_log,
    run_case,
    run_upload,
)
from xl_ameyo import pipeline
from xl_ameyo.client import AmeyoClient
from xl_ameyo.credentials import service_name
from xl_ameyo.settings import parse_settings

#: a password with what percent-encoding, quote_plus, JSON and latin-1 each change
FANCY_SECRET = "Ünï cøde+Pa55/wörd=9%x-€"


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def echoed(password: str) -> list[str]:
    """The password as a server may echo it: percent-encoded (quote, quote_plus, either hex
    case), JSON-escaped, its UTF-8 bytes read as latin-1 or cp1252."""
    quoted = urllib.parse.quote(password, safe="")
    latin1 = password.encode().decode("latin-1")
    return [
        password,
        urllib.parse.quote(password),
        quoted,
        _lower_hex(quoted),
        urllib.parse.quote_plus(password),
        _lower_hex(urllib.parse.quote_plus(password)),
        json.dumps(password)[1:-1],
        latin1,
        password.encode().decode("cp1252", errors="replace"),
    ]


def forms(user: str, password: str) -> list[bytes]:
    """Every shape the password could leak in: each echoed form, the Basic token (and its
    own percent-encoding), as UTF-16 (a part written by another program could hold it so)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    latin1 = password.encode().decode("latin-1")
    texts = {*echoed(password), token, urllib.parse.quote(token),
             urllib.parse.quote(token, safe=""),
             # as a message would show it: the C1 controls latin-1 gives replaced by "?"
             "".join(c if c.isprintable() else "?" for c in latin1)}
    texts = {t for t in texts if "\ufffd" not in t}
    out = [t.encode("utf-8") for t in texts]
    out += [password.encode("utf-16-le"), password.encode("utf-16-be")]
    return out


ALL_FORMS = [
    *forms(USER, SECRET),
    *forms(USER, WRONG_SECRET),
    *forms(VIEWER, VIEWER_SECRET),
    *forms(USER, FANCY_SECRET),
]


def assert_clean(blob: str | bytes, where: str) -> None:
    data = blob.encode("utf-8") if isinstance(blob, str) else blob
    for form in ALL_FORMS:
        assert form not in data, f"{form!r} in {where}"


def files_under(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under ``folder``, and every member of every zip file, decompressed."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path), data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    yield f"{path}!{info.filename}", zf.read(info)


def exception_texts(error: BaseException) -> Iterator[str]:
    yield str(error)
    yield repr(error)
    yield "".join(traceback.format_exception(error))
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield repr(vars(e))
        yield repr(e.args)
        e = e.__cause__ or e.__context__


@pytest.fixture
def isolated(tmp_path, monkeypatch, caplog):
    """A work folder and a temporary folder of the test's own, every outcome of
    ``pipeline.run_upload`` kept, and every log record at DEBUG."""
    work = tmp_path / "work"
    temp = tmp_path / "temp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    outcomes: list[pipeline.Outcome] = []
    real = pipeline.run_upload

    def keep(*args, **kwargs):
        outcome = real(*args, **kwargs)
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(pipeline, "run_upload", keep)
    caplog.set_level(logging.DEBUG)
    return work, temp, outcomes


def scan_everything(result, work: Path, temp: Path, outcomes, caplog) -> None:
    assert "Traceback" not in result.output
    assert_clean(result.stdout, "stdout")
    assert_clean(result.stderr, "stderr")
    assert list(temp.iterdir()) == [], "the temporary folder is not empty"
    scanned = 0
    for name, data in files_under(work.parent):
        assert_clean(data, name)
        scanned += 1
    assert scanned > 5  # the workbook and its members at least
    for name, data in files_under(Path(os.environ["XL_AMEYO_DATA_DIR"])):
        assert_clean(data, name)  # the upload ledger, the workbook locks
    assert outcomes, "the upload did not run"
    for outcome in outcomes:
        assert_clean(repr(outcome.records), "Log records")
        assert_clean(repr(outcome.results), "results")
        if outcome.error is not None:
            for text in exception_texts(outcome.error):
                assert_clean(text, "the error")
    assert_clean(caplog.text, "log records")
    for record in caplog.records:
        assert_clean(repr(record.args), "log record args")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_password_after_any_failure(
    case, isolated, caplog, matrix_sim, matrix_tls_sim  # noqa: F811
):
    work, temp, outcomes = isolated
    run = run_case(case, work, matrix_sim, matrix_tls_sim)
    assert run.result.exit_code == case.exit_code, run.result.output
    scan_everything(run.result, work, temp, outcomes, caplog)
    for row in read_log(run.book):
        assert_clean(repr(row), "Log cells")


def test_no_password_after_success_dry_run_and_refused_reupload(
    isolated, caplog, matrix_sim  # noqa: F811
):
    work, temp, outcomes = isolated
    matrix_sim.reset()
    book = make_book(work / "leads.xlsx", matrix_sim.url)
    assert run_upload(book, "--dry-run").exit_code == 0
    assert run_upload(book, "-v").exit_code == 0
    result = run_upload(book)
    assert result.exit_code == 2 and "already uploaded" in result.stderr
    assert [r["status"] for r in read_log(book)] == ["DRY RUN", "OK", "FAILED"]
    assert len(matrix_sim.upload_requests()) == 1
    assert matrix_sim.upload_requests()[0]["auth_user"] == USER
    scan_everything(result, work, temp, outcomes, caplog)


def test_password_from_the_credential_store_leaves_no_trace(
    isolated, caplog, matrix_sim, tmp_path_factory  # noqa: F811
):
    """``xl-ameyo login`` keeps it in the OS credential store (here a file-backed keyring,
    outside the scanned folders); the upload finds it there and writes it nowhere else."""
    work, temp, outcomes = isolated
    matrix_sim.reset()
    store = PlaintextKeyring()
    store.file_path = str(tmp_path_factory.mktemp("keyring") / "store.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(store)
    try:
        store.set_password(service_name(matrix_sim.url), USER, SECRET)
        book = make_book(work / "leads.xlsx", matrix_sim.url, username=USER)
        from click.testing import CliRunner

        from xl_ameyo.cli import cli

        result = CliRunner().invoke(
            cli, ["upload", str(book)], env=cli_env(username=None, password=None)
        )
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 0, result.output
    assert matrix_sim.upload_requests()[0]["auth_user"] == USER
    assert store.get_password(service_name(matrix_sim.url), USER) == SECRET
    scan_everything(result, work, temp, outcomes, caplog)


def test_client_repr_and_attributes_hide_the_password(matrix_sim):  # noqa: F811
    client = AmeyoClient(matrix_sim.url, USER, SECRET)
    for text in (repr(client), str(client), repr(vars(client)), repr(client.session.__dict__)):
        assert_clean(text, "the client")
    assert USER in repr(client)  # the user name is not a secret: it says who connects
    settings = parse_settings(
        [["base_url", matrix_sim.url], ["cc_list_id", 1], ["process_id", 13], ["lead_id", 17],
         ["user_id", "john"], ["username", USER]]
    )
    assert_clean(repr(settings), "Settings")


@pytest.mark.parametrize("in_memory", [True, False])
def test_the_csv_being_sent_is_in_memory_or_an_anonymous_file_closed_after_it(
    isolated, matrix_sim, monkeypatch, in_memory  # noqa: F811
):
    """The CSV (the leads: personal data) is in memory, or beyond ``CSV_IN_MEMORY`` an
    anonymous temporary file (SPEC §5): while it is sent it has no name in any folder (so no
    signal, crash or kill can leave it behind), and it is closed after a success, a failure,
    and Ctrl-C."""
    work, temp, _ = isolated
    if not in_memory:
        monkeypatch.setattr(pipeline, "CSV_IN_MEMORY", 16)  # these CSVs are larger
    seen: list = []
    real = AmeyoClient.upload_contacts

    def spy(self, **kwargs):
        csv = kwargs["csv"]
        assert not isinstance(csv, (str, os.PathLike))
        assert isinstance(csv, io.BytesIO) == in_memory
        if not in_memory and os.name != "nt":  # POSIX: unlinked at once (Windows: deleted
            assert isinstance(csv.name, int)   # when closed)
        assert list(temp.iterdir()) == []
        data = csv.read()
        csv.seek(0)
        assert b"98765" in data or b"9123456780" in data
        seen.append(csv)
        return real(self, **kwargs)

    monkeypatch.setattr(AmeyoClient, "upload_contacts", spy)
    matrix_sim.reset()
    assert run_upload(make_book(work / "ok.xlsx", matrix_sim.url)).exit_code == 0
    matrix_sim.set_fault(17, "drop")
    # the same rows from other workbooks: past the re-upload guard on purpose
    again = "--allow-reupload"
    assert run_upload(make_book(work / "drop.xlsx", matrix_sim.url), again).exit_code == 1

    def explode(self, **kwargs):
        spy(self, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C while sending

    monkeypatch.setattr(AmeyoClient, "upload_contacts", explode)
    matrix_sim.clear_faults()
    assert run_upload(make_book(work / "ctrl-c.xlsx", matrix_sim.url), again).exit_code == 1
    assert list(temp.iterdir()) == []
    assert len(seen) == 3 and all(f.closed for f in seen)


# --- a server that echoes the credentials -----------------------------------------------------


class Echo(BaseHTTPRequestHandler):
    """Answers every upload by reflecting its credentials into the place ``mode`` says."""

    mode = "header"

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        header = self.headers.get("authorization", "")
        token = header.split(" ", 1)[-1]
        password = base64.b64decode(token).decode().split(":", 1)[-1] if token else ""
        both = f"{header} {password}"
        status, content_type, extra = 500, "application/json", {}
        error = {"error_code": "X-1", "message": "failed", "description": "details"}
        body: object = {"http_code": 500, "response": {"http_code": 500, "error_data": error}}
        mode = type(self).mode
        if mode == "header":
            extra["x-request-id"] = both
        elif mode == "json":
            error.update(error_code=password, message=header, description=both)
            body["request_id"] = both  # type: ignore[index]
        elif mode == "legacy":
            body = {"statusCode": 400, "errorCode": password, "errorMessage": header}
            status = 400
        elif mode == "html":
            content_type = "text/html"
            body = f"<html><title>Error {both}</title><body>{both}</body></html>"
        elif mode == "text":
            content_type = "text/plain"
            body = f"request headers:\n{self.headers}"
            status = 502
        elif mode == "redirect":
            status = 302
            extra["location"] = f"http://127.0.0.1/login?auth={token}&pw={password}"
            body = ""
        elif mode == "header-latin1":
            # the password's UTF-8 bytes in a header: http.client reads them as latin-1
            extra["x-request-id"] = password.encode().decode("latin-1")
        elif mode == "encoded":
            content_type = "text/plain"
            body = " | ".join(echoed(password)) + f" | {urllib.parse.quote(token, safe='')}"
            status = 502
        elif mode == "encoded-json":
            error.update(error_code=urllib.parse.quote_plus(password),
                         message=_lower_hex(urllib.parse.quote(password, safe="")),
                         description=password)  # json.dumps escapes it as \\uXXXX
            body["request_id"] = urllib.parse.quote(password)  # type: ignore[index]
        elif mode == "encoded-redirect":
            status = 302
            extra["location"] = ("http://127.0.0.1/login?pw="
                                 + _lower_hex(urllib.parse.quote_plus(password)))
            body = ""
        elif mode == "task-id":
            status = 200
            extra["x-request-id"] = both
            body = {"http_code": 200, "request_id": None,
                    "response": [{"data": {"task_id": both}, "http_code": 200}]}
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in extra.items():
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:  # send_header writes latin-1: send the UTF-8 bytes
                value = value.encode().decode("latin-1")
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def echo_server(mode: str) -> Iterator[str]:
    handler = type("EchoMode", (Echo,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("password", [SECRET, FANCY_SECRET], ids=["plain", "fancy"])
@pytest.mark.parametrize("mode", ["header", "json", "legacy", "html", "text", "redirect",
                                  "task-id", "header-latin1", "encoded", "encoded-json",
                                  "encoded-redirect"])
def test_a_server_echoing_the_credentials_cannot_put_them_in_the_workbook(
    isolated, caplog, mode, password
):
    work, temp, outcomes = isolated
    with echo_server(mode) as url:
        book = make_book(work / "leads.xlsx", url)
        result = run_upload(book, env=cli_env(USER, password))
    assert result.exit_code in (0, 1), result.output
    scan_everything(result, work, temp, outcomes, caplog)
    [row] = read_log(book)
    assert_clean(repr(row), "Log cells")
