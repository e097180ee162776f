"""`xl-ameyo`: a thin command line over the library.

It only translates: arguments in, one clear line out. Library errors (``XlAmeyoError``) become
a message and an exit status, never a traceback.
"""

from __future__ import annotations

import click

from xl_ameyo import __version__


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


def main() -> None:
    cli(prog_name="xl-ameyo")
