"""Helpers for the Excel tests: workbooks for xlwings' remote engine and a reader of the
actions xlwings would send to Excel. (Also tests of the helpers themselves.)

The remote engine is xlwings' own object model (``xw.Book(json=...)``): a workbook is the JSON
its clients send (``client``, ``version``, ``book``, ``names``, ``sheets`` with their
``values`` anchored at A1), and everything the code does to the workbook comes back as the
``actions`` of ``book.json()``. :func:`replay` applies those actions to a grid per sheet, the
way the client would, so tests can assert on cells, number formats and fills.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
import xlwings as xw

from xl_ameyo.columns import CellError, column_letter
from xl_ameyo.excel.ui import ExcelUI
from xl_ameyo.template import SETTINGS_ROWS

LEADS_HEADERS = ["Customer Name", "Mobile", "Alternate Phone", "E-mail", "City"]
MAPPING = {"name": "Customer Name", "phone1": "Mobile", "phone2": "Alternate Phone",
           "email": "E-mail"}


@pytest.fixture
def remote(monkeypatch):
    """xlwings' remote engine, licensed for this test only (``make_book`` to build books).

    xlwings registers the engine when it is first imported and the licence key is set then;
    here the key is set for this test only, so the engine is registered now (importing
    ``xlwings.pro`` checks the key) and unregistered afterwards. The upload's per-workbook
    locks and its ledger are the test's own (conftest: XL_AMEYO_DATA_DIR)."""
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    added = None
    if "remote" not in xw.engines.engines_by_name:
        from xlwings.pro import _xlremote

        added = xw.main.Engine(impl=_xlremote.engine)
        xw.engines.add(added)
    yield make_book
    if added is not None:
        xw.engines.engines.remove(added)
        del xw.engines.engines_by_name["remote"]


