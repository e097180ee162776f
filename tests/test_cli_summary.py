"""The upload summary: target, counts, skipped rows grouped by kind, the task id."""

from __future__ import annotations

from tests.books import lead_book, log_dicts, upload


def test_summary_groups_skipped_rows_and_names_the_task(sim, tmp_path):
    rows = [
        ["Asha", "9876543210", "Pune"],
        ["Dup", "98765 43210", "Pune"],  # duplicate of row 2
        ["Dup2", "+9876543210", "Pune"],  # duplicate of row 2
        ["Short", "12345", "Pune"],  # invalid phone1
        ["Empty", None, "Pune"],  # empty phone1
        ["Err", "#N/A", "Pune"],  # an error cell
    ]
    book = lead_book(tmp_path / "b.xlsx", sim.url, rows=rows)
    result = upload(book)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Target:  {sim.url}  cc 1 / process 13 / lead list 17" in out
    assert "'Leads': 6 rows read, 1 valid, 5 skipped" in out
    assert (
        "Skipped: 2 duplicate phone1, 1 invalid phone1, 1 empty phone1, 1 Excel error" in out
    )
    task_id = log_dicts(book)[-1]["task_id"]
    assert f"Sent:    1 row, task id {task_id}" in out
    assert task_id == sim.upload_requests()[-1]["task_id"]
