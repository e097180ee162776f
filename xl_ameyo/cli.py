"""`xl-ameyo`: a thin command line over the library.

It only translates: arguments in, one clear line out. Library errors (``XlAmeyoError``) become
a message and an exit status, never a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from pathlib import Path

import click

from xl_ameyo import __version__
from xl_ameyo.errors import CredentialsError, WorkbookFileError, XlAmeyoError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xl-ameyo")
def cli() -> None:
    """Upload lead lists kept in Excel to an Ameyo contact center."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8443, show_default=True, type=int, help="Port; 0 picks a free one.")
@click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), help="SQLite file to keep state in."
)
@click.option("--tls", is_flag=True, help="Serve HTTPS with a certificate made for this run.")
def simulator(host: str, port: int, db_path: str | None, tls: bool) -> None:
    """Run a local Ameyo server to rehearse uploads against."""
    from xl_ameyo.simulator.server import run_forever

    run_forever(host=host, port=port, db_path=db_path, tls=tls, echo=click.echo)


def fail(error: XlAmeyoError) -> None:
    """One line on stderr and the error's exit status: never a traceback."""
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _reason_kind(reason: str) -> str:
    """A short group for a skip reason, for the summary's counts."""
    if reason.startswith("duplicate"):
        return "duplicate phone1"
    if reason.startswith("Excel error"):
        return "Excel error"
    if reason.endswith("is empty"):
        return "empty " + reason.split()[0]
    if ":" in reason:
        return "invalid " + reason.split(":")[0]
    return reason


def _summary(plan, outcome, book: Path, *, shown: int = 5) -> list[str]:
    settings = plan.settings
    checked = plan.checked
    lines = [
        f"Target:  {settings.base_url}  cc {settings.cc_list_id} / process "
        f"{settings.process_id} / lead list {settings.lead_id}  (user_id {settings.user_id})",
        f"Sheet:   '{plan.data_sheet}': {checked.rows_read} rows read, "
        f"{len(checked.row_numbers)} valid, {len(checked.invalid)} skipped",
    ]
    if checked.invalid:
        kinds = Counter(_reason_kind(bad.reason) for bad in checked.invalid)
        lines.append("Skipped: " + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()))
        for bad in checked.invalid[:shown]:
            where = f"{bad.cell} " if bad.cell else ""
            lines.append(f"  row {bad.row}: {where}{bad.reason}")
        if len(checked.invalid) > shown:
            more = len(checked.invalid) - shown
            lines.append(f"  ... and {more} more (--verbose lists them all)")
    for record in outcome.records:
        if record.status == "OK":
            lines.append(f"Sent:    {_rows(record.rows_sent)}, task id {record.task_id}")
        elif record.status == "DRY RUN":
            lines.append(f"Dry run: {_rows(record.rows_sent)} would be sent; nothing was sent")
    return lines


@cli.command()
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sheet", help="Sheet with the leads (default: data_sheet in Settings).")
@click.option("--dry-run", is_flag=True, help="Check and build the CSV, send nothing.")
@click.option(
    "--allow-reupload", is_flag=True, help="Send even if the same rows already went to this list."
)
@click.option("-v", "--verbose", is_flag=True, help="List every skipped row.")
@click.option(
    "--csv-out", type=click.Path(dir_okay=False, path_type=Path),
    help="With --dry-run: write the CSV that would be sent to this file.",
)
@click.option("--json", "json_mode", is_flag=True,
              help="Print one JSON object on stdout (for schedulers); other lines go to stderr.")
def upload(
    book: Path, sheet: str | None, dry_run: bool, allow_reupload: bool, verbose: bool,
    csv_out: Path | None = None, json_mode: bool = False,
) -> None:
    """Upload the leads in BOOK (.xlsx/.xlsm) and append the result to its Log sheet."""
    from xl_ameyo.cli_output import Output
    from xl_ameyo.gcpause import gc_paused

    out = Output("upload", book, json_mode=json_mode)
    # The cyclic collector stays off for the command: every collection would walk the
    # checked sheet's million-item lists (0.1 s each), and nothing here makes cyclic garbage.
    with gc_paused():
        _upload(book, sheet, dry_run, allow_reupload, verbose, out=out, csv_out=csv_out)


