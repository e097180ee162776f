"""SPEC §5 "Safety rules", end to end: no automatic re-send of a POST that may have arrived,
re-uploads of identical content refused without --allow-reupload, and the password (and the
Authorization header) nowhere: not in the output, the logs, or any part of the workbook."""

from __future__ import annotations

import base64
import logging
import socket
import urllib.parse

import pytest

from tests.books import (
    LEAD,
    cli_env,
    edit_book,
    lead_book,
    log_dicts,
    one_line_error,
    upload,
    zip_bytes,
)
from xl_ameyo.simulator.server import SimulatorServer


@pytest.fixture
def book(tmp_path):
    return tmp_path / "leads.xlsx"


# --- no automatic re-send ------------------------------------------------------------------


def test_dropped_connection_is_not_resent(sim, book):
    sim.set_fault(LEAD, "drop")
    result = upload(lead_book(book, sim.url))
    assert result.exit_code == 1, result.output
    line = one_line_error(result)
    assert "may have reached" in line
    assert len(sim.upload_requests()) == 1  # exactly one POST: never sent again
    logged = log_dicts(book)[-1]
    assert logged["status"] == "FAILED"
    assert logged["http_code"] is None
    assert logged["task_id"] in (None, "")


@pytest.mark.parametrize("fault", ["unavailable", "bad-gateway", "object-envelope"])
def test_server_errors_are_not_resent(sim, book, fault):
    sim.set_fault(LEAD, fault)
    assert upload(lead_book(book, sim.url)).exit_code == 1
    assert len(sim.upload_requests()) == 1


def test_a_dropped_upload_is_not_held_against_the_next_run(sim, book):
    # the failed attempt is no "earlier successful upload": the next run sends (the analyst
    # decides, with the lead list in front of them, whether it arrived)
    sim.set_fault(LEAD, "drop", times=1)
    lead_book(book, sim.url)
    assert upload(book).exit_code == 1
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert len(sim.upload_requests()) == 2
    assert [r["status"] for r in log_dicts(book)] == ["FAILED", "OK"]


# --- re-uploads ----------------------------------------------------------------------------


def test_same_upload_twice_is_refused_then_allowed(sim, book):
    lead_book(book, sim.url)
    assert upload(book).exit_code == 0
    first_task = sim.upload_requests()[0]["task_id"]

    again = upload(book)
    assert again.exit_code == 2
    line = one_line_error(again)
    assert "--allow-reupload" in line
    assert first_task in line  # says which upload it repeats
    assert len(sim.upload_requests()) == 1  # nothing sent

    forced = upload(book, "--allow-reupload")
    assert forced.exit_code == 0, forced.output
    assert len(sim.upload_requests()) == 2

    # the newest successful upload is just as identical
    assert upload(book).exit_code == 2
    assert len(sim.upload_requests()) == 2
    assert [r["status"] for r in log_dicts(book)] == ["OK", "FAILED", "OK", "FAILED"]


def test_same_rows_to_another_lead_list_is_not_a_reupload(sim, book):
    lead_book(book, sim.url)
    assert upload(book).exit_code == 0
    edit_book(book, "Settings", {"B5": 18})  # lead_id
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert [r["lead_id"] for r in sim.upload_requests()] == [17, 18]
    # back to list 17: that one did get these rows
    edit_book(book, "Settings", {"B5": 17})
    assert upload(book).exit_code == 2
    assert len(sim.upload_requests()) == 2


def test_changed_rows_are_not_a_reupload(sim, book):
    lead_book(book, sim.url)
    assert upload(book).exit_code == 0
    edit_book(book, "Leads", {"C3": "Mumbai"})
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert len(sim.upload_requests()) == 2


def test_invalid_rows_do_not_make_content_different(sim, book):
    # what counts is the CSV sent: a new invalid row changes nothing that is sent
    lead_book(book, sim.url)
    assert upload(book).exit_code == 0
    edit_book(book, "Leads", {"A4": "No phone", "C4": "Goa"})
    assert upload(book).exit_code == 2
    assert len(sim.upload_requests()) == 1


def test_same_rows_with_other_flags_is_still_a_reupload(sim, book):
    # SPEC §5: same csv_sha256 and ids -> confirmation needed, whatever the flags
    lead_book(book, sim.url)
    assert upload(book).exit_code == 0
    edit_book(book, "Settings", {"A7": "update_duplicate", "B7": True})
    assert upload(book).exit_code == 2
    assert upload(book, "--allow-reupload").exit_code == 0
    assert sim.upload_requests()[-1]["fields"]["update_duplicate"] == "true"


def test_after_a_failed_upload_the_same_rows_are_sent(sim, book):
    sim.set_fault(LEAD, "object-envelope", times=1)
    lead_book(book, sim.url)
    assert upload(book).exit_code == 1
    assert upload(book).exit_code == 0
    assert len(sim.upload_requests()) == 2


SPEC_COLUMNS = [
    "timestamp", "sheet", "rows_sent", "rows_skipped", "cc_list_id", "process_id", "lead_id",
    "user_id", "update_duplicate", "churn_updated_records", "migrate", "task_id", "status",
    "http_code", "message", "request_id", "csv_sha256", "duration_s",
]


