"""The failure matrix: every way the server or the network can fail an upload, through the
command line (``xl-ameyo upload BOOK``) against the simulator over real loopback HTTP(S).

For each failure one test checks what an operations team relies on:

- the exit status (1: the server or the network failed; 0 for the one "odd but fine" answer);
- ONE line on stderr that names the cause (the server's own error code where it gave one)
  and the fix (key words per case), with no traceback;
- a FAILED row in the workbook's Log carrying the HTTP status (``http_code``) and the same
  message, including the server's code;
- the workbook otherwise intact: every zip member but the Log sheet byte for byte the same;
- from the simulator's request log (written as each POST arrives, before its body is read):
  how many POSTs reached the server: exactly 1 when bytes went out (answered, timed out,
  dropped: never re-sent), 0 when nothing could be sent (refused, unknown host, TLS).

README "Troubleshooting" is this table in words. Helpers here are shared with
tests/test_secrets.py, which runs the same cases looking for the password.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import socket
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
from click.testing import CliRunner, Result

from xl_ameyo.cli import cli
from xl_ameyo.simulator.server import SimulatorServer
from xl_ameyo.simulator.users import SimUser
from xl_ameyo.template import write_template

# Distinctive passwords: no XML-special characters (so a raw byte search of the workbook's
# XML would find them), and no substring of any message.
SECRET = "Zq7vault-0ps-Pa55-2891-Kx"
WRONG_SECRET = "Wr9ong-Pa55-6613-Tz-guess"
VIEWER_SECRET = "Vw4viewer-Pa55-7702-Qm"
USER = "ops.agent"
VIEWER = "ops.viewer"  # may not use contact center 1: 403

USERS = [
    SimUser(USER, SECRET),
    SimUser(VIEWER, VIEWER_SECRET, frozenset({1})),
]

#: leads of the template's columns: Customer Name, Mobile, Alternate Phone, E-mail, City
ROWS = [
    ["Asha Rao", "98765 43210", None, "asha@example.com", "Pune"],
    ["Vikram Das", "+91 91234 56780", "022-2345678", "vikram@example.com", "Mumbai"],
    ["Meera Iyer", 9988776655, None, None, "Chennai"],
    ["No Phone", None, None, "nophone@example.com", "Delhi"],  # invalid: skipped
]
#: variables that would change where requests goes or what it trusts
NETWORK_VARS = (
    "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
)


# --- workbooks -------------------------------------------------------------------------------


def make_book(path: Path, base_url: str, **settings: object) -> Path:
    """The template workbook aimed at the seed lead list (cc 1, process 13, lead list 17)."""
    values: dict[str, object] = dict(
        base_url=base_url, cc_list_id=1, process_id=13, lead_id=17, user_id="john"
    )
    values.update(settings)
    return write_template(path, settings=values, rows=ROWS)


def zip_members(path: Path) -> dict[str, bytes]:
    """Every member of the workbook, decompressed, in archive order."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def log_member(members: dict[str, bytes]) -> str:
    """The zip member holding the Log sheet, from workbook.xml and its relationships."""
    workbook = ET.fromstring(members["xl/workbook.xml"])
    rel_id = next(
        s.get(_REL_NS) for s in workbook.iter() if s.tag.endswith("}sheet")
        and s.get("name", "").casefold() == "log"
    )
    rels = ET.fromstring(members["xl/_rels/workbook.xml.rels"])
    target = next(r.get("Target") for r in rels if r.get("Id") == rel_id)
    return posixpath.normpath(target.lstrip("/") if target.startswith("/") else f"xl/{target}")


def assert_only_log_changed(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Same members in the same order; all but the Log sheet byte for byte the same."""
    assert list(after) == list(before)
    log = log_member(before)
    changed = [name for name in before if before[name] != after[name]]
    assert changed in ([log], []), changed


def read_log(path: Path) -> list[dict]:
    """The Log's data rows as {column: value}, read with openpyxl (not the product's reader)."""
    wb = openpyxl.load_workbook(path)
    ws = next(wb[n] for n in wb.sheetnames if n.casefold() == "log")
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = rows[0]
    return [
        {h: v for h, v in zip(header, row, strict=False) if h}
        for row in rows[1:]
        if any(v is not None for v in row)
    ]


# --- running the command ---------------------------------------------------------------------


def cli_env(username: str | None = USER, password: str | None = SECRET, **more: str | None):
    """AMEYO_USERNAME/AMEYO_PASSWORD as given, every other AMEYO_* and every proxy/CA variable
    of the developer's environment unset (lower-case spellings too)."""
    env: dict[str, str | None] = {
        k: None
        for k in os.environ
        if k.upper().startswith("AMEYO_") or k.upper() in NETWORK_VARS
    }
    env["AMEYO_USERNAME"] = username
    env["AMEYO_PASSWORD"] = password
    env.update(more)
    return env