def _upload(
    book: Path, sheet: str | None, dry_run: bool, allow_reupload: bool, verbose: bool,
    *, out, csv_out: Path | None = None,
) -> None:
    from xl_ameyo import interrupts
    from xl_ameyo.errors import RunInterrupted

    # SIGINT, SIGTERM, SIGHUP raise Interrupted (the pipeline notes them while an upload's
    # record is not safe yet): one line, exit 1, and whatever was sent is in the ledger
    with interrupts.catching():
        stage = {"sent": False}
        try:
            with contextlib.ExitStack() as held:
                _lock_book(book, held, out)
                opened = _Early(book, held)
                ledger = _hold_book(book, dry_run, held, out, before_write=opened.close)
                _upload_locked(book, sheet, dry_run, allow_reupload, verbose, out=out,
                               csv_out=csv_out, ledger=ledger, stage=stage, source=opened())
        except interrupts.Interrupted as sig:
            if stage["sent"]:
                out.fail(RunInterrupted(
                    f"Interrupted by {sig.name} while the Log was written",
                    hint="The upload is recorded in the upload ledger: the next run of this "
                    "workbook writes its Log row",
                ))
            out.fail(RunInterrupted(f"Interrupted by {sig.name}"))


def _lock_book(book: Path, held: contextlib.ExitStack, out) -> None:
    """The workbook's lock for the whole run: one run of a workbook at a time."""
    from xl_ameyo.booklock import book_lock

    try:
        held.enter_context(book_lock(book, shown=str(book)))
    except XlAmeyoError as exc:
        out.fail(exc)


class _Early:
    """The workbook opened as soon as its lock is held, fastexcel already parsing its shared
    strings in a thread while the rest of the program is imported (0.3 s of a full sheet's
    upload): :meth:`__call__` gives it back if the file is still the one opened, else None
    (it is then opened again: the ledger's Log rows replaced it; :meth:`close` lets it go
    before they are written, on Windows an open handle would stop that). Errors are
    reported where it is opened again."""

    def __init__(self, book: Path, held: contextlib.ExitStack) -> None:
        from xl_ameyo.xlsx.reader import XlsxBook

        self.book = book
        self.before = self._key()
        try:
            self.source: XlsxBook | None = XlsxBook(book)
        except XlAmeyoError:
            self.source = None
            return
        held.callback(self.close)
        self.source.prefetch()

    def _key(self) -> tuple[int, int, int] | None:
        try:
            st = self.book.stat()
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def close(self) -> None:
        if self.source is not None:
            self.source.close()
            self.source = None

    def __call__(self):
        if self.before is not None and self._key() == self.before:
            return self.source
        self.close()
        return None


def _hold_book(book: Path, dry_run: bool, held: contextlib.ExitStack, out, *,
               before_write=lambda: None):
    """The upload ledger, and the Log rows an earlier run of the workbook could not write
    (SPEC §5), first (``before_write`` is called before they are)."""
    from xl_ameyo.ledger import Ledger, LedgerError, ledger_path
    from xl_ameyo.logrecord import LOG_COLUMNS
    from xl_ameyo.xlsx.logbook import append_log_row

    try:
        if dry_run and not ledger_path().exists():
            return None  # nothing was ever sent from here: no ledger needed
        try:
            ledger = held.enter_context(Ledger())
        except LedgerError as exc:
            if not dry_run:
                raise
            out.warn(str(exc))  # a dry run sends nothing: it goes on without
            return None

        def write(records) -> None:
            before_write()
            try:
                for record in records:
                    append_log_row(book, record.as_row(), columns=LOG_COLUMNS)
            except XlAmeyoError as exc:
                raise WorkbookFileError(
                    f"The Log rows of an earlier upload of {book.name} (kept in the upload "
                    f"ledger) could not be written: {exc}"
                ) from None

        entries = ledger.write_unlogged(book, write)
        if entries:
            states = ", ".join(entry.state for entry in entries)
            out.line(f"Log:     {_rows(len(entries))} of an earlier run written from the "
                     f"upload ledger ({states})")
    except XlAmeyoError as exc:
        out.fail(exc)
    return ledger


