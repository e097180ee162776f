"""SPEC §4 `xl-ameyo init BOOK`: Settings and Mapping added to a workbook of leads (the Mapping
proposed by the add-in's own guesser), everything else kept byte for byte; then the
workbook uploads once Settings are filled in."""

from __future__ import annotations

import openpyxl

from tests.books import (
    edit_book,
    one_line_error,
    only_request,
    run_cli,
    upload,
    write_book,
    zip_bytes,
)
from xl_ameyo import guess
from xl_ameyo.excel import firstrun
from xl_ameyo.template import SETTINGS_ROWS

LEADS = [["Customer Name", "Mobile No", "Alt Phone", "E-mail", "City"],
         ["Asha Rao", "9876543210", None, "asha@example.com", "Pune"]]


def test_init_adds_settings_and_mapping(sim, tmp_path):
    book = write_book(tmp_path / "b.xlsx", {"Leads": LEADS, "Notes": [["keep me"]]})
    before = zip_bytes(book)
    result = run_cli("init", book, "--sheet", "Leads")
    assert result.exit_code == 0, result.output
    assert "phone1 = 'Mobile No'" in result.stdout

    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Leads", "Notes", "Settings", "Mapping"]
    settings = [[c.value for c in row] for row in wb["Settings"].iter_rows()]
    assert settings[0] == ["Setting", "Value", "Notes"]
    assert [r[0] for r in settings[1:]] == [key for key, _d, _n in SETTINGS_ROWS]
    assert dict((r[0], r[1]) for r in settings[1:])["data_sheet"] == "Leads"  # two sheets
    mapping = {r[0].value: r[1].value for r in wb["Mapping"].iter_rows(min_row=2)}
    assert mapping == {"name": "Customer Name", "phone1": "Mobile No", "phone2": "Alt Phone",
                       "phone3": None, "phone4": None, "phone5": None, "email": "E-mail",
                       "timezone": None, "twitter": None, "facebook": None}
    assert {k: v for k, v in mapping.items() if v} == guess.guess_mapping(LEADS[0])

    after = zip_bytes(book)
    assert {n for n in before if before[n] != after[n]} == {
        "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}

    # filled in, it uploads
    edit_book(book, "Settings", {"B2": sim.url, "B3": 1, "B4": 13, "B5": 17, "B6": "john"})
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert only_request(sim)["csv"].startswith("Customer Name,Mobile No,Alt Phone,E-mail")


def test_init_refuses_a_workbook_that_has_both(sim, tmp_path):
    book = write_book(tmp_path / "b.xlsx", {"Leads": LEADS, "Settings": [["base_url"]],
                                            "MAPPING": [["Ameyo field"]]})
    before = book.read_bytes()
    result = run_cli("init", book)
    assert result.exit_code == 2
    assert "already has Settings and Mapping" in one_line_error(result)
    assert book.read_bytes() == before


def test_init_adds_only_what_is_missing(tmp_path):
    book = write_book(tmp_path / "b.xlsx", {"Leads": LEADS, "Settings": [["base_url", "x"]]})
    result = run_cli("init", book)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Leads", "Settings", "Mapping"]
    assert wb["Settings"]["B1"].value == "x"


def test_the_first_click_uses_the_same_guesser():
    assert firstrun.guess_mapping is guess.guess_mapping
