"""One part of an upload, sent exactly once and recorded before it is sent (SPEC §5).

For each part the pipeline hands over, :class:`Sender`:

1. asks the re-upload guard (the workbook's Log, then the ledger, whichever workbook the same
   rows came from); a refusal or the add-in's question needs no transaction;
2. makes the client (the password), so that a missing password sends nothing;
3. claims the send in the ledger: one transaction that asks the ledger again and records the
   attempt as SENDING, its Log row ``UNKNOWN`` until the answer says otherwise;
4. POSTs, the one moment a signal may cut the run short (:mod:`xl_ameyo.interrupts`);
5. completes the record: OK + task id, FAILED + the error, or UNKNOWN when a signal ended
   the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from xl_ameyo import interrupts
from xl_ameyo.client import AmeyoClient
from xl_ameyo.errors import (
    AmeyoError,
    ReuploadRefused,
    RunInterrupted,
    UploadInterrupted,
    XlAmeyoError,
)
from xl_ameyo.ledger import INTERRUPTED_MESSAGE, AlreadySent, Ledger, LedgerError
from xl_ameyo.logrecord import LogRecord, find_previous_upload

if TYPE_CHECKING:
    from xl_ameyo.pipeline import Outcome, Plan
    from xl_ameyo.settings import Settings

__all__ = ["Sender"]


def _safe_stem(name: str) -> str:
    """A file name for the CSV part from the sheet name (ASCII letters, digits, - and _)."""
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
    return stem.strip("_") or "leads"


class Sender:
    """Sends the parts of one plan, one client for all of them."""

    def __init__(
        self,
        plan: Plan,
        ledger: Ledger,
        workbook: str,
        *,
        make_record: Callable[..., LogRecord],
        client_factory: Callable[[Settings], AmeyoClient],
        allow_reupload: bool,
        confirm_reupload: Callable[[dict], bool] | None,
        progress: Callable[[int, int], None] | None,
    ):
        self.plan = plan
        self.ledger = ledger
        self.workbook = workbook
        self.make_record = make_record
        self.client_factory = client_factory
        self.allow_reupload = allow_reupload
        self.confirm_reupload = confirm_reupload
        self.progress = progress
        self._client: AmeyoClient | None = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def send(self, outcome: Outcome, csv: IO[bytes], common: dict, *, part: str,
             began: float) -> bool:
        """Send one part (``common``: its Log fields rows_sent, rows_skipped, csv_sha256);
        its record goes to ``outcome``. False when the run must stop here."""
        settings = self.plan.settings

        def stop(error: XlAmeyoError, record: LogRecord | None = None) -> bool:
            outcome.error = error
            outcome.records.append(record or self.make_record(
                **common, status="FAILED", message=str(error),
                duration_s=time.monotonic() - began,
            ))
            return False

        signum = interrupts.take_pending()
        if signum is not None:  # a signal came while the CSV was made: nothing is sent
            return stop(_interrupted_before(interrupts.Interrupted(signum).name, part))

        ids = dict(cc_list_id=settings.cc_list_id, process_id=settings.process_id,
                   lead_id=settings.lead_id)
        try:
            previous = find_previous_upload(
                self.plan.log_rows, csv_sha256=common["csv_sha256"], **ids
            ) or self.ledger.previous_upload(common["csv_sha256"], **ids)
        except LedgerError as exc:
            return stop(exc)
        allowed = self.allow_reupload
        if previous is not None and not allowed:
            if not (self.confirm_reupload and self.confirm_reupload(previous)):
                return stop(self._refusal(previous, part))
            allowed = True
        try:
            client = self._client_for(settings)
        except XlAmeyoError as exc:
            return stop(exc)

        pending = self.make_record(**common, status="UNKNOWN", message=INTERRUPTED_MESSAGE)
        try:
            claim = self.ledger.claim(self.workbook, pending, allow_reupload=allowed)
        except AlreadySent as race:  # another run sent the same rows a moment ago
            return stop(self._refusal(race.previous, part))
        except LedgerError as exc:
            return stop(exc)
        outcome.claims.append(claim)

        try:
            with interrupts.raising():
                result = client.upload_contacts(
                    **ids,
                    csv=csv,
                    user_id=settings.user_id,
                    header_mapping=self.plan.mapping.header_mapping,
                    update_duplicate=settings.update_duplicate,
                    churn_updated_records=settings.churn_updated_records,
                    migrate=settings.migrate,
                    filename=f"{_safe_stem(self.plan.data_sheet)}.csv",
                    progress=self.progress,
                )
        except (interrupts.Interrupted, KeyboardInterrupt) as sig:
            # (a KeyboardInterrupt: Ctrl-C where no handler of ours is installed)
            name = getattr(sig, "name", "SIGINT")
            if getattr(sig, "before_sending", False):
                error: XlAmeyoError = _interrupted_before(name, part)
                status = "FAILED"
            else:
                error = UploadInterrupted(f"Interrupted by {name} after the upload{part} was sent")
                status = "UNKNOWN"
            record = self.make_record(**common, status=status, message=str(error),
                                      duration_s=time.monotonic() - began)
            self._complete(outcome, claim, record)
            return stop(error, record)
        except XlAmeyoError as exc:
            http = exc if isinstance(exc, AmeyoError) else None
            record = self.make_record(
                **common,
                status="FAILED",
                http_code=http.http_code if http else None,
                request_id=http.request_id if http else None,
                task_id=http.task_id if http else None,
                message=str(exc),
                duration_s=time.monotonic() - began,
            )
            self._complete(outcome, claim, record)
            return stop(exc, record)
        outcome.results.append(result)
        record = self.make_record(
            **common,
            status="OK",
            task_id=result.task_id,
            http_code=result.http_code,
            request_id=result.request_id,
            message=f"Uploaded{part}: task id {result.task_id}",
            duration_s=time.monotonic() - began,
        )
        self._complete(outcome, claim, record)
        outcome.records.append(record)
        return True

    def _client_for(self, settings: Settings) -> AmeyoClient:
        if self._client is None:
            self._client = self.client_factory(settings)
        return self._client

    def _complete(self, outcome: Outcome, claim: int, record: LogRecord) -> None:
        """The answer into the ledger; if that fails the record stays SENDING, and the next
        run of the workbook logs it as UNKNOWN: safe, so the run goes on with a warning."""
        try:
            self.ledger.complete(claim, record)
        except LedgerError as exc:
            outcome.warnings.append(f"{exc.message} (the upload's outcome is in the Log only)")

    def _refusal(self, previous: dict, part: str) -> ReuploadRefused:
        settings = self.plan.settings
        status = str(previous.get("status") or "OK").strip().upper()
        task = previous.get("task_id")
        if task:
            what = f"task id {task}"
        elif status == "SENDING":
            what = "being sent by another run, or its run ended while sending"
        else:
            what = f"{status}: its outcome is unknown, check the lead list in Ameyo"
        source = previous.get("workbook")
        origin = (f" from {Path(source).name}"
                  if source and source != self.workbook and "://" not in source else "")
        return ReuploadRefused(
            f"These rows{part} were already uploaded to lead list {settings.lead_id} on "
            f"{previous.get('timestamp')}{origin} ({what})",
            hint="Nothing was sent. To send them again, use --allow-reupload",
        )


def _interrupted_before(name: str, part: str) -> RunInterrupted:
    return RunInterrupted(f"Interrupted by {name} before the upload{part} was sent")
