"""SPEC §4 `--json` (upload, status) and `upload --dry-run --csv-out FILE`, end to end: one
JSON object on stdout, valid against docs/report.schema.json, the human lines on stderr;
the CSV file holds exactly the bytes the simulator receives for the same book."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.books import lead_book, log_dicts, only_request, run_cli, upload

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "report.schema.json")
                    .read_text(encoding="utf-8"))

ROWS = [
    ["Asha Rao", "9876543210", "Pune"],
    ["Bad", "12", "Agra"],
    ["Short Nine", "98765 4321", "Agra"],
    ["Ravi, \"R\"", "+91 91234 56780", "Delhi"],
]


def report(result) -> dict:
    """The run's stdout: exactly one JSON object, valid against the schema."""
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_upload_json(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url, rows=ROWS)
    result = upload(book, "--json")
    assert result.exit_code == 0, result.output
    doc = report(result)
    req = only_request(sim)
    assert doc["command"] == "upload" and doc["ok"] and doc["exit_code"] == 0
    assert doc["error"] is None
    assert (doc["rows_read"], doc["rows_valid"], doc["rows_skipped"]) == (4, 3, 1)
    assert doc["invalid_rows"] == [{"row": 3, "cell": "B3", "column": "Mobile", "value": "12",
                                    "reason": "phone1: has 2 digits, needs 7 to 15"}]
    (sent,) = doc["uploads"]
    assert sent["status"] == "OK" and sent["task_id"] == req["task_id"]
    assert sent["csv_sha256"] == log_dicts(book)[-1]["csv_sha256"]
    # the human lines went to stderr
    assert "Sent:    3 rows" in result.stderr


def test_upload_json_dry_run_and_failures(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url, rows=ROWS)
    doc = report(upload(book, "--json", "--dry-run"))
    assert doc["dry_run"] and doc["uploads"][0]["status"] == "DRY RUN"
    assert doc["uploads"][0]["task_id"] is None

    # the server refuses the password: exit 1, the error line in the object too
    result = upload(book, "--json", env={"AMEYO_USERNAME": "demo", "AMEYO_PASSWORD": "wrong"})
    assert result.exit_code == 1
    doc = report(result)
    assert not doc["ok"] and doc["exit_code"] == 1
    assert "401" in doc["error"] and doc["error"] in result.stderr
    assert doc["uploads"][0]["status"] == "FAILED"

    # the workbook stops it before anything is read: exit 2, no sheet
    bad = lead_book(tmp_path / "bad.xlsx", sim.url, settings={"lead_id": "x"})
    result = upload(bad, "--json")
    assert result.exit_code == 2
    doc = report(result)
    assert doc["sheet"] is None and doc["exit_code"] == 2
    assert "lead_id" in doc["error"]


def test_status_json(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url, rows=ROWS)
    assert upload(book).exit_code == 0
    task_id = log_dicts(book)[-1]["task_id"]
    sim.wait_for_task(task_id)
    result = run_cli("status", book, "--json")
    assert result.exit_code == 0, result.output
    doc = report(result)
    (task,) = doc["tasks"]
    assert (task["task_id"], task["state"], task["final"]) == (task_id, "COMPLETED", True)
    assert task["counts"]["rejected"] == 1
    (bad,) = doc["rejected_rows"]
    assert bad["sheet_row"] == 4 and bad["error_code"] == "PREPROCESSING_INVALID_LENGTH"
    assert bad["values"] == {"Name": "Short Nine", "Mobile": "987654321", "City": "Agra"}

    edited = lead_book(tmp_path / "c.xlsx", sim.url)
    assert upload(edited).exit_code == 0
    sim.hide_task_status(404)
    result = run_cli("status", edited, "--json")
    assert result.exit_code == 1
    doc = report(result)
    assert doc["error"] == "this server does not report task status"


# --- --csv-out ---------------------------------------------------------------------------


def test_csv_out_holds_exactly_what_is_sent(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url, rows=ROWS)
    out = tmp_path / "sent.csv"
    result = upload(book, "--dry-run", "--csv-out", out)
    assert result.exit_code == 0, result.output
    assert sim.upload_requests() == []
    assert upload(book).exit_code == 0
    req = only_request(sim)
    assert out.read_bytes() == req["csv"].encode("utf-8")
    assert len(out.read_bytes()) == req["file_size"]
    assert f"CSV:     {out}" in result.stdout


def test_csv_out_of_a_split_upload_is_one_file_per_part(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url, rows=ROWS,
                     settings={"max_rows_per_upload": 2})
    out = tmp_path / "sent.csv"
    result = upload(book, "--dry-run", "--csv-out", out, "--json")
    assert result.exit_code == 0, result.output
    doc = report(result)
    second = tmp_path / "sent-2.csv"
    assert doc["csv_out"] == [str(out), str(second)]
    assert upload(book).exit_code == 0
    sent = [r["csv"].encode("utf-8") for r in sim.upload_requests()]
    assert [out.read_bytes(), second.read_bytes()] == sent


@pytest.mark.parametrize("args", [[], ["--json"]])
def test_csv_out_needs_dry_run(sim, tmp_path, args):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    result = upload(book, "--csv-out", tmp_path / "x.csv", *args)
    assert result.exit_code == 2
    assert "--dry-run" in result.stderr
    assert sim.upload_requests() == []
    assert not (tmp_path / "x.csv").exists()


def test_csv_out_writes_nothing_when_nothing_would_be_sent(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url, rows=ROWS,
                     settings={"on_invalid_rows": "block"})
    out = tmp_path / "sent.csv"
    result = upload(book, "--dry-run", "--csv-out", out, "--json")
    assert result.exit_code == 2
    assert not out.exists()
    assert "csv_out" not in report(result)