def _upload_locked(
    book: Path, sheet: str | None, dry_run: bool, allow_reupload: bool, verbose: bool,
    *, out, csv_out: Path | None, ledger, stage: dict, source=None,
) -> None:
    import warnings

    import urllib3

    from xl_ameyo import pipeline
    from xl_ameyo.cli_output import say
    from xl_ameyo.logrecord import LOG_COLUMNS
    from xl_ameyo.report import invalid_rows, upload_attempts
    from xl_ameyo.xlsx.logbook import append_log_row, check_writable
    from xl_ameyo.xlsx.reader import XlsxBook

    fail = out.fail
    report = out.report
    report.update(dry_run=dry_run, sheet=None, rows_read=0, rows_valid=0, rows_skipped=0,
                  invalid_rows=[], uploads=[])
    if csv_out is not None and not dry_run:
        fail(XlAmeyoError("--csv-out writes the CSV of a dry run; nothing was sent",
                          hint="Add --dry-run (or leave out --csv-out)"))
    try:
        source = XlsxBook(book) if source is None else source
        check_writable(book)
    except XlAmeyoError as exc:
        fail(exc)

    def log(records) -> None:
        report["uploads"] += upload_attempts(records)
        for record in records:
            append_log_row(book, record.as_row(), columns=LOG_COLUMNS)

    settings = None
    try:
        # one python-calamine workbook for all the reads; closed before anything is written
        with out.stage(f"Reading and checking {book.name}"), source.reading():
            settings = pipeline.read_settings(source)
            plan = pipeline.plan_upload(source, sheet=sheet, settings=settings)
    except XlAmeyoError as exc:
        try:
            log([pipeline.fail_record(exc, sheet=sheet or "", settings=settings)])
        except XlAmeyoError as log_exc:
            out.warn(f"the Log row could not be written: {log_exc}")
        fail(exc)
    checked = plan.checked
    report.update(sheet=plan.data_sheet, rows_read=checked.rows_read,
                  rows_valid=len(checked.row_numbers), rows_skipped=len(checked.invalid),
                  invalid_rows=invalid_rows(checked.invalid))
    if csv_out is not None:
        _write_csv_out(plan, csv_out, out)

    bar = out.bar("Sending", 1) if not dry_run else None
    waiting = False

    def progress(sent: int, total: int) -> None:
        nonlocal waiting
        if bar is not None:
            try:
                bar.length = total
                bar.update(sent - bar.pos)
                if sent >= total and not waiting:  # every byte sent: now the server's turn
                    waiting = True
                    bar.render_finish()
                    click.echo("Waiting for the server's answer...", err=True)
            except OSError:  # the terminal went away (SIGHUP follows): the upload goes on
                waiting = True

    with warnings.catch_warnings():
        # verify_tls FALSE: the pipeline's one-line warning below replaces urllib3's, which
        # Python prints with a source line (and only on the first request of a process)
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        outcome = pipeline.run_upload(
            plan, dry_run=dry_run, allow_reupload=allow_reupload, progress=progress,
            ledger=ledger, workbook=book,
        )
    stage["sent"] = bool(outcome.claims)
    if bar is not None and not waiting:
        bar.render_finish()
    for warning in outcome.warnings:
        out.warn(warning)
    for line in _summary(plan, outcome, book, shown=len(plan.invalid) if verbose else 5):
        out.line(line)
    try:
        log(outcome.records)
        out.line(f"Log:     {_rows(len(outcome.records))} appended to the Log of {book.name}")
    except XlAmeyoError as exc:
        out.warn(f"the Log row could not be written: {exc}")
        if outcome.claims:
            say("  the upload ledger keeps what was sent: the next upload of this "
                "workbook writes its Log row first", err=True)
        # The upload itself is done (exit 0 says so); keep its record where the user sees it.
        for record in outcome.records:
            say(f"  not logged: {record.as_row()}", err=True)
    else:
        if ledger is not None and outcome.claims:
            try:
                ledger.mark_logged(outcome.claims)
            except XlAmeyoError as exc:  # the next run would write them again: say so
                out.warn(str(exc))
    if outcome.error is not None:
        fail(outcome.error)
    out.finish()


def _write_csv_out(plan, path: Path, out) -> None:
    """``--dry-run --csv-out``: the CSV bytes the upload would send, by the same writer (a
    split upload: ``FILE``, ``FILE-2``, ...). Nothing when nothing would be sent."""
    from xl_ameyo import pipeline
    from xl_ameyo.csv_export import write_csv

    settings, checked = plan.settings, plan.checked
    if not checked.row_numbers or (checked.invalid and settings.on_invalid_rows == "block"):
        return
    parts = pipeline.batches(len(checked.row_numbers), settings.max_rows_per_upload)
    written = []
    for number, (start, stop) in enumerate(parts, 1):
        target = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
        try:
            with open(target, "wb") as file:
                info = write_csv(checked, file, start=start, stop=stop)
        except OSError as exc:
            out.fail(WorkbookFileError(f"Cannot write '{target}': {exc.strerror or exc}",
                                       hint="Pick a file in a folder you can write to"))
        written.append(str(target))
        out.line(f"CSV:     {target} written ({_rows(info.rows)}), exactly what would be sent")
    out.report["csv_out"] = written


@cli.command()
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--wait", is_flag=True, help="Ask again until every task is final.")
@click.option("--max-wait", type=click.FloatRange(min=0), default=3600.0, show_default=True,
              help="With --wait: stop waiting after this many seconds (exit 1).")
@click.option("--json", "json_mode", is_flag=True,
              help="Print one JSON object on stdout (for schedulers); other lines go to stderr.")
def status(book: Path, wait: bool, max_wait: float, json_mode: bool) -> None:
    """Ask the server what became of the uploads in BOOK's Log; its rejected rows go to a
    Rejected sheet."""
    from xl_ameyo.cli_output import Output
    from xl_ameyo.cli_status import run_status

    run_status(book, wait=wait, max_wait=max_wait,
               out=Output("status", book, json_mode=json_mode))


