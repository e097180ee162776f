"""``xl-ameyo status`` and ``xl-ameyo init``: the command line's side (reading the workbook
file, asking the server, writing back byte for byte); the work is in
:mod:`xl_ameyo.taskstatus` and :mod:`xl_ameyo.guess`."""

from __future__ import annotations

import time
from pathlib import Path

from xl_ameyo import pipeline
from xl_ameyo.cli_output import Output
from xl_ameyo.errors import AmeyoError, MappingError, XlAmeyoError
from xl_ameyo.taskstatus import (
    REJECTED_SHEET,
    StatusUnsupported,
    TaskResult,
    ask_task,
    check_rejected_sheet,
    header_cells,
    log_cells,
    pending_tasks,
    rejected_sheet_rows,
    task_locators,
)

#: seconds between two questions to the server with --wait
POLL_S = 1.0


def _task_line(result: TaskResult) -> str:
    c = result.counts
    line = f"Task {result.task.task_id} (Log row {result.task.log_row}): {result.state}"
    if result.state == "COMPLETED":
        parts = [f"{c.get(k)} {k}" for k in ("inserted", "updated", "duplicates", "migrated",
                                              "rejected") if c.get(k)]
        line += f", {c.get('rows') or 0} rows" + (": " + ", ".join(parts) if parts else "")
    if result.error:
        line += f" ({result.error})"
    return line


def _result_json(result: TaskResult) -> dict:
    return {"log_row": result.task.log_row, "task_id": result.task.task_id,
            "state": result.state, "final": result.final, "counts": result.counts,
            "error": result.error or None, "checked_at": result.checked_at}


def run_status(book: Path, *, wait: bool, max_wait: float, out: Output) -> None:
    from xl_ameyo.xlsx.logbook import check_writable, write_task_results
    from xl_ameyo.xlsx.reader import XlsxBook

    report = out.report
    report.update(tasks=[], rejected_rows=[])
    try:
        source = XlsxBook(book)
        check_writable(book)
        with out.stage(f"Reading the Log of {book.name}"), source.reading():
            settings = pipeline.read_settings(source)
            log_name = pipeline.find_sheet(source.sheet_names, pipeline.LOG_SHEET)
            log_rows = source.read_sheet(log_name) if log_name else []
            rejected_name = pipeline.find_sheet(source.sheet_names, REJECTED_SHEET)
            if rejected_name is not None:
                check_rejected_sheet(source.read_sheet(rejected_name), rejected_name)
    except XlAmeyoError as exc:
        out.fail(exc)
    pending = pending_tasks(log_rows)
    if not pending:
        out.line(f"No task in the Log of {book.name} is waiting for the server's answer")
        out.finish()

    locate_for = task_locators(lambda sheet: pipeline.plan_upload(
        XlsxBook(book), sheet=sheet or None, settings=settings).checked)

    results: dict[int, TaskResult] = {}
    began = time.monotonic()
    bar = out.bar("Waiting for the server", len(pending)) if wait else None
    try:
        client = pipeline.make_client(settings)
        with client:
            while True:
                for task in pending:
                    done = results.get(task.log_row)
                    if done is not None and done.final:
                        continue
                    results[task.log_row] = ask_task(client, task, locate_for(task))
                final = sum(r.final for r in results.values())
                if bar is not None:
                    bar.update(final - bar.pos)
                if not wait or final == len(pending) or time.monotonic() - began > max_wait:
                    break
                time.sleep(POLL_S)
    except StatusUnsupported as exc:
        out.fail(exc)
    except XlAmeyoError as exc:
        out.fail(exc)
    finally:
        if bar is not None:
            bar.render_finish()

    ordered = [results[t.log_row] for t in pending if t.log_row in results]
    rejected = [bad for r in ordered for bad in r.rejected]
    updates = {r.task.log_row: log_cells(r) for r in ordered}
    if log_rows and "task_id" in [str(v).strip() for v in log_rows[0] if v is not None]:
        updates[1] = header_cells()  # the header names the task columns
    header, rows = rejected_sheet_rows(rejected)
    try:
        write_task_results(book, updates, rejected_header=header, rejected_rows=rows,
                           log_sheet=log_name or pipeline.LOG_SHEET, header_rows=(1,),
                           rejected_sheet=rejected_name or REJECTED_SHEET)
    except XlAmeyoError as exc:
        out.fail(exc)

    for result in ordered:
        out.line(_task_line(result))
    for bad in rejected:
        where = f"row {bad.sheet_row}" if bad.sheet_row else "row ?"
        shown = ", ".join([v for v in bad.values if v][:3])
        out.line(f"  rejected: {where} of '{bad.sheet}': {bad.code} ({bad.reason}): {shown}")
    if rejected:
        out.line(f"Rejected: {len(rejected)} rows written to the Rejected sheet of {book.name}")
    report["tasks"] = [_result_json(r) for r in ordered]
    report["rejected_rows"] = [
        {"task_id": b.task_id, "sheet": b.sheet, "sheet_row": b.sheet_row, "error_code": b.code,
         "reason": b.reason, "values": dict(zip(b.header, b.values, strict=False))}
        for b in rejected
    ]
    failed = [r for r in ordered if r.state == "FAILED"]
    waiting = [r for r in ordered if not r.final]
    if failed:
        out.fail(AmeyoError(
            f"Task {failed[0].task.task_id} failed on the server: "
            f"{failed[0].error or 'no reason given'}",
            hint="Nothing of that upload was applied; check the lead list in Ameyo, then "
            "upload again with --allow-reupload"))
    if wait and waiting:
        out.fail(AmeyoError(
            f"Task {waiting[0].task.task_id} is still {waiting[0].state} after "
            f"{max_wait:g} s", hint="Run xl-ameyo status again later"))
    out.finish()