@pytest.fixture
def no_keyring():
    """No OS credential store: a password can only come from the environment."""
    import keyring
    from keyring.backends.null import Keyring

    before = keyring.get_keyring()
    keyring.set_keyring(Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture
def creds(monkeypatch, sim, no_keyring):
    monkeypatch.setenv("AMEYO_USERNAME", sim.username)
    monkeypatch.setenv("AMEYO_PASSWORD", sim.password)
    return sim


# --- building workbooks ------------------------------------------------------------------------


def cell_json(value):
    """A Python cell value as the xlwings clients put it into the JSON."""
    if value is None:
        return ""
    if isinstance(value, CellError):
        return value.code
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%dT00:00:00.000Z")
    return value


def book_json(
    sheets: dict[str, list[list]],
    *,
    active: str | None = None,
    client: str = "VBA",
    name: str = "leads.xlsx",
    used: dict[str, str] | None = None,
) -> dict:
    """The JSON of a workbook. ``sheets``: name -> rows from A1 (ragged is fine).
    ``used``: sheet -> its used range address (as Office.js clients send it); the values
    still start at A1."""
    payload_sheets = []
    for sheet_name, rows in sheets.items():
        width = max((len(r) for r in rows), default=0)
        values = [[cell_json(v) for v in r] + [""] * (width - len(r)) for r in rows]
        entry = {"name": sheet_name, "values": values or [[]], "pictures": [], "tables": []}
        if used and sheet_name in used:
            entry["used_range_address"] = used[sheet_name]
        payload_sheets.append(entry)
    names = list(sheets)
    return {
        "client": client,
        "version": xw.__version__,
        "book": {"name": name, "active_sheet_index": names.index(active or names[0]),
                 "selection": "A1"},
        "names": [],
        "sheets": payload_sheets,
    }


def settings_rows(**values) -> list[list]:
    rows: list[list] = [["Setting", "Value", "Notes"]]
    for key, default, _note in SETTINGS_ROWS:
        value = values.pop(key, default)
        rows.append([key, value, ""])
    for key, value in values.items():
        rows.append([key, value, ""])
    return rows


def mapping_rows(mapping: dict[str, str] | None = None) -> list[list]:
    mapping = dict(MAPPING if mapping is None else mapping)
    rows: list[list] = [["Ameyo field", "Sheet column"]]
    for fld in ("name", "phone1", "phone2", "phone3", "phone4", "phone5", "email", "timezone",
                "twitter", "facebook"):
        rows.append([fld, mapping.pop(fld, None)])
    rows += [[fld, col] for fld, col in mapping.items()]
    return rows


def lead_book(
    sim,
    leads: list[list],
    *,
    headers: list[str] = LEADS_HEADERS,
    settings: dict | None = None,
    mapping: dict | None = None,
    log: list[list] | None = None,
    extra: dict[str, list[list]] | None = None,
    active: str = "Leads",
    **kwargs,
) -> xw.Book:
    """A complete workbook for the simulator: Leads (active), Settings, Mapping[, Log]."""
    values = dict(base_url=sim.url, cc_list_id=1, process_id=13, lead_id=17, user_id="john")
    values.update(settings or {})
    sheets = {
        "Leads": [list(headers), *leads],
        "Settings": settings_rows(**values),
        "Mapping": mapping_rows(mapping),
    }
    if log is not None:
        sheets["Log"] = log
    sheets.update(extra or {})
    return make_book(sheets, active=active, **kwargs)


# --- what xlwings would send to Excel -----------------------------------------------------------


class ScriptedUI(ExcelUI):
    """The real dialogs (``app.alert`` is called and recorded), with the analyst's answers to
    the questions given in advance."""

    def __init__(self, book, answers=()):
        super().__init__(book)
        self.answers = list(answers)
        self.questions: list[str] = []

    def ask(self, text, *, title="Ameyo", buttons="ok_cancel"):
        super().ask(text, title=title, buttons=buttons)
        self.questions.append(text)
        if not self.answers:
            raise AssertionError(f"unexpected question: {text}")
        return self.answers.pop(0)


@dataclass
class SheetState:
    cells: dict[tuple[int, int], object] = field(default_factory=dict)  # (row, col) 1-based
    formats: dict[tuple[int, int], str] = field(default_factory=dict)
    fills: dict[tuple[int, int], str | None] = field(default_factory=dict)
    cleared: bool = False
    order: list[tuple[str, tuple[int, int]]] = field(default_factory=list)

    def value(self, address: str):
        return self.cells.get(_rc(address))

    def row(self, number: int) -> list:
        cols = [c for (r, c) in self.cells if r == number]
        if not cols:
            return []
        return [self.cells.get((number, c)) for c in range(1, max(cols) + 1)]

    def rows(self) -> list[list]:
        last = max((r for r, _ in self.cells), default=0)
        return [self.row(r) for r in range(1, last + 1)]

    def formatted_before_written(self, address: str) -> bool:
        """The cell got the Text format ("@") before its value was written."""
        rc = _rc(address)
        kinds = [k for k, cell in self.order if cell == rc]
        return "format:@" in kinds and "value" in kinds and (
            kinds.index("format:@") < kinds.index("value")
        )


def _rc(address: str) -> tuple[int, int]:
    letters = "".join(c for c in address if c.isalpha()).upper()
    digits = "".join(c for c in address if c.isdigit())
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(digits), col


@dataclass
class Replay:
    sheets: dict[str, SheetState]
    names: list[str]
    active: str
    alerts: list[dict]

    def __getitem__(self, name: str) -> SheetState:
        return self.sheets.setdefault(name, SheetState())


def replay(book: xw.Book) -> Replay:
    """Apply the book's queued actions, as an xlwings client would, to per-sheet grids (only
    what the add-in uses: values, formulas, number formats, fills, sheets, alerts)."""
    names = [s["name"] for s in book.json_initial]  # type: ignore[attr-defined]
    active = names[book.active_initial]  # type: ignore[attr-defined]
    sheets: dict[str, SheetState] = {}
    alerts: list[dict] = []
    for action in book.json()["actions"]:
        func = action["func"]
        args = action["args"]
        pos = action["sheet_position"]
        if func == "addSheet":
            names.insert(args[0], args[1])
            active = args[1]
            continue
        if func == "alert":
            alerts.append(dict(zip(("prompt", "title", "buttons", "mode", "callback"), args,
                                   strict=True)))
            continue
        name = names[pos]
        state = sheets.setdefault(name, SheetState())
        if func == "activateSheet":
            active = names[args[0]]
        elif func in ("sheetClear", "sheetClearContents"):
            state.cells.clear()
            if func == "sheetClear":
                state.formats.clear()
            state.cleared = True
        elif func in ("setValues", "setFormula"):
            top, left = action["start_row"] + 1, action["start_column"] + 1
            for i, row in enumerate(action["values"]):
                for j, v in enumerate(row):
                    state.cells[(top + i, left + j)] = None if v == "" else v
                    state.order.append(("value", (top + i, left + j)))
        elif func in ("setNumberFormat", "setRangeColor"):
            top, left = action["start_row"] + 1, action["start_column"] + 1
            for i in range(action["row_count"]):
                for j in range(action["column_count"]):
                    rc = (top + i, left + j)
                    if func == "setNumberFormat":
                        state.formats[rc] = args[0]
                        state.order.append((f"format:{args[0]}", rc))
                    else:
                        state.fills[rc] = args[0]
        else:
            raise AssertionError(f"action the tests do not know: {func}")
    return Replay(sheets, names, active, alerts)


def _remember(book: xw.Book) -> xw.Book:
    api = book.impl.api
    book.json_initial = [dict(s) for s in api["sheets"]]  # type: ignore[attr-defined]
    book.active_initial = api["book"]["active_sheet_index"]  # type: ignore[attr-defined]
    return book


def make_book(sheets: dict[str, list[list]], **kwargs) -> xw.Book:
    """An ``xw.Book`` on the remote engine (the caller sets the licence: :func:`remote`)."""
    return _remember(xw.Book(json=book_json(sheets, **kwargs)))


def addr(row: int, col: int) -> str:
    return f"{column_letter(col - 1)}{row}"


# --- tests of the helpers ---------------------------------------------------------------------


def test_book_json_round_trips_through_xlwings(remote):
    book = remote({"Leads": [["Name", "Mobile"], ["Asha", 9876543210.0]], "Other": [[1]]},
                  active="Other")
    assert [s.name for s in book.sheets] == ["Leads", "Other"]
    assert book.sheets.active.name == "Other"
    assert book.sheets["Leads"].used_range.value == [["Name", "Mobile"], ["Asha", 9876543210.0]]


def test_replay_follows_added_sheets_and_formats(remote):
    book = remote({"Leads": [["Name"]]})
    sheet = book.sheets.add("Log", after=book.sheets[-1])
    sheet.range("B2").number_format = "@"
    sheet.range("B2").value = "0123"
    book.sheets["Leads"].range("A1").color = (255, 0, 0)
    book.app.alert("hello", title="T", buttons="ok", mode="info")
    state = replay(book)
    assert state.names == ["Leads", "Log"]
    assert state["Log"].value("B2") == "0123"
    assert state["Log"].formatted_before_written("B2")
    assert state["Leads"].fills[(1, 1)] == "#ff0000"
    assert state.alerts == [{"prompt": "hello", "title": "T", "buttons": "ok", "mode": "info",
                             "callback": ""}]
