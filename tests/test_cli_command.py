"""SPEC §4 "Headless command line", end to end: --sheet, --dry-run, exit statuses, locked and
read-only workbooks, everything else in BOOK kept byte for byte (an .xlsm with a VBA project,
a ribbon part, styles and formulas with cached values), `python -m xl_ameyo` as a real
process, and one line on stderr for every failure."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font, PatternFill

from tests.books import (
    LEAD,
    PASSWORD,
    USERNAME,
    cli_env,
    edit_book,
    lead_book,
    log_dicts,
    mapping_rows,
    one_line_error,
    settings_rows,
    upload,
    zip_bytes,
)
from tests.xlsx_fixtures import (
    QUICKSTART_XLSM,
    RIBBON_XLAM,
    patch_member,
    rewrite_members,
    set_cached_values,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def book(tmp_path):
    return tmp_path / "leads.xlsx"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_sheets(book, url, **settings):
    return lead_book(
        book, url, data_sheet="North", rows=[["N1", "9000000001", "Leh"]], settings=settings,
        extra={"South": [["Name", "Mobile", "City"], ["S1", "9000000002", "Kochi"],
                         ["S2", "9000000003", "Madurai"]]},
    )


# --- --sheet and --dry-run -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["South", "south", "SOUTH"])
def test_sheet_option_picks_the_sheet(sim, book, name):
    result = upload(two_sheets(book, sim.url), "--sheet", name)
    assert result.exit_code == 0, result.output
    (req,) = sim.upload_requests()
    assert req["csv"] == "Name,Mobile,City\r\nS1,9000000002,Kochi\r\nS2,9000000003,Madurai\r\n"
    assert log_dicts(book)[-1]["sheet"] == "South"


def test_sheet_option_wins_over_data_sheet(sim, book):
    result = upload(two_sheets(book, sim.url, data_sheet="South"), "--sheet", "North")
    assert result.exit_code == 0, result.output
    (req,) = sim.upload_requests()
    assert "N1" in req["csv"] and "S1" not in req["csv"]


def test_sheet_option_naming_a_missing_sheet(sim, book):
    result = upload(two_sheets(book, sim.url), "--sheet", "East")
    assert result.exit_code == 2
    assert "East" in one_line_error(result)
    assert sim.upload_requests() == []


def test_dry_run_sends_nothing_and_logs_dry_run(sim, book):
    result = upload(lead_book(book, sim.url), "--dry-run")
    assert result.exit_code == 0, result.output
    assert sim.upload_requests() == []
    assert "nothing was sent" in result.stdout.lower()
    (logged,) = log_dicts(book)
    assert (logged["status"], logged["rows_sent"]) == ("DRY RUN", 2)


def test_dry_run_needs_no_server_and_no_password(sim, book):
    url = f"http://127.0.0.1:{closed_port()}"
    result = upload(lead_book(book, url), "--dry-run", env=cli_env(password=None))
    assert result.exit_code == 0, result.output
    assert log_dicts(book)[-1]["status"] == "DRY RUN"


def test_dry_run_still_checks_the_workbook(sim, book):
    rows = [["A", "", "x"], ["B", "9876543210", "y"]]
    result = upload(lead_book(book, sim.url, rows=rows, settings={"on_invalid_rows": "block"}),
                    "--dry-run")
    assert result.exit_code == 2
    one_line_error(result)
    assert sim.upload_requests() == []


def test_dry_run_then_upload_is_not_a_reupload(sim, book):
    lead_book(book, sim.url)
    assert upload(book, "--dry-run").exit_code == 0
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert len(sim.upload_requests()) == 1


# --- exit statuses -------------------------------------------------------------------------


def test_exit_0_when_uploaded(sim, book):
    result = upload(lead_book(book, sim.url))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "Sent:" in result.stdout
    assert sorted(os.listdir(book.parent)) == [book.name]  # no temporary file left behind


@pytest.mark.parametrize("fault", ["object-envelope", "server-error-html", "bad-gateway",
                                   "unavailable", "garbage", "null-body", "bad-request"])
def test_exit_1_when_the_server_fails(sim, book, fault):
    sim.set_fault(LEAD, fault)
    result = upload(lead_book(book, sim.url))
    assert result.exit_code == 1, result.output
    one_line_error(result)
    assert len(sim.upload_requests()) == 1
    assert log_dicts(book)[-1]["status"] == "FAILED"


def test_exit_1_when_the_connection_is_refused(sim, book):
    result = upload(lead_book(book, f"http://127.0.0.1:{closed_port()}"))
    assert result.exit_code == 1, result.output
    line = one_line_error(result)
    assert "base_url" in line
    logged = log_dicts(book)[-1]
    assert logged["status"] == "FAILED" and logged["http_code"] is None


def test_exit_2_for_the_workbook(sim, book):
    result = upload(lead_book(book, sim.url, mapping={"phone1": "Nope"}))
    assert result.exit_code == 2
    one_line_error(result)


# --- locked, read-only, missing, damaged ---------------------------------------------------


@pytest.mark.parametrize("lock", ["~$leads.xlsx", ".~lock.leads.xlsx#"])
def test_locked_workbook_is_refused_untouched(sim, book, lock):
    lead_book(book, sim.url)
    (book.parent / lock).write_bytes(b"\x08analyst")
    before = book.read_bytes()
    result = upload(book)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert lock in line
    assert book.read_bytes() == before
    assert sim.upload_requests() == []


def test_read_only_workbook_is_refused_untouched(sim, book):
    lead_book(book, sim.url)
    before = book.read_bytes()
    book.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        result = upload(book)
    finally:
        book.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert result.exit_code == 2
    assert "read-only" in one_line_error(result)
    assert book.read_bytes() == before
    assert sim.upload_requests() == []


def test_missing_workbook(sim, tmp_path):
    result = upload(tmp_path / "nope.xlsx")
    assert result.exit_code == 2
    assert "nope.xlsx" in one_line_error(result)


@pytest.mark.parametrize("content", [b"Name,Mobile\r\nA,9876543210\r\n", b"", b"PK\x03\x04junk"])
def test_not_a_workbook(sim, tmp_path, content):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(content)
    result = upload(path)
    assert result.exit_code == 2
    one_line_error(result)
    assert path.read_bytes() == content
    assert sim.upload_requests() == []


# --- everything else in BOOK is kept -------------------------------------------------------


LOG_TAIL = ["rows_skipped", "cc_list_id", "process_id", "lead_id", "user_id", "update_duplicate",
            "churn_updated_records", "migrate", "task_id", "status", "http_code", "message",
            "request_id", "csv_sha256", "duration_s"]

def macro_workbook(path: Path, url: str, *, with_log: bool) -> Path:
    """A real .xlsm: xlwings' Excel-made VBA project kept by openpyxl, plus Leads (styles,
    widths, a merged cell, formulas with cached values, an error cell in an unmapped column),
    Settings, Mapping, a sheet of formulas over Leads, a ribbon part and a defined name."""
    wb = openpyxl.load_workbook(QUICKSTART_XLSM, keep_vba=True)
    leads = wb.create_sheet("Leads")
    for row in (["Name", "Mobile", "Score", "Check"],
                ["=UPPER(\"asha\")", "9876543210", "=20+22", "#N/A"],
                ["Ravi", '="9123"&"456780"', 7.5, "=1/0"]):
        leads.append(row)
    leads["A1"].font = Font(bold=True, color="FF0000")
    leads["B1"].fill = PatternFill("solid", fgColor="FFFF00")
    leads.column_dimensions["A"].width = 31
    leads.merge_cells("F1:G1")
    leads["F1"] = "merged note"
    ws = wb.create_sheet("Settings")
    for row in settings_rows(url, data_sheet="Leads"):
        ws.append(row)
    ws = wb.create_sheet("Mapping")
    for row in mapping_rows({"name": "Name", "phone1": "Mobile", "score": "Score"}):
        ws.append(row)
    ws = wb.create_sheet("Totals")
    ws["A1"] = "=SUM(Leads!C2:C3)"
    if with_log:
        ws = wb.create_sheet("Log")
        ws.append(["timestamp", "sheet", "rows_sent", *LOG_TAIL])
        ws.append(["2026-01-01T00:00:00+00:00", "Leads", "=1+1"])
    wb.save(path)
    names = wb.sheetnames
    member = {n: f"xl/worksheets/sheet{i}.xml" for i, n in enumerate(names, 1)}
    patch_member(path, member["Leads"], lambda x: set_cached_values(x, {
        "A2": ("str", "ASHA"), "C2": (None, "42"), "B3": ("str", "9123456780"),
        "D3": ("e", "#DIV/0!")}))
    patch_member(path, member["Totals"], lambda x: set_cached_values(x, {"A1": (None, "49.5")}))
    if with_log:
        patch_member(path, member["Log"], lambda x: set_cached_values(x, {"C2": (None, "2")}))
    with zipfile.ZipFile(RIBBON_XLAM) as zf:
        custom_ui = zf.read("customUI/customUI.xml")
    rewrite_members(path, {
        "_rels/.rels": lambda x: x.replace(
            "</Relationships>",
            '<Relationship Id="rIdUI" Type="http://schemas.microsoft.com/office/2007/'
            'relationships/ui/extensibility" Target="customUI/customUI.xml"/></Relationships>'),
        "xl/workbook.xml": lambda x: x.replace(
            "</sheets>", '</sheets><definedNames><definedName name="Rate">Leads!$C$2'
            "</definedName></definedNames>", 1) if "<definedNames>" not in x else x,
    }, add=[("customUI/customUI.xml", custom_ui)])
    return path


REGISTRATION = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}


@pytest.mark.parametrize("with_log", [False, True], ids=["new-log", "existing-log"])
def test_xlsm_keeps_every_other_part_byte_for_byte(sim, tmp_path, with_log):
    path = macro_workbook(tmp_path / "Leads Book.xlsm", sim.url, with_log=with_log)
    before = zip_bytes(path)
    assert b"<v>42</v>" in b"".join(before.values())
    assert "xl/vbaProject.bin" in before and "customUI/customUI.xml" in before

    result = upload(path)
    assert result.exit_code == 0, result.output
    (req,) = sim.upload_requests()
    assert req["csv"] == "Name,Mobile,Score\r\nASHA,9876543210,42\r\nRavi,9123456780,7.5\r\n"

    after = zip_bytes(path)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    log_index = [n.casefold() for n in wb.sheetnames].index("log")
    log_member = f"xl/worksheets/sheet{log_index + 1}.xml"
    assert log_member in after
    changed = {m for m in after if before.get(m) != after[m]}
    removed = set(before) - set(after)
    assert removed == set()
    if with_log:
        assert changed == {log_member}
        assert b"<f>1+1</f><v>2</v>" in after[log_member]  # its own cached result, kept
    else:
        assert log_member not in before
        assert changed - REGISTRATION == {log_member}
        assert list(after)[: len(before)] == list(before)  # old members keep their order
    # what Excel needs to show the book as it was: still there, and read as it was
    assert after["xl/vbaProject.bin"] == quickstart_vba()
    from xl_ameyo.xlsx.reader import XlsxBook

    read = XlsxBook(path)
    assert read.read_sheet("Totals") == [[49.5]]
    assert read.read_sheet("Leads")[1][:3] == ["ASHA", "9876543210", 42.0]
    logged = log_dicts(path)[-1]
    assert logged["status"] == "OK" and logged["task_id"] == req["task_id"]


def quickstart_vba() -> bytes:
    with zipfile.ZipFile(QUICKSTART_XLSM) as zf:
        return zf.read("xl/vbaProject.bin")


def test_other_sheets_cells_unchanged_for_an_xlsx(sim, book):
    lead_book(book, sim.url, extra={"Notes": [["keep me", 1.25, "=2*3"]]},
              settings={"data_sheet": "Leads"}, cached={"Notes": {"C1": (None, "6")}})
    before = zip_bytes(book)
    assert upload(book).exit_code == 0
    after = zip_bytes(book)
    for member in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
                   "xl/worksheets/sheet3.xml", "xl/worksheets/sheet4.xml", "xl/styles.xml"):
        assert after[member] == before[member], member


# --- python -m xl_ameyo, as a separate process ------------------------------------------------


def subprocess_env(**more: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AMEYO_")}
    env.update(AMEYO_USERNAME=USERNAME, AMEYO_PASSWORD=PASSWORD,
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", **more)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def run_module(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xl_ameyo", *map(str, args)], capture_output=True, text=True,
        env=subprocess_env(), timeout=120, stdin=subprocess.DEVNULL,
    )


def test_python_m_xl_ameyo_upload(sim, book):
    lead_book(book, sim.url)
    done = run_module("upload", book)
    assert done.returncode == 0, done.stderr
    (req,) = sim.upload_requests()
    assert req["task_id"] in done.stdout
    assert log_dicts(book)[-1]["task_id"] == req["task_id"]


@pytest.mark.parametrize(("fault", "code"), [("server-error-html", 1), (None, 2)])
def test_python_m_xl_ameyo_failure_is_one_line(sim, book, fault, code):
    if fault:
        sim.set_fault(LEAD, fault)
        lead_book(book, sim.url)
    else:
        lead_book(book, sim.url, settings={"lead_idd": 3})
    done = run_module("upload", book)
    assert done.returncode == code, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in done.stderr + done.stdout


# --- one line on stderr, whatever the failure -----------------------------------------------


def _setup_lock(book, sim):
    lead_book(book, sim.url)
    (book.parent / f"~${book.name}").write_bytes(b"x")


def _setup_reupload(book, sim):
    lead_book(book, sim.url)
    assert upload(book).exit_code == 0


FAILURES = {
    "unknown-key": (lambda b, s: lead_book(b, s.url, settings={"colour": "red"}), {}, 2),
    "password-key": (lambda b, s: lead_book(b, s.url, settings={"password": "x"}), {}, 2),
    "mapping": (lambda b, s: lead_book(b, s.url, mapping={"phone1": "Phone"}), {}, 2),
    "block": (lambda b, s: lead_book(b, s.url, rows=[["a", "", "b"], ["c", "9876543210", "d"]],
                                     settings={"on_invalid_rows": "block"}), {}, 2),
    "no-valid-rows": (lambda b, s: lead_book(b, s.url, rows=[["a", "1", "b"]]), {}, 2),
    "lock": (_setup_lock, {}, 2),
    "reupload": (_setup_reupload, {}, 2),
    "no-password": (lambda b, s: lead_book(b, s.url), {"password": None}, 2),
    "no-username": (lambda b, s: lead_book(b, s.url), {"username": None}, 2),
    "wrong-password": (lambda b, s: lead_book(b, s.url), {"password": "wrong"}, 1),
    "forbidden": (lambda b, s: lead_book(b, s.url),
                  {"username": "viewer", "password": "viewer-pass"}, 1),
    "unknown-lead": (lambda b, s: lead_book(b, s.url, settings={"lead_id": 404}), {}, 1),
    "refused": (lambda b, s: lead_book(b, f"http://127.0.0.1:{closed_port()}"), {}, 1),
    "drop": (lambda b, s: (s.set_fault(LEAD, "drop"), lead_book(b, s.url)), {}, 1),
    "timeout": (lambda b, s: (s.set_fault(LEAD, "slow", delay=5),
                              lead_book(b, s.url, settings={"timeout_s": 0.2})), {}, 1),
    "too-large": (lambda b, s: (s.set_fault(LEAD, "too-large"), lead_book(b, s.url)), {}, 1),
}


@pytest.mark.parametrize("kind", list(FAILURES))
def test_every_failure_prints_one_line_without_traceback(sim, book, kind):
    setup, env, code = FAILURES[kind]
    setup(book, sim)
    result = upload(book, env=cli_env(**env))
    assert result.exit_code == code, result.output
    line = one_line_error(result)
    assert line.startswith("error: ")
    assert len(line) > 30
    assert "Traceback" not in result.output


def test_folder_not_writable_is_refused(sim, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "ro"
    folder.mkdir()
    book = lead_book(folder / "leads.xlsx", sim.url)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        result = upload(book)
    finally:
        folder.chmod(stat.S_IRWXU)
    assert result.exit_code == 2
    one_line_error(result)
    assert sim.upload_requests() == []


def test_log_is_written_after_editing_settings(sim, book):
    # the Log survives an edit of the workbook between runs (openpyxl save in the test)
    lead_book(book, sim.url)
    assert upload(book).exit_code == 0
    edit_book(book, "Settings", {"B5": 18})
    assert upload(book).exit_code == 0
    assert [r["lead_id"] for r in log_dicts(book)] == [17, 18]


# --- the workbook `xl-ameyo template` writes ---------------------------------------------------


def test_template_filled_in_uploads(sim, tmp_path):
    from tests.books import run_cli

    book = tmp_path / "fresh.xlsx"
    made = run_cli("template", book)
    assert made.exit_code == 0, made.output
    wb = openpyxl.load_workbook(book)
    settings = wb["Settings"]
    values = {"base_url": sim.url, "cc_list_id": 1, "process_id": 13, "lead_id": 17,
              "user_id": "john"}
    for row in settings.iter_rows(min_row=2):
        if row[0].value in values:
            row[1].value = values[row[0].value]
    leads = wb["Leads"]
    leads.append(["Asha Rao", "098765 43210", "+91 90000 00001", "asha@example.com", "Pune"])
    leads.append(["Ravi", "9123456780", None, None, None])
    wb.save(book)

    result = upload(book)
    assert result.exit_code == 0, result.output
    (req,) = sim.upload_requests()
    assert req["csv"] == (
        "Customer Name,Mobile,Alternate Phone,E-mail\r\n"
        "Asha Rao,09876543210,919000000001,asha@example.com\r\n"
        "Ravi,9123456780,,\r\n"
    )
    rows = log_dicts(book)
    assert len(rows) == 1 and rows[0]["status"] == "OK"
    assert openpyxl.load_workbook(book).sheetnames == ["Leads", "Settings", "Mapping", "Log"]