def run_upload(book: Path, *args: str, env: dict | None = None) -> Result:
    """``xl-ameyo upload BOOK ARGS`` in-process; the OS credential store is never asked."""
    with mock.patch("xl_ameyo.credentials.stored_password", return_value=None):
        return CliRunner().invoke(
            cli, ["upload", str(book), *args], env=cli_env() if env is None else env
        )


def one_line_error(result: Result) -> str:
    """stderr: exactly one non-empty line, ``error: ...``, and no traceback anywhere."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0].removeprefix("error: ")


# --- servers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix_sim() -> Iterator[SimulatorServer]:
    """A plain-HTTP simulator whose users have the distinctive passwords."""
    with SimulatorServer(host="127.0.0.1", port=0, users=USERS) as server:
        yield server


@pytest.fixture(scope="module")
def matrix_tls_sim() -> Iterator[SimulatorServer]:
    """The same over HTTPS, with a certificate from a private CA (``.ca_path``)."""
    with SimulatorServer(host="127.0.0.1", port=0, tls=True, users=USERS) as server:
        yield server


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    #: "sim" (HTTP), "tls" (HTTPS, untrusted), "refused" (closed port), "unknown" (.invalid)
    target: str = "sim"
    fault: str | None = None
    delay: float | None = None
    settings: dict = field(default_factory=dict)
    user: tuple[str, str] = (USER, SECRET)
    exit_code: int = 1
    #: words the one stderr line must hold (cause and fix), compared ignoring case
    words: tuple[str, ...] = ()
    #: the Log's http_code
    http_code: int | None = None
    #: what the Log's message must quote: the server's error code, else the status
    code: str | None = None
    #: POSTs the server saw
    posts: int = 1
    #: whether the FAILED Log row holds the task id the server gave anyway
    task_id_logged: bool = False


NOTHING_SENT = "nothing was sent"
MAY_HAVE_ARRIVED = "may have reached the server: check the lead list in Ameyo before"
#: a 5xx may come from a gateway after the server took the upload: check before re-sending
SERVER_FAILED = "check the lead list in Ameyo before trying again later"

CASES = [
    # --- nothing sent ---
    Case("connection refused", target="refused", posts=0,
         words=("could not connect to 127.0.0.1:", "connection refused", NOTHING_SENT,
                "check base_url", "reachable")),
    Case("unknown host", target="unknown", posts=0,
         words=("could not find the server ameyo.invalid", "unknown host name", NOTHING_SENT,
                "check base_url")),
    Case("TLS certificate not trusted", target="tls", posts=0,
         words=("secure (tls) connection", "certificate verify failed", NOTHING_SENT,
                "set ca_bundle in settings", "ca certificate (pem)")),
    # --- the server answered an error ---
    Case("401 wrong password", user=(USER, WRONG_SECRET), http_code=401, code="AUTH-1001",
         words=("answered 401 AUTH-1001", "check the user name and password", "xl-ameyo login",
                "AMEYO_PASSWORD")),
    Case("403 no access", user=(VIEWER, VIEWER_SECRET), http_code=403, code="AUTH-1002",
         words=("answered 403 AUTH-1002", "administrator", "access to the contact center")),
    Case("404 contact center", settings={"cc_list_id": 99}, http_code=404, code="CONF-1001",
         words=("answered 404 CONF-1001", "contact center not found", "cc_list_id")),
    Case("404 process", settings={"process_id": 99}, http_code=404, code="CONF-1002",
         words=("answered 404 CONF-1002", "process not found", "process_id")),
    Case("404 lead list", settings={"lead_id": 99}, http_code=404, code="CONF-1003",
         words=("answered 404 CONF-1003", "lead_id")),
    Case("400 object envelope", fault="bad-request", http_code=400, code="VAL-1000",
         words=("answered 400 VAL-1000", "check the mapping sheet")),
    Case("400 legacy shape", fault="legacy-status", http_code=400, code="INVALID_REQUEST",
         words=("answered 400 INVALID_REQUEST", "invalid header mapping",
                "check the mapping sheet")),
    Case("413 too large", fault="too-large", http_code=413, code="413",
         words=("413", "request entity too large", "max_rows_per_upload")),
    Case("500 HTML page", fault="server-error-html", http_code=500, code="500",
         words=("answered 500 with an html page", "http status 500", SERVER_FAILED)),
    Case("500 object envelope", fault="object-envelope", http_code=500, code="IS-1002",
         words=("answered 500 IS-1002", "internal server error", SERVER_FAILED)),
    Case("502 bad gateway", fault="bad-gateway", http_code=502, code="502",
         words=("502", "bad gateway", SERVER_FAILED)),
    Case("503 unavailable", fault="unavailable", http_code=503, code="503",
         words=("503", "service temporarily unavailable", SERVER_FAILED)),
    Case("200 with null", fault="null-body", http_code=200, code="null",
         words=("answered 200 with the body null", "login failed",
                "check the user name and password")),
    Case("200 HTML login page", fault="garbage", http_code=200, code="200",
         words=("200 with an html page", "ameyo | login", "base_url",
                "may have been accepted: check the lead list in ameyo before")),
    Case("202 with a task id", fault="accepted", http_code=202, code="202",
         words=("answered 202, not 200, with task id", "may have been accepted",
                "before uploading these rows again"), task_id_logged=True),
    # --- odd but fine ---
    Case("200 JSON as text/plain", fault="text-plain-json", exit_code=0, http_code=200),
    # --- bytes went out, no answer ---
    Case("timeout", fault="slow", delay=30, settings={"timeout_s": 0.5},
         words=("no answer came within 0.5 s", MAY_HAVE_ARRIVED, "raise timeout_s")),
    Case("connection reset mid-upload", fault="drop",
         words=("the connection to 127.0.0.1:", "broke after", "connection reset",
                MAY_HAVE_ARRIVED)),
]


@dataclass
class Run:
    """One case, run: the command's result, the book before and after, the server asked."""

    case: Case
    book: Path
    before: dict[str, bytes]
    result: Result
    server: SimulatorServer