def run_init(book: Path, *, sheet: str | None, out: Output) -> None:
    """Add Settings and Mapping to BOOK, the columns proposed from its data sheet's headers."""
    from xl_ameyo.guess import guess_mapping
    from xl_ameyo.mapping import STANDARD_FIELDS
    from xl_ameyo.template import SETTINGS_ROWS
    from xl_ameyo.xlsx.logbook import SheetEdit, edit_workbook
    from xl_ameyo.xlsx.reader import XlsxBook
    from xl_ameyo.xlsx.sheetrows import append_many_to_sheet
    from xl_ameyo.xlsx.writable import check_writable

    try:
        source = XlsxBook(book)
        check_writable(book)
        names = list(source.sheet_names)
        missing = [s for s in (pipeline.SETTINGS_SHEET, pipeline.MAPPING_SHEET)
                   if pipeline.find_sheet(names, s) is None]
        if not missing:
            raise MappingError(
                f"{book.name} already has Settings and Mapping sheets: nothing was changed",
                hint="Edit them in Excel, or delete them and run xl-ameyo init again")
        data_sheet = pipeline.choose_data_sheet(names, explicit=sheet, configured=None)
        with source.reading():
            rows = source.read_sheet(data_sheet)
        headers = rows[0] if rows else []
        guessed = guess_mapping(headers)
        several = len([n for n in names if n.strip().casefold() not in
                       {s.casefold() for s in pipeline.SPECIAL_SHEETS}]) > 1
        settings_rows = [[key, data_sheet if key == "data_sheet" and several else default,
                          note] for key, default, note in SETTINGS_ROWS]
        mapping_rows = [[f, guessed.get(f)] for f in STANDARD_FIELDS]
        sheets = {
            pipeline.SETTINGS_SHEET: (["Setting", "Value", "Notes"], settings_rows,
                                      [24, 36, 90]),
            pipeline.MAPPING_SHEET: (["Ameyo field", "Sheet column"], mapping_rows, [18, 30]),
        }
        edits = []
        for name in missing:
            head, body, widths = sheets[name]
            edits.append(SheetEdit(
                name, lambda text, head=head, body=body: append_many_to_sheet(text, body, head),
                widths=widths, what=f"the {name} sheet"))
        edit_workbook(book, edits)
    except XlAmeyoError as exc:
        out.fail(exc)
    out.line(f"Added {' and '.join(missing)} to {book.name} (leads in sheet '{data_sheet}')")
    if pipeline.MAPPING_SHEET in missing:
        proposed = ", ".join(f"{f} = '{h}'" for f, h in guessed.items()) or "nothing"
        out.line(f"Mapping: proposed {proposed}; check it (column B) before the first upload")
        if "phone1" not in guessed:
            out.line("Mapping: no phone column was recognised: type phone1's column header "
                     "in Mapping!B3")
    if pipeline.SETTINGS_SHEET in missing:
        out.line("Settings: fill in base_url, cc_list_id, process_id, lead_id and user_id, "
                 f"then: xl-ameyo upload {book}")
    out.finish()
