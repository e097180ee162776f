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
    _say(f"error: {error}", err=True)
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
def upload(
    book: Path, sheet: str | None, dry_run: bool, allow_reupload: bool, verbose: bool
) -> None:
    """Upload the leads in BOOK (.xlsx/.xlsm) and append the result to its Log sheet."""
    from xl_ameyo.gcpause import gc_paused

    # The cyclic collector stays off for the command: every collection would walk the
    # checked sheet's million-item lists (0.1 s each), and nothing here makes cyclic garbage.
    with gc_paused():
        _upload(book, sheet, dry_run, allow_reupload, verbose)


def _upload(
    book: Path, sheet: str | None, dry_run: bool, allow_reupload: bool, verbose: bool
) -> None:
    from xl_ameyo import interrupts
    from xl_ameyo.errors import RunInterrupted

    # SIGINT, SIGTERM, SIGHUP raise Interrupted (the pipeline notes them while an upload's
    # record is not safe yet): one line, exit 1, and whatever was sent is in the ledger
    with interrupts.catching():
        stage = {"sent": False}
        try:
            _upload_locked(book, sheet, dry_run, allow_reupload, verbose, stage)
        except interrupts.Interrupted as sig:
            if stage["sent"]:
                fail(RunInterrupted(
                    f"Interrupted by {sig.name} while the Log was written",
                    hint="The upload is recorded in the upload ledger: the next run of this "
                    "workbook writes its Log row",
                ))
            fail(RunInterrupted(f"Interrupted by {sig.name}"))


def _upload_locked(
    book: Path, sheet: str | None, dry_run: bool, allow_reupload: bool, verbose: bool,
    stage: dict,
) -> None:
    import warnings

    import urllib3

    from xl_ameyo import pipeline
    from xl_ameyo.booklock import book_lock
    from xl_ameyo.logrecord import LOG_COLUMNS
    from xl_ameyo.xlsx.logbook import append_log_row, check_writable
    from xl_ameyo.xlsx.reader import XlsxBook

    try:
        source = XlsxBook(book)
        check_writable(book)
    except XlAmeyoError as exc:
        fail(exc)

    def log(records) -> None:
        for record in records:
            append_log_row(book, record.as_row(), columns=LOG_COLUMNS)

    with contextlib.ExitStack() as held:
        try:
            # one run of a workbook at a time, from reading it to its Log row
            held.enter_context(book_lock(book, shown=str(book)))
            ledger = _open_ledger(dry_run)
            if ledger is not None:
                held.callback(ledger.close)
                _repair_log(book, ledger, log)
        except XlAmeyoError as exc:
            fail(exc)

        settings = None
        try:
            # one python-calamine workbook for all the reads; closed before anything is written
            with source.reading():
                settings = pipeline.read_settings(source)
                plan = pipeline.plan_upload(source, sheet=sheet, settings=settings)
        except XlAmeyoError as exc:
            try:
                log([pipeline.fail_record(exc, sheet=sheet or "", settings=settings)])
            except XlAmeyoError as log_exc:
                _say(f"warning: the Log row could not be written: {log_exc}", err=True)
            fail(exc)

        bar = None
        if sys.stderr.isatty() and not dry_run:
            bar = click.progressbar(length=1, label="Uploading", file=sys.stderr, show_pos=False)

        def progress(sent: int, total: int) -> None:
            nonlocal bar
            if bar is not None:
                try:
                    bar.length = total
                    bar.update(sent - bar.pos)
                except OSError:  # the terminal went away (SIGHUP follows): the upload goes on
                    bar = None

        with warnings.catch_warnings():
            # verify_tls FALSE: the pipeline's one-line warning below replaces urllib3's, which
            # Python prints with a source line (and only on the first request of a process)
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            outcome = pipeline.run_upload(
                plan, dry_run=dry_run, allow_reupload=allow_reupload, progress=progress,
                ledger=ledger, workbook=book,
            )
        stage["sent"] = bool(outcome.claims)
        if bar is not None:
            with contextlib.suppress(OSError):
                bar.render_finish()
        for warning in outcome.warnings:
            _say(f"warning: {warning}", err=True)
        for line in _summary(plan, outcome, book, shown=len(plan.invalid) if verbose else 5):
            _say(line)
        try:
            log(outcome.records)
            _say(f"Log:     {_rows(len(outcome.records))} appended to the Log of {book.name}")
        except XlAmeyoError as exc:
            _say(f"warning: the Log row could not be written: {exc}", err=True)
            if outcome.claims:
                _say("  the upload ledger keeps what was sent: the next upload of this "
                     "workbook writes its Log row first", err=True)
            for record in outcome.records:
                _say(f"  not logged: {record.as_row()}", err=True)
        else:
            if ledger is not None and outcome.claims:
                try:
                    ledger.mark_logged(outcome.claims)
                except XlAmeyoError as exc:  # the next run would log them twice: say so
                    _say(f"warning: {exc}", err=True)
    if outcome.error is not None:
        fail(outcome.error)


def _say(line: str, *, err: bool = False) -> None:
    """A line on stdout/stderr; a terminal that went away (SIGHUP) does not stop the run."""
    with contextlib.suppress(OSError):
        click.echo(line, err=err)


def _open_ledger(dry_run: bool):
    """The upload ledger; for a dry run only when it exists, and never an error then."""
    from xl_ameyo.ledger import Ledger, LedgerError, ledger_path

    if not dry_run:
        return Ledger()
    if not ledger_path().exists():
        return None
    try:
        return Ledger()
    except LedgerError as exc:
        _say(f"warning: {exc}", err=True)
        return None


def _repair_log(book: Path, ledger, log) -> None:
    """Log rows an earlier run could not write (it was killed, or its Log write failed),
    from the ledger, before anything else (SPEC §5)."""
    from xl_ameyo.ledger import workbook_key

    entries = ledger.unlogged(workbook_key(book))
    if not entries:
        return
    try:
        log([entry.record for entry in entries])
    except XlAmeyoError as exc:
        raise WorkbookFileError(
            f"The Log rows of an earlier upload of {book.name} (kept in the upload ledger) "
            f"could not be written: {exc}"
        ) from None
    ledger.mark_logged([entry.id for entry in entries])
    states = ", ".join(entry.state for entry in entries)
    _say(f"Log:     {_rows(len(entries))} of an earlier run written from the upload ledger "
         f"({states})")


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
def login(
    base_url: str | None, username: str | None, book: Path | None, password_stdin: bool
) -> None:
    """Keep the password for a server and user in this computer's credential store."""
    from xl_ameyo.credentials import store_password

    try:
        base_url, username = _login_target(base_url, username, book)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(f"Password for {username}", hide_input=True)
        if not password:
            fail(CredentialsError("No password given", hint="Nothing was stored"))
        store = store_password(base_url, username, password)
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
