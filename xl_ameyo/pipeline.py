"""One upload, the same for every front: settings -> mapping -> rows -> checks -> CSV -> upload
-> log records.

Fronts (the CLI, the Excel add-in) hand in a :class:`WorkbookSource` and get back an
:class:`Outcome`: the Log records to append and, when the upload did not happen or failed, the
error to show. The pipeline never writes to the workbook itself: data flows one way.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from xl_ameyo import interrupts
from xl_ameyo.client import AmeyoClient, UploadResult
from xl_ameyo.columns import SheetColumns, column_letter, from_rows
from xl_ameyo.connection import make_client, tls_warnings
from xl_ameyo.csv_export import CsvInfo, write_csv
from xl_ameyo.errors import (
    DataError,
    MappingError,
    SettingsError,
    TempFileError,
    UnsavedFormulaError,
    XlAmeyoError,
)
from xl_ameyo.gcpause import gc_paused
from xl_ameyo.ledger import Ledger, LedgerError, workbook_key
from xl_ameyo.logrecord import LogRecord
from xl_ameyo.mapping import ResolvedMapping, named_columns, resolve_mapping
from xl_ameyo.rules import CheckedData, InvalidRow, check
from xl_ameyo.sending import Sender
from xl_ameyo.settings import Settings, parse_settings

SETTINGS_SHEET = "Settings"
MAPPING_SHEET = "Mapping"
LOG_SHEET = "Log"
ISSUES_SHEET = "Issues"
#: sheets that never hold leads
SPECIAL_SHEETS = (SETTINGS_SHEET, MAPPING_SHEET, LOG_SHEET, ISSUES_SHEET)
#: bytes of CSV kept in memory until it is sent; a larger one goes on into an anonymous
#: temporary file (a full sheet of 10 columns is about 140 MB: written to a disk and read
#: back, it took 0.1-0.5 s more here, and memory then is below the read's peak)
CSV_IN_MEMORY = 256 << 20


class WorkbookSource(Protocol):
    """What the pipeline needs from a workbook: its sheet names and one bulk read per sheet.

    A source may also offer ``stream_columns(name)`` (see ``xlsx.reader.XlsxBook``): the data
    sheet is then handed over a block of rows at a time, column by column, as the checks use
    it.
    """

    @property
    def sheet_names(self) -> Sequence[str]: ...

    def read_sheet(self, name: str) -> list[list]: ...


def find_sheet(names: Sequence[str], wanted: str) -> str | None:
    """The actual name of sheet ``wanted``, matched case-insensitively (SPEC §2)."""
    folded = wanted.strip().casefold()
    for name in names:
        if name.strip().casefold() == folded:
            return name
    return None


def choose_data_sheet(
    names: Sequence[str], *, explicit: str | None, configured: str | None
) -> str:
    """``--sheet`` (or the active sheet), else Settings' ``data_sheet``, else the only sheet
    that is not Settings/Mapping/Log/Issues."""
    for wanted, origin in ((explicit, "--sheet"), (configured, "data_sheet in Settings")):
        if wanted:
            actual = find_sheet(names, wanted)
            if actual is None:
                raise SettingsError(
                    f"There is no sheet '{wanted}' (from {origin})",
                    hint=f"Sheets in the workbook: {', '.join(names)}",
                )
            return actual
    special = {s.casefold() for s in SPECIAL_SHEETS}
    candidates = [n for n in names if n.strip().casefold() not in special]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise DataError(
            "The workbook has no sheet of leads (only Settings, Mapping and Log)",
            hint="Add a sheet with the leads, headers in row 1",
        )
    raise SettingsError(
        f"Several sheets could hold the leads: {', '.join(candidates)}",
        hint="Set data_sheet in the Settings sheet, or pass --sheet NAME",
    )


@dataclass
class Plan:
    """Everything read and checked before anything is sent."""

    settings: Settings
    data_sheet: str
    mapping: ResolvedMapping
    checked: CheckedData
    log_rows: list[list] = field(default_factory=list)

    @property
    def invalid(self) -> list[InvalidRow]:
        return self.checked.invalid

    @property
    def rows_to_send(self) -> int:
        return len(self.checked.row_numbers)


def _required_sheet(names: Sequence[str], wanted: str, what: str) -> str:
    actual = find_sheet(names, wanted)
    if actual is None:
        cls = SettingsError if wanted == SETTINGS_SHEET else MappingError
        raise cls(
            f"The workbook has no '{wanted}' sheet ({what})",
            hint="Start from a template: xl-ameyo template leads.xlsx",
        )
    return actual


def read_settings(source: WorkbookSource) -> Settings:
    """Parse the Settings sheet alone (fronts need it early, e.g. to pick the data sheet)."""
    names = list(source.sheet_names)
    name = _required_sheet(names, SETTINGS_SHEET, "the server and the lead list's ids")
    return parse_settings(source.read_sheet(name), sheet=name)


def read_data(source: WorkbookSource, name: str,
              columns: set[str]) -> tuple[SheetColumns, list[tuple[int, int]]]:
    """The data sheet as columns (the source's ``sheet_columns``, or its rows), and the
    (row, column) of its formula cells without a saved result where the source can tell.
    ``columns``: the headers the Mapping names (trimmed, case-folded), a hint."""
    own = getattr(source, "sheet_columns", None)
    data = own(name, columns=columns) if own is not None else from_rows(
        source.read_sheet(name) or [[]])
    return data, list(data.unsaved)


def plan_upload(
    source: WorkbookSource,
    *,
    sheet: str | None = None,
    settings: Settings | None = None,
) -> Plan:
    """Read Settings, Mapping, the data sheet and the Log; check every row. Sends nothing."""
    names = list(source.sheet_names)
    if settings is None:
        settings = read_settings(source)
    mapping_name = _required_sheet(names, MAPPING_SHEET, "which column goes to which Ameyo field")
    data_sheet = choose_data_sheet(names, explicit=sheet, configured=settings.data_sheet)

    mapping_rows = source.read_sheet(mapping_name)
    rule = settings_phone_rule(settings)
    log_name = find_sheet(names, LOG_SHEET)
    log_rows = source.read_sheet(log_name) if log_name else []

    # the data sheet last: a reader can then let go of the workbook first (see
    # XlsxBook.reading)
    with gc_paused():
        data, unsaved = read_data(source, data_sheet, named_columns(mapping_rows))
        headers = data.header
        if not any(h is not None and str(h).strip() for h in headers):
            raise DataError(
                f"Sheet '{data_sheet}' has no headers in row 1",
                hint="Put the column headers (e.g. Name, Phone) in row 1 and the leads below",
            )
        mapping = resolve_mapping(
            mapping_rows,
            headers,
            mapping_sheet=mapping_name,
            data_sheet=data_sheet,
        )
        refuse_unsaved(unsaved, mapping, data_sheet)
        checked = check(data, mapping, phone_rule=rule)
    return Plan(settings, data_sheet, mapping, checked, log_rows)


def refuse_unsaved(
    unsaved: Sequence[tuple[int, int]], mapping: ResolvedMapping, data_sheet: str
) -> None:
    """Stop before anything is sent when a mapped data cell is a formula without a saved
    result (``unsaved``: the reader's (row, column), 0-based): SPEC §2."""
    mapped = {column.index for column in mapping.columns}
    cells = sorted((r, c) for r, c in unsaved if r >= 1 and c in mapped)
    if cells:
        r, c = cells[0]
        raise UnsavedFormulaError(
            f"Sheet '{data_sheet}' has {len(cells)} formula cell(s) without a saved result in "
            f"mapped columns, the first {column_letter(c)}{r + 1}: what Excel would show "
            "there is unknown, so nothing was sent"
        )


def settings_phone_rule(settings: Settings):
    """The phone rule Settings ask for (``phone_country``), or None for the 7-15 digit rule
    (which the checks then run in their fast column passes)."""
    if not settings.phone_country:
        return None
    from xl_ameyo.phones import phone_rule

    return phone_rule(settings.phone_country, settings.phone_format)


@dataclass
class Outcome:
    """What one run produced: the Log records to append (in order) and the error, if any."""

    records: list[LogRecord] = field(default_factory=list)
    error: XlAmeyoError | None = None
    warnings: list[str] = field(default_factory=list)
    results: list[UploadResult] = field(default_factory=list)
    #: the ledger records of this run's POSTs (``Ledger.mark_logged`` once the Log has them)
    claims: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error else 0


def batches(total: int, size: int | None) -> list[tuple[int, int]]:
    """Split ``total`` valid rows into uploads of at most ``size`` rows (None: one upload)."""
    if not size or total <= size:
        return [(0, total)]
    return [(start, min(start + size, total)) for start in range(0, total, size)]


ReuploadConfirm = Callable[[dict], bool]


def run_upload(
    plan: Plan,
    *,
    client_factory: Callable[[Settings], AmeyoClient] = make_client,
    dry_run: bool = False,
    allow_reupload: bool = False,
    confirm_reupload: ReuploadConfirm | None = None,
    progress: Callable[[int, int], None] | None = None,
    ledger: Ledger | None = None,
    workbook: str | os.PathLike | None = None,
) -> Outcome:
    """Send the plan's valid rows (or, dry run, only build the CSV) and record every attempt.

    Each POST is recorded in the upload ``ledger`` (opened here when not given) before it
    starts, and completed by its answer (:mod:`xl_ameyo.sending`); ``workbook`` names the
    workbook there, so that its next run can write a Log row this run could not. A failed
    upload stops the batches that follow it; nothing is re-sent automatically. Each CSV is
    an anonymous temporary file: nothing with the leads outlives the process.
    """
    settings = plan.settings
    outcome = Outcome(warnings=tls_warnings(settings))
    checked = plan.checked
    skipped = len(checked.invalid)

    def record(**kw) -> LogRecord:
        rec = LogRecord.now(sheet=plan.data_sheet, **target_fields(settings), **kw)
        outcome.records.append(rec)
        return rec

    if skipped and settings.on_invalid_rows == "block":
        first = checked.invalid[0]
        outcome.error = DataError(
            f"{skipped} invalid row(s) in sheet '{plan.data_sheet}' and on_invalid_rows is "
            f"'block'; first: row {first.row}: {first.reason}",
            hint="Fix the rows, or set on_invalid_rows to skip in Settings",
        )
        record(rows_sent=0, rows_skipped=skipped, status="FAILED", message=str(outcome.error))
        return outcome
    if not checked.row_numbers:
        outcome.error = DataError(
            f"No valid rows to upload in sheet '{plan.data_sheet}' "
            f"({checked.rows_read} read, {skipped} invalid)",
            hint="Fix the rows listed above and run again",
        )
        record(rows_sent=0, rows_skipped=skipped, status="FAILED", message=str(outcome.error))
        return outcome

    parts = batches(len(checked.row_numbers), settings.max_rows_per_upload)
    with contextlib.ExitStack() as cleanup:
        if not dry_run and ledger is None:
            try:
                ledger = cleanup.enter_context(Ledger())
            except LedgerError as exc:
                outcome.error = exc
                record(rows_sent=0, rows_skipped=skipped, status="FAILED", message=str(exc))
                return outcome
        sender = None
        if not dry_run:
            sender = Sender(
                plan, ledger, workbook_key(workbook) if workbook is not None else "",
                make_record=functools.partial(
                    LogRecord.now, sheet=plan.data_sheet, **target_fields(settings)
                ),
                client_factory=client_factory, allow_reupload=allow_reupload,
                confirm_reupload=confirm_reupload, progress=progress,
            )
            cleanup.callback(sender.close)
            # a signal is only noted until the part's record is safe (sending.py)
            cleanup.enter_context(interrupts.holding())
        for number, (start, stop) in enumerate(parts, 1):
            began = time.monotonic()
            rows_skipped = skipped if number == 1 else 0
            part = f" (part {number} of {len(parts)})" if len(parts) > 1 else ""
            # memory, or past CSV_IN_MEMORY an anonymous file, which the system deletes when
            # it is closed or the process ends, however it ends (SPEC §5: the CSV never
            # outlives the process)
            try:
                spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by the with below)
                    CSV_IN_MEMORY, prefix="xl-ameyo-", suffix=".csv")
            except OSError as exc:
                outcome.error = _temp_error(exc, tempfile.gettempdir())
                record(rows_sent=0, rows_skipped=rows_skipped, status="FAILED",
                       message=str(outcome.error))
                break
            with spool:
                try:
                    info: CsvInfo = write_csv(checked, spool, start=start, stop=stop)
                    spool.flush()
                    spool.seek(0)
                except OSError as exc:
                    outcome.error = _temp_error(exc, tempfile.gettempdir())
                    record(rows_sent=0, rows_skipped=rows_skipped, status="FAILED",
                           message=str(outcome.error))
                    break
                common = dict(rows_sent=info.rows, rows_skipped=rows_skipped,
                              csv_sha256=info.sha256)
                if sender is None:
                    record(
                        **common,
                        status="DRY RUN",
                        message=f"Dry run{part}: {info.rows} rows checked, nothing sent",
                        duration_s=time.monotonic() - began,
                    )
                    continue
                # (its _file, documented: the bytes in memory, or the file it went on into)
                if not sender.send(outcome, spool._file, common, part=part, began=began):
                    break
    return outcome


def _temp_error(exc: OSError, folder: str) -> TempFileError:
    """The CSV could not be written where it is kept until it is sent: nothing was sent."""
    return TempFileError(
        f"Cannot write the temporary CSV file in {folder}: {exc.strerror or exc} "
        "(nothing was sent)"
    )


def fail_record(
    error: XlAmeyoError, *, sheet: str = "", settings: Settings | None = None
) -> LogRecord:
    """A FAILED Log record for an attempt stopped before a plan existed (bad Settings, ...)."""
    ids = target_fields(settings) if settings is not None else {}
    return LogRecord.now(
        sheet=sheet, rows_sent=0, rows_skipped=0, status="FAILED", message=str(error), **ids
    )


def target_fields(settings: Settings) -> dict:
    """The Log columns that say where an upload went and with which flags."""
    return {
        "cc_list_id": settings.cc_list_id,
        "process_id": settings.process_id,
        "lead_id": settings.lead_id,
        "user_id": settings.user_id,
        "update_duplicate": settings.update_duplicate,
        "churn_updated_records": settings.churn_updated_records,
        "migrate": settings.migrate,
    }