def base_url_for(case: Case, sim: SimulatorServer, tls_sim: SimulatorServer) -> str:
    if case.target == "refused":
        return f"http://127.0.0.1:{free_port()}"
    if case.target == "unknown":
        return "https://ameyo.invalid:8443"  # .invalid never resolves (RFC 2606)
    return tls_sim.url if case.target == "tls" else sim.url


def run_case(
    case: Case, folder: Path, sim: SimulatorServer, tls_sim: SimulatorServer
) -> Run:
    sim.reset()
    tls_sim.reset()
    server = tls_sim if case.target == "tls" else sim
    book = make_book(folder / "leads.xlsx", base_url_for(case, sim, tls_sim), **case.settings)
    if case.fault:
        server.set_fault(17, case.fault, delay=case.delay)
    before = zip_members(book)
    result = run_upload(book, env=cli_env(*case.user))
    return Run(case, book, before, result, server)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_failure_matrix(case, tmp_path, matrix_sim, matrix_tls_sim):
    run = run_case(case, tmp_path, matrix_sim, matrix_tls_sim)
    result = run.result

    # the exit status
    assert result.exit_code == case.exit_code, result.output

    # one line naming the cause and the fix, no traceback
    if case.exit_code == 0:
        assert result.stderr == ""
    else:
        message = one_line_error(result)
        for word in case.words:
            assert word.casefold() in message.casefold(), (word, message)
    assert "Traceback" not in result.output
    assert "Log:     1 row appended" in result.stdout

    # the Log row
    [row] = read_log(run.book)
    assert row["http_code"] == case.http_code
    assert row["cc_list_id"] == case.settings.get("cc_list_id", 1)
    assert row["rows_sent"] == 3 and row["rows_skipped"] == 1
    if case.exit_code == 0:
        assert row["status"] == "OK"
        assert row["task_id"] == str(run.server.upload_requests()[0]["task_id"])
    else:
        assert row["status"] == "FAILED"
        if case.task_id_logged:
            assert row["task_id"] == str(run.server.upload_requests()[0]["task_id"])
            assert row["task_id"] in row["message"]
        else:
            assert row["task_id"] in (None, "")
        assert row["message"] == message  # the Log says what the screen said
        if case.code:
            assert case.code in row["message"]

    # the workbook: only the Log sheet changed
    assert_only_log_changed(run.before, zip_members(run.book))

    # never re-sent after bytes went out; nothing sent when nothing could be
    assert len(run.server.upload_requests()) == case.posts
    if case.target in ("refused", "unknown"):
        assert matrix_sim.upload_requests() == [] and matrix_tls_sim.upload_requests() == []


