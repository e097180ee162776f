"""``max_rows_per_upload`` end to end through the CLI and the simulator: a sheet sent as several
uploads, one POST and one Log row per part, duplicates checked across the whole sheet, a
failed part stopping the rest; and a 413 answer pointing to the setting."""

from __future__ import annotations

import csv
import io

import pytest

from tests.books import LEAD, lead_book, log_dicts, one_line_error, upload
from xl_ameyo.client import AmeyoClient

HEADERS = ["Name", "Mobile", "City"]
MAPPING = {"name": "Name", "phone1": "Mobile", "city": "City"}
#: seven rows: six valid, one duplicate of the first (checked across the whole sheet even
#: though its part would not contain the first row)
ROWS = [
    ["Asha", "9876500001", "Pune"],
    ["Vikram", "9876500002", "Delhi"],
    ["Priya", "9876500003", "Mumbai"],
    ["Rahul", "9876500004", "Chennai"],
    ["Anita", "9876500005", "Jaipur"],
    ["Dup", "98765 00001", "Pune"],
    ["Meena", "9876500006", "Kolkata"],
]


def _book(tmp_path, sim, **settings):
    return lead_book(tmp_path / "split.xlsx", sim.url, headers=HEADERS, rows=ROWS,
                     mapping=MAPPING, settings={"max_rows_per_upload": 2, **settings})


def _rows_of(request: dict) -> list[list[str]]:
    return list(csv.reader(io.StringIO(request["csv"], newline="")))


def test_three_parts_three_posts_three_log_rows(tmp_path, sim):
    book = _book(tmp_path, sim)
    result = upload(book)
    assert result.exit_code == 0, result.output

    posts = sim.upload_requests()
    assert len(posts) == 3
    parts = [_rows_of(p) for p in posts]
    for rows in parts:
        assert rows[0] == HEADERS  # every part has the header
    assert [rows[1:] for rows in parts] == [
        [["Asha", "9876500001", "Pune"], ["Vikram", "9876500002", "Delhi"]],
        [["Priya", "9876500003", "Mumbai"], ["Rahul", "9876500004", "Chennai"]],
        [["Anita", "9876500005", "Jaipur"], ["Meena", "9876500006", "Kolkata"]],
    ]
    assert all(p["status"] == 200 for p in posts)

    log = log_dicts(book)
    assert [r["status"] for r in log] == ["OK", "OK", "OK"]
    assert [r["rows_sent"] for r in log] == [2, 2, 2]
    assert [r["rows_skipped"] for r in log] == [1, 0, 0]  # the duplicate, on the first only
    assert [r["task_id"] for r in log] == [p["task_id"] for p in posts]
    assert len({r["csv_sha256"] for r in log}) == 3
    assert [r["message"] for r in log] == [
        f"Uploaded (part {n} of 3): task id {p['task_id']}" for n, p in enumerate(posts, 1)
    ]
    assert "Sent:    2 rows" in result.output and result.output.count("Sent:") == 3


def test_a_failed_part_stops_the_rest_and_is_logged(tmp_path, sim, monkeypatch):
    book = _book(tmp_path, sim)
    real = AmeyoClient.upload_contacts
    calls = []

    def second_fails(self, **kwargs):
        calls.append(kwargs)
        if len(calls) == 2:  # the server fails part 2 (after part 1 went through)
            sim.set_fault(LEAD, "server-error-html", times=1)
        return real(self, **kwargs)

    monkeypatch.setattr(AmeyoClient, "upload_contacts", second_fails)
    result = upload(book)
    assert result.exit_code == 1, result.output
    assert "500" in one_line_error(result)

    posts = sim.upload_requests()
    assert [p["status"] for p in posts] == [200, 500]  # part 3 never sent
    assert len(calls) == 2
    log = log_dicts(book)
    assert [r["status"] for r in log] == ["OK", "FAILED"]
    assert [r["rows_sent"] for r in log] == [2, 2]
    assert [r["rows_skipped"] for r in log] == [1, 0]
    assert log[1]["http_code"] == 500 and not log[1]["task_id"]
    assert "500" in log[1]["message"]


def test_dry_run_logs_each_part(tmp_path, sim):
    book = _book(tmp_path, sim, max_rows_per_upload=4)
    result = upload(book, "--dry-run")
    assert result.exit_code == 0, result.output
    assert sim.upload_requests() == []
    log = log_dicts(book)
    assert [(r["status"], r["rows_sent"], r["rows_skipped"]) for r in log] == [
        ("DRY RUN", 4, 1), ("DRY RUN", 2, 0)]
    assert log[0]["message"] == "Dry run (part 1 of 2): 4 rows checked, nothing sent"


@pytest.mark.parametrize("split", [None, 2])
def test_413_points_to_max_rows_per_upload(tmp_path, sim, split):
    book = _book(tmp_path, sim, max_rows_per_upload=split)
    sim.set_fault(LEAD, "too-large")
    result = upload(book)
    assert result.exit_code == 1, result.output
    line = one_line_error(result)
    assert "413" in line
    assert "max_rows_per_upload" in line
    log = log_dicts(book)
    assert [r["status"] for r in log] == ["FAILED"]  # the first part failed: nothing more
    assert log[0]["http_code"] == 413
    assert len(sim.upload_requests()) == 1
