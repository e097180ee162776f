"""The template workbook: generator, CLI command and the committed file agree."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from xl_ameyo.cli import cli
from xl_ameyo.logrecord import LOG_COLUMNS
from xl_ameyo.mapping import STANDARD_FIELDS
from xl_ameyo.settings import KEYS
from xl_ameyo.template import BOOLEAN_KEYS, SETTINGS_ROWS, template_bytes
from xl_ameyo.xlsx.reader import XlsxBook

COMMITTED = Path(__file__).resolve().parent.parent / "workbook" / "leads_template.xlsx"


def test_committed_template_matches_the_generator():
    assert COMMITTED.read_bytes() == template_bytes(), (
        "workbook/leads_template.xlsx is stale: run xl-ameyo template "
        "workbook/leads_template.xlsx --force"
    )


def test_template_lists_every_settings_key_once_in_order():
    assert tuple(key for key, _, _ in SETTINGS_ROWS) == KEYS


def test_template_sheets_hold_what_the_readers_expect(tmp_path):
    out = tmp_path / "leads.xlsx"
    result = CliRunner().invoke(cli, ["template", str(out)])
    assert result.exit_code == 0, result.output
    book = XlsxBook(out)
    assert book.sheet_names == ["Leads", "Settings", "Mapping", "Log"]
    settings = book.read_sheet("Settings")
    assert settings[0] == ["Setting", "Value", "Notes"]
    assert [row[0] for row in settings[1:]] == list(KEYS)
    defaults = {row[0]: row[1] for row in settings[1:]}
    assert defaults["verify_tls"] is True and defaults["migrate"] is False
    assert defaults["on_invalid_rows"] == "skip"
    mapping = book.read_sheet("Mapping")
    assert [row[0] for row in mapping[1:]] == list(STANDARD_FIELDS)
    assert book.read_sheet("Log") == [list(LOG_COLUMNS)]


def test_booleans_are_dropdowns_and_phone_columns_are_text(tmp_path):
    out = tmp_path / "leads.xlsx"
    out.write_bytes(template_bytes())
    wb = load_workbook(out)
    ws = wb["Settings"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1)}
    covered = set()
    for dv in ws.data_validations.dataValidation:
        if dv.formula1 == '"TRUE,FALSE"':
            covered |= {str(c) for rng in dv.sqref.ranges for c in [rng.coord]}
    assert covered == {f"B{rows[key]}" for key in BOOLEAN_KEYS}
    leads = wb["Leads"]
    assert leads.column_dimensions["B"].number_format == "@"


def test_template_refuses_to_overwrite(tmp_path):
    out = tmp_path / "leads.xlsx"
    out.write_bytes(b"keep me")
    result = CliRunner().invoke(cli, ["template", str(out)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "--force" in result.output
    assert out.read_bytes() == b"keep me"