def test_every_case_is_distinct_and_named():
    """Guard against a copy-paste case that proves nothing twice."""
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    assert all(c.words for c in CASES if c.exit_code)


def test_a_timed_out_upload_was_done_by_the_server(tmp_path, matrix_sim, matrix_tls_sim):
    """Why a timeout says "check the lead list before trying again": the server did the work."""
    [case] = [c for c in CASES if c.fault == "slow"]
    run = run_case(case, tmp_path, matrix_sim, matrix_tls_sim)
    assert run.result.exit_code == 1
    [task] = matrix_sim.tasks()
    task = matrix_sim.wait_for_task(task["task_id"])
    assert task["status"] == "COMPLETED" and task["inserted"] == 3
    # the Log says FAILED (the re-upload guard only counts OK rows): the one-line message is
    # what stops a person from sending the same leads twice
    assert read_log(run.book)[0]["status"] == "FAILED"
def test_a_202_with_a_task_id_fails_but_guards_a_second_upload(
    tmp_path, matrix_sim, matrix_tls_sim
):
    """SPEC §3: success is 200 and a task id; a 202 with one is a failure (exit 1), but the
    task exists, so sending the same rows again asks for --allow-reupload like a success."""
    [case] = [c for c in CASES if c.fault == "accepted"]
    run = run_case(case, tmp_path, matrix_sim, matrix_tls_sim)
    assert run.result.exit_code == 1
    [task] = matrix_sim.tasks()
    assert matrix_sim.wait_for_task(task["task_id"])["status"] == "COMPLETED"

    again = run_upload(run.book, env=cli_env(*case.user))
    assert again.exit_code == 2
    assert "already uploaded" in again.stderr and task["task_id"] in again.stderr
    assert len(matrix_sim.upload_requests()) == 1  # nothing sent the second time
    matrix_sim.clear_faults()
    forced = run_upload(run.book, "--allow-reupload", env=cli_env(*case.user))
    assert forced.exit_code == 0, forced.output
    assert len(matrix_sim.upload_requests()) == 2


@pytest.fixture
def unusable_temp(tmp_path, matrix_sim, monkeypatch):
    """A book, and a system temp folder that is a file (what a full disk also does)."""
    import tempfile

    matrix_sim.reset()
    book = make_book(tmp_path / "leads.xlsx", matrix_sim.url)
    not_a_folder = tmp_path / "tmp-is-a-file"
    not_a_folder.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    return book, not_a_folder


def test_unusable_temp_folder_is_one_line_and_nothing_sent(unusable_temp, matrix_sim,
                                                           monkeypatch):
    """A CSV larger than what is kept in memory goes on into the system temp folder; when that
    fails (disk full, a TMPDIR that is a file), the upload stops with one line and exit 2,
    nothing sent."""
    from xl_ameyo import pipeline

    monkeypatch.setattr(pipeline, "CSV_IN_MEMORY", 16)  # this book's CSV is larger
    book, not_a_folder = unusable_temp
    before = zip_members(book)
    result = run_upload(book)
    assert result.exit_code == 2, result.output
    message = one_line_error(result)
    assert "temporary" in message and str(not_a_folder) in message
    assert re.search(r"TMPDIR|TEMP", message)
    assert matrix_sim.upload_requests() == []
    [row] = read_log(book)
    assert row["status"] == "FAILED" and row["message"] == message
    assert_only_log_changed(before, zip_members(book))


def test_a_csv_kept_in_memory_needs_no_temp_folder(unusable_temp, matrix_sim):
    """Up to CSV_IN_MEMORY the CSV never touches a disk: the same unusable temp folder then
    stops nothing, and the server gets the CSV whole."""
    book, _ = unusable_temp
    result = run_upload(book)
    assert result.exit_code == 0, result.output
    [request] = matrix_sim.upload_requests()
    [row] = read_log(book)
    sent = hashlib.sha256(request["csv"].encode("utf-8")).hexdigest()
    assert row["status"] == "OK" and row["csv_sha256"] == sent