@pytest.mark.parametrize(
    "log",
    [
        [["Upload history"], [None]],                               # a title, no header
        [["timestamp", "sheet", "rows_sent"]],                      # an older, shorter header
        [["status", *(c for c in SPEC_COLUMNS if c != "status")]],  # columns moved around
        [[c.upper() for c in SPEC_COLUMNS]],                         # spelled in capitals
        [["Notes"], SPEC_COLUMNS],                                  # a note above the header
    ],
    ids=["title-row", "short-header", "reordered", "capitals", "note-above"],
)
def test_reupload_found_whatever_the_log_header_says(sim, book, log):
    # the Log row goes in whatever the existing header is; the next run must still see it
    lead_book(book, sim.url, extra={"Log": log})
    assert upload(book).exit_code == 0
    again = upload(book)
    assert again.exit_code == 2, again.output
    assert "--allow-reupload" in one_line_error(again)
    assert len(sim.upload_requests()) == 1
    assert upload(book, "--allow-reupload").exit_code == 0
    assert len(sim.upload_requests()) == 2


def test_reupload_found_when_the_log_header_row_was_deleted(sim, book):
    import openpyxl

    lead_book(book, sim.url)
    assert upload(book).exit_code == 0
    wb = openpyxl.load_workbook(book)
    wb["Log"].delete_rows(1)
    wb.save(book)
    again = upload(book)
    assert again.exit_code == 2, again.output
    assert len(sim.upload_requests()) == 1


def test_dry_run_is_not_an_earlier_upload_and_ignores_the_log(sim, book):
    lead_book(book, sim.url)
    assert upload(book).exit_code == 0
    # a dry run of identical content: checks only, sends nothing, passes
    result = upload(book, "--dry-run")
    assert result.exit_code == 0, result.output
    assert len(sim.upload_requests()) == 1


# --- the password appears nowhere ---------------------------------------------------------

SECRET_USER = "analyst"
SECRET = "Zq7-Unique-Pa55word-8841"
WRONG = "Wr0ng-Distinct-Pw-5521"


@pytest.fixture(scope="module")
def secret_sim():
    """A simulator of its own whose only user has a distinctive password."""
    with SimulatorServer(host="127.0.0.1", port=0, users={SECRET_USER: SECRET}) as server:
        yield server


@pytest.fixture
def ssim(secret_sim):
    secret_sim.reset()
    return secret_sim


def forms(password: str) -> list[bytes]:
    """Every shape the password could leak in: plain, in an Authorization header, URL- and
    XML-escaped, UTF-16 (how some XML parts could hold it)."""
    token = base64.b64encode(f"{SECRET_USER}:{password}".encode()).decode()
    texts = {password, token, urllib.parse.quote(password), password.replace("-", "&#45;")}
    out = [t.encode("utf-8") for t in texts]
    out += [password.encode("utf-16-le"), password.encode("utf-16-be")]
    return out


def assert_nowhere(password: str, book, result, caplog) -> None:
    output = (result.stdout + result.stderr).encode("utf-8")
    logs = caplog.text.encode("utf-8")
    members = zip_bytes(book)
    raw = book.read_bytes()
    for form in forms(password):
        assert form not in output
        assert form not in logs
        assert form not in raw
        for name, data in members.items():
            assert form not in data, name
    for row in log_dicts(book):
        for value in row.values():
            assert password not in str(value)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PATHS = {
    "ok": ({}, None, 0),
    "verbose-ok": ({}, None, 0),
    "wrong-password": ({"password": WRONG}, None, 1),
    "server-500": ({}, "object-envelope", 1),
    "server-html": ({}, "server-error-html", 1),
    "drop": ({}, "drop", 1),
    "garbage": ({}, "garbage", 1),
    "settings-error": ({}, "settings", 2),
    "unknown-lead": ({}, "lead", 1),
    "refused": ({}, "refused", 1),
    "reupload": ({}, "reupload", 2),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_password_appears_nowhere(ssim, book, caplog, path):
    caplog.set_level(logging.DEBUG)
    creds, fault, code = PATHS[path]
    env = cli_env(username=SECRET_USER, password=SECRET, **{
        f"AMEYO_{k.upper()}": v for k, v in creds.items()})
    settings: dict = {}
    url = ssim.url
    if fault == "settings":
        settings = {"lead list": 17}
    elif fault == "lead":
        settings = {"lead_id": 999}
    elif fault == "refused":
        url = f"http://127.0.0.1:{closed_port()}"
    elif fault == "reupload":
        lead_book(book, url)
        assert upload(book, env=env).exit_code == 0
    elif fault:
        ssim.set_fault(LEAD, fault)
    if fault != "reupload":
        lead_book(book, url, settings=settings)
    args = ["-v"] if path == "verbose-ok" else []
    result = upload(book, *args, env=env)
    assert result.exit_code == code, result.output
    if code == 1 and fault not in ("refused",):
        assert len(ssim.upload_requests()) == 1
    if code == 0:
        assert ssim.upload_requests()[-1]["auth_user"] == SECRET_USER
    assert_nowhere(SECRET, book, result, caplog)
    assert_nowhere(WRONG, book, result, caplog)
    # the simulator keeps no Authorization header either
    for req in ssim.upload_requests():
        assert "authorization" not in req["headers"]
