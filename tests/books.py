"""Small workbooks from plain rows per sheet, and the `xl-ameyo` command run in-process, for the
end-to-end tests (tests/test_cli_*.py).

- :func:`write_book` writes sheets of plain Python values with openpyxl, numbers EXACTLY
  (openpyxl itself writes ``"%.16g"``, which turns ``0.1 + 0.2`` into ``0.3``: Excel keeps 17
  significant digits), a text starting with ``#`` that is an error code as an error cell
  (openpyxl's rule), and optionally cached results for formula cells.
- :func:`settings_rows` / :func:`mapping_rows` / :func:`lead_book`: a complete workbook
  aimed at the simulator's seed lead list (cc 1, process 13, lead list 17).
- :func:`run_cli` runs ``xl-ameyo`` through click's runner with the credentials given
  explicitly: no ``AMEYO_*`` variable of the developer's environment and no OS credential
  store can leak in.
- :func:`read_log` reads the Log sheet back with openpyxl (values and cell types).
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from unittest import mock

import openpyxl
import openpyxl.cell._writer as _cell_writer
from click.testing import CliRunner, Result

from tests.xlsx_fixtures import patch_member, set_cached_values
from xl_ameyo.cli import cli

#: the simulator's seed: contact center 1, process 13, lead lists 17 and 18
CC, PROCESS, LEAD, OTHER_LEAD = 1, 13, 17, 18
USER_ID = "john"
USERNAME, PASSWORD = "demo", "demo-pass"

HEADERS = ["Name", "Mobile", "City"]
MAPPING = {"name": "Name", "phone1": "Mobile", "city": "City"}
ROWS = [
    ["Asha Rao", "9876543210", "Pune"],
    ["Vikram Das", "9123456780", "Delhi"],
]


# --- writing workbooks ---------------------------------------------------------------------


_original_safe_string = _cell_writer.safe_string


def _exact(value):
    """openpyxl's number text, but exact: ``repr`` for floats, every digit for ints."""
    if isinstance(value, bool):
        return _original_safe_string(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return _original_safe_string(value)


@contextlib.contextmanager
def _exact_numbers() -> Iterator[None]:
    with mock.patch.object(_cell_writer, "safe_string", _exact):
        yield


def write_book(
    path: Path,
    sheets: Mapping[str, Sequence[Sequence]],
    *,
    cached: Mapping[str, Mapping[str, tuple[str | None, str]]] | None = None,
) -> Path:
    """Write ``sheets`` (name -> rows from A1) to ``path``, in that tab order.

    ``cached`` gives formula cells their cached results: ``{"Leads": {"C2": (None, "42")}}``
    (the cell's type attribute, e.g. ``"str"``/``"e"``/``None``, and the ``<v>`` text).
    """
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    names = list(sheets)
    for name in names:
        ws = wb.create_sheet(name)
        for row in sheets[name]:
            ws.append(list(row))
    with _exact_numbers():
        wb.save(path)
    for name, values in (cached or {}).items():
        member = f"xl/worksheets/sheet{names.index(name) + 1}.xml"
        patch_member(path, member, lambda xml, v=values: set_cached_values(xml, v))
    return path


def settings_rows(url: str, **values) -> list[list]:
    """A Settings sheet aimed at the seed lead list; ``key=value`` adds or overrides a row,
    ``key=None`` leaves the key out. Rows keep the usual order, extra keys at the end."""
    merged: dict[str, object] = {
        "base_url": url,
        "cc_list_id": CC,
        "process_id": PROCESS,
        "lead_id": LEAD,
        "user_id": USER_ID,
    }
    merged.update(values)
    rows: list[list] = [["Setting", "Value", "Notes"]]
    rows += [[key, value] for key, value in merged.items() if value is not None]
    return rows


def mapping_rows(mapping: Mapping[str, str | None]) -> list[list]:
    """A Mapping sheet: header row, then one row per Ameyo field (None: not mapped)."""
    return [["Ameyo field", "Sheet column"], *([f, c] for f, c in mapping.items())]


def lead_book(
    path: Path,
    base_url: str,
    *,
    headers: Sequence = HEADERS,
    rows: Sequence[Sequence] = ROWS,
    mapping: Mapping[str, str | None] = MAPPING,
    settings: Mapping[str, object] | None = None,
    settings_sheet: Sequence[Sequence] | None = None,
    data_sheet: str = "Leads",
    extra: Mapping[str, Sequence[Sequence]] | None = None,
    cached: Mapping[str, Mapping[str, tuple[str | None, str]]] | None = None,
) -> Path:
    """A complete workbook: the data sheet first, then Settings, Mapping and ``extra``.

    ``settings`` adds/overrides keys of :func:`settings_rows`; ``settings_sheet`` gives the
    Settings sheet's rows verbatim instead."""
    if settings_sheet is None:
        settings_sheet = settings_rows(base_url, **(settings or {}))
    sheets: dict[str, Sequence[Sequence]] = {
        data_sheet: [list(headers), *rows],
        "Settings": settings_sheet,
        "Mapping": mapping_rows(mapping),
    }
    sheets.update(extra or {})
    return write_book(path, sheets, cached=cached)


# --- running the command -------------------------------------------------------------------


def cli_env(username: str | None = USERNAME, password: str | None = PASSWORD, **more) -> dict:
    """The environment for one run: ``AMEYO_USERNAME``/``AMEYO_PASSWORD`` as given (None:
    unset) and every other ``AMEYO_*`` variable of the real environment unset."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.upper().startswith("AMEYO_")}
    env["AMEYO_USERNAME"] = username
    env["AMEYO_PASSWORD"] = password
    env.update(more)
    return env


def run_cli(*args: object, env: dict | None = None) -> Result:
    """``xl-ameyo ARGS`` in-process; the OS credential store is never asked."""
    runner = CliRunner()
    with mock.patch("xl_ameyo.credentials.stored_password", return_value=None):
        return runner.invoke(
            cli, [str(a) for a in args], env=cli_env() if env is None else env,
            catch_exceptions=True,
        )


def upload(book: Path, *args: object, env: dict | None = None) -> Result:
    """``xl-ameyo upload BOOK ARGS``."""
    return run_cli("upload", book, *args, env=env)


def only_request(sim) -> dict:
    """The one upload the simulator received (fails when there were more or none)."""
    requests = sim.upload_requests()
    assert len(requests) == 1, requests
    return requests[0]


def one_line_error(result: Result) -> str:
    """The run's stderr, checked to be exactly one line without a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception
    )
    err = result.stderr
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in result.output
    return lines[0]


# --- reading results back ------------------------------------------------------------------


def read_log(path: Path) -> tuple[list, list[list]]:
    """The Log sheet as (header values, data rows of cells), read with openpyxl."""
    wb = openpyxl.load_workbook(path)
    name = next(n for n in wb.sheetnames if n.casefold() == "log")
    rows = [list(r) for r in wb[name].iter_rows()]
    header = [c.value for c in rows[0]]
    data = [r for r in rows[1:] if any(c.value is not None for c in r)]
    return header, data


def log_dicts(path: Path) -> list[dict]:
    """The Log's data rows as {column: value}."""
    header, rows = read_log(path)
    return [{h: c.value for h, c in zip(header, row, strict=False) if h} for row in rows]


def edit_book(path: Path, sheet: str, cells: Mapping[str, object]) -> Path:
    """Change cells of one sheet with an openpyxl load and save (for books without formulas:
    the save drops cached formula results)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    for ref, value in cells.items():
        ws[ref] = value
    with _exact_numbers():
        wb.save(path)
    return path


def zip_bytes(path: Path) -> dict[str, bytes]:
    """Every member of the workbook, decompressed."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}
