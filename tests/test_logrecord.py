"""logrecord.py: the Log sheet's columns, records and the re-upload lookup."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xl_ameyo.columns import CellError
from xl_ameyo.logrecord import (
    LOG_COLUMNS,
    MAX_CELL_TEXT,
    LogRecord,
    find_previous_upload,
    iso_timestamp,
)

SHA = "ab" * 32
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def test_columns_in_spec_order():
    assert LOG_COLUMNS == (
        "timestamp",
        "sheet",
        "rows_sent",
        "rows_skipped",
        "cc_list_id",
        "process_id",
        "lead_id",
        "user_id",
        "update_duplicate",
        "churn_updated_records",
        "migrate",
        "task_id",
        "status",
        "http_code",
        "message",
        "request_id",
        "csv_sha256",
        "duration_s",
    )
    assert tuple(f.name for f in dataclasses.fields(LogRecord)) == LOG_COLUMNS


def full_record(**kw) -> LogRecord:
    values = dict(
        timestamp="2026-11-26T14:03:07+05:30",
        sheet="Leads",
        rows_sent=10,
        rows_skipped=2,
        cc_list_id=17,
        process_id=5,
        lead_id=3,
        user_id="agent1",
        update_duplicate=True,
        churn_updated_records=False,
        migrate=False,
        task_id="1234567890123456789",
        status="OK",
        http_code=200,
        message="Uploaded: task id 1234567890123456789",
        request_id="req-1",
        csv_sha256=SHA,
        duration_s=1.23456,
    )
    values.update(kw)
    return LogRecord(**values)


def test_as_row_types():
    row = full_record().as_row()
    assert row == [
        "2026-11-26T14:03:07+05:30",
        "Leads",
        10,
        2,
        17,
        5,
        3,
        "agent1",
        True,
        False,
        False,
        "1234567890123456789",
        "OK",
        200,
        "Uploaded: task id 1234567890123456789",
        "req-1",
        SHA,
        1.235,
    ]
    assert type(row[11]) is str  # task_id as text
    assert type(row[8]) is bool
    assert type(row[17]) is float


def test_task_id_number_becomes_text_and_none_becomes_empty():
    assert full_record(task_id=1234567890123456789).task_id == "1234567890123456789"
    rec = full_record(task_id=None, request_id=None, http_code=None)
    assert rec.task_id == "" and rec.request_id == "" and rec.http_code is None
    assert rec.as_row()[13] is None


def test_duration_rounded_to_3_decimals():
    assert full_record(duration_s=0.0004).duration_s == 0.0
    assert full_record(duration_s=2.0005001).duration_s == 2.001
    assert full_record(duration_s=3).duration_s == 3.0


def test_message_one_line_and_cut_to_cell_limit():
    assert full_record(message="line1\nline2\r\n  x").message == "line1 line2 x"
    long = full_record(message="y" * 40_000).message
    assert len(long) == MAX_CELL_TEXT and long.endswith("...")


@pytest.mark.parametrize("status", ["ok", "DONE", "", "Dry run"])
def test_status_must_be_known(status):
    with pytest.raises(ValueError):
        full_record(status=status)


def test_minimal_failed_record_defaults():
    rec = LogRecord.now(status="FAILED", message="Settings!B4: lead_id ...")
    row = rec.as_row()
    assert row[LOG_COLUMNS.index("cc_list_id")] is None
    assert row[LOG_COLUMNS.index("rows_sent")] == 0
    assert row[LOG_COLUMNS.index("task_id")] == ""
    assert row[LOG_COLUMNS.index("update_duplicate")] is False
    assert rec.as_dict()["status"] == "FAILED"


def test_ids_given_as_floats_become_int():
    rec = full_record(cc_list_id=17.0, http_code=200.0)
    assert type(rec.cc_list_id) is int and type(rec.http_code) is int


def test_now_timestamp_local_with_offset():
    rec = LogRecord.now(status="DRY RUN")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", rec.timestamp)
    stamp = dt.datetime.fromisoformat(rec.timestamp)
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 60


def test_now_with_at():
    at = dt.datetime(2026, 11, 26, 14, 3, 7, 999_000, tzinfo=IST)
    assert LogRecord.now(status="OK", at=at).timestamp == "2026-11-26T14:03:07+05:30"
    naive = dt.datetime(2026, 11, 26, 14, 3, 7)
    stamp = iso_timestamp(naive)
    assert stamp.startswith("2026-11-26T14:03:07") and re.search(r"[+-]\d\d:\d\d$", stamp)
    assert iso_timestamp(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)) == (
        "2026-01-01T00:00:00+00:00"
    )


# --- find_previous_upload ----------------------------------------------------------------------


def log_with(*records: LogRecord, header=LOG_COLUMNS) -> list[list]:
    return [list(header)] + [r.as_row() for r in records]


def find(rows, sha=SHA, ids=(17, 5, 3)):
    return find_previous_upload(
        rows, csv_sha256=sha, cc_list_id=ids[0], process_id=ids[1], lead_id=ids[2]
    )


def test_finds_ok_row_with_same_sha_and_ids():
    rows = log_with(full_record())
    found = find(rows)
    assert found is not None
    assert found["task_id"] == "1234567890123456789"
    assert found["timestamp"] == "2026-11-26T14:03:07+05:30"
    assert set(found) == set(LOG_COLUMNS)


def test_no_match_cases():
    assert find([]) is None
    assert find([list(LOG_COLUMNS)]) is None
    assert find(log_with(full_record(status="FAILED", task_id=None))) is None
    assert find(log_with(full_record(status="DRY RUN", task_id=None))) is None
    assert find(log_with(full_record()), sha="cd" * 32) is None
    assert find(log_with(full_record()), ids=(18, 5, 3)) is None
    assert find(log_with(full_record()), ids=(17, 6, 3)) is None
    assert find(log_with(full_record()), ids=(17, 5, 4)) is None


def test_a_failed_row_with_a_task_id_counts():
    """The server took the file (a 202 with a task id is still a failure, SPEC §3): sending
    the same rows again must ask first."""
    found = find(log_with(full_record(status="FAILED", task_id="4231888909951751")))
    assert found is not None and found["task_id"] == "4231888909951751"
    assert find(log_with(full_record(status="FAILED", task_id="  "))) is None
    # a Log without a task_id column: only OK rows count
    header = [c for c in LOG_COLUMNS if c != "task_id"]
    row = [v for c, v in zip(LOG_COLUMNS, full_record(status="FAILED").as_row(), strict=True)
           if c != "task_id"]
    assert find([header, row]) is None


def test_latest_row_wins():
    rows = log_with(
        full_record(task_id="111"),
        full_record(task_id="222", status="FAILED"),
        full_record(task_id="333"),
        full_record(task_id="444", csv_sha256="cd" * 32),
    )
    assert find(rows)["task_id"] == "333"


def test_ids_as_floats_or_text_and_sha_case():
    row = full_record().as_row()
    row[4], row[5], row[6] = 17.0, " 5 ", "3"
    row[12] = " ok "
    row[16] = SHA.upper()
    assert find([list(LOG_COLUMNS), row]) is not None


def test_columns_located_by_header_name():
    header = ["Note", *reversed(LOG_COLUMNS)]
    header = [h.upper() if h == "status" else h for h in header]
    row = ["my note", *reversed(full_record().as_row())]
    found = find([header, row])
    assert found is not None
    assert found["Note"] == "my note"
    assert found["status"] == "OK"
    assert found["task_id"] == "1234567890123456789"


def test_missing_needed_column_means_nothing_found():
    header = [c for c in LOG_COLUMNS if c != "csv_sha256"]
    row = [v for c, v in zip(LOG_COLUMNS, full_record().as_row(), strict=True) if c != "csv_sha256"]
    assert find([header, row]) is None


def test_ragged_and_odd_rows_tolerated():
    rows = [
        [None, None],
        list(LOG_COLUMNS),
        [],
        ["x"],
        [CellError("#N/A")] * 18,
        full_record().as_row()[:17],  # duration_s cell missing
    ]
    assert find(rows)["duration_s"] is None


def test_task_id_read_back_as_number_is_text():
    row = full_record().as_row()
    row[11] = 1234567890123456.0
    assert find([list(LOG_COLUMNS), row])["task_id"] == "1234567890123456"


log_cells = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["OK", "ok", SHA, "17", "5", "3", *LOG_COLUMNS]),
    st.integers(-5, 20),
    st.floats(),
    st.booleans(),
    st.datetimes(),
    st.builds(CellError, st.just("#N/A")),
)


@given(st.lists(st.lists(log_cells, max_size=20), max_size=6))
def test_find_never_raises(rows):
    found = find(rows)
    assert found is None or isinstance(found, dict)