@cli.command()
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sheet", help="Sheet with the leads (default: the only sheet).")
def init(book: Path, sheet: str | None) -> None:
    """Add Settings and Mapping to BOOK, the Mapping proposed from the leads' headers."""
    from xl_ameyo.cli_output import Output
    from xl_ameyo.cli_status import run_init

    run_init(book, sheet=sheet, out=Output("init", book))


def _login_target(base_url: str | None, username: str | None, book: Path | None):
    """Server and user from the options, else from BOOK's Settings, else asked for."""
    if book is not None and not (base_url and username):
        from xl_ameyo import pipeline
        from xl_ameyo.xlsx.reader import XlsxBook

        settings = pipeline.read_settings(XlsxBook(book))
        base_url = base_url or settings.base_url
        username = username or settings.username
    if not base_url:
        base_url = click.prompt("Ameyo server (base_url, https://host:port)")
    if not username:
        import os

        username = click.prompt("User name", default=os.environ.get("AMEYO_USERNAME") or None)
    return base_url.strip(), username.strip()


_login_options = [
    click.option("--base-url", help="The server, as in Settings' base_url."),
    click.option("--username", help="The Ameyo login user."),
    click.option(
        "--book",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Take base_url and username from this workbook's Settings.",
    ),
]


def _with_login_options(func):
    for option in reversed(_login_options):
        func = option(func)
    return func


@cli.command()
@_with_login_options
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
@click.option(
    "--allow-plaintext-keyring", is_flag=True,
    help="Store the password even if the only credential store keeps it as plain text.",
)
def login(
    base_url: str | None, username: str | None, book: Path | None, password_stdin: bool,
    allow_plaintext_keyring: bool = False,
) -> None:
    """Keep the password for a server and user in this computer's credential store."""
    from xl_ameyo.credentials import check_store, store_password

    try:
        check_store(allow_plaintext=allow_plaintext_keyring)  # before asking for a password
        base_url, username = _login_target(base_url, username, book)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(f"Password for {username}", hide_input=True)
        if not password:
            fail(CredentialsError("No password given", hint="Nothing was stored"))
        store = store_password(base_url, username, password,
                               allow_plaintext=allow_plaintext_keyring)
    except XlAmeyoError as exc:
        fail(exc)
    click.echo(f"Stored the password for {username} on {base_url} in {store}.")


@cli.command()
@_with_login_options
def logout(base_url: str | None, username: str | None, book: Path | None) -> None:
    """Remove the stored password for a server and user."""
    from xl_ameyo.credentials import delete_password

    try:
        base_url, username = _login_target(base_url, username, book)
        removed = delete_password(base_url, username)
    except XlAmeyoError as exc:
        fail(exc)
    if removed:
        click.echo(f"Removed the stored password for {username} on {base_url}.")
    else:
        click.echo(f"No password was stored for {username} on {base_url}.")


@cli.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
def template(out: Path, force: bool) -> None:
    """Write a fresh workbook with Leads, Settings, Mapping and Log sheets to OUT."""
    from xl_ameyo.template import write_template

    if out.suffix.lower() != ".xlsx":
        fail(WorkbookFileError(f"'{out}' must end in .xlsx", hint="Pick a name like leads.xlsx"))
    if out.exists() and not force:
        fail(WorkbookFileError(f"'{out}' already exists", hint="Pick another name or add --force"))
    try:
        write_template(out)
    except OSError as exc:
        fail(WorkbookFileError(f"Cannot write '{out}': {exc.strerror or exc}"))
    click.echo(f"Wrote {out}: fill in Settings (base_url, ids, user_id), check Mapping, "
               "paste the leads into Leads, then: xl-ameyo upload " + str(out))


@cli.group()
def addin() -> None:
    """Install the Excel add-in (the "Ameyo" ribbon tab) for this user: Windows and macOS."""


@addin.command("install")
def addin_install() -> None:
    """Put the add-in into Excel's startup folder, set to run this Python."""
    from xl_ameyo.excel.install import install

    try:
        written = install()
    except XlAmeyoError as exc:
        fail(exc)
    click.echo(f"Installed {written[0]}: restart Excel, then use the Ameyo tab.")


@addin.command("uninstall")
def addin_uninstall() -> None:
    """Remove the add-in from Excel's startup folder."""
    from xl_ameyo.excel.install import uninstall

    try:
        removed = uninstall()
    except XlAmeyoError as exc:
        fail(exc)
    click.echo(f"Removed {removed}: restart Excel." if removed else "The add-in was not installed.")


@addin.command("status")
def addin_status() -> None:
    """Say whether the add-in is installed, and which Python it runs."""
    from xl_ameyo.excel.install import status

    try:
        for line in status().lines():
            click.echo(line)
    except XlAmeyoError as exc:
        fail(exc)


def main() -> None:
    cli(prog_name="xl-ameyo")
