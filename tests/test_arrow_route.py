"""The data sheet read by the reader's Arrow route (fastexcel's typed columns, when an XML
scan proves them exact) or, when it is not, by the per-cell route: either way the rules give
on what was read what they give on the values as they were typed (CSV bytes and SHA-256,
invalid rows with their reasons, rows read). Pure columns must take the Arrow route; mixed
columns and unusual sheets fall back.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tests.books import lead_book, mapping_rows, write_book
from xl_ameyo import pipeline
from xl_ameyo.columns import CellError
from xl_ameyo.csv_export import write_csv
from xl_ameyo.mapping import resolve_mapping
from xl_ameyo.rules import check_rows
from xl_ameyo.rules.phones import PHONE_JUNK
from xl_ameyo.xlsx.reader import XlsxBook

URL = "https://ameyo.example.com:8443"


#: the values each book of a test was written with: path -> (headers, rows, mapping)
TYPED: dict[Path, tuple] = {}
#: what openpyxl writes as an error cell
ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"}


def typed_book(path: Path, headers, rows, mapping) -> Path:
    TYPED[path] = (list(headers), [list(r) for r in rows], dict(mapping))
    return lead_book(path, URL, headers=headers, rows=rows, mapping=mapping)


def expected(headers, rows, mapping):
    """The rules on the values as typed."""
    typed = [[CellError(v) if isinstance(v, str) and v in ERRORS else v for v in row]
             for row in rows]
    return check_rows(typed, resolve_mapping(mapping_rows(mapping), headers,
                                             data_sheet="Leads"))


def plan(path: Path):
    source = XlsxBook(path)
    with source.reading():
        return pipeline.plan_upload(source)


def routes(path: Path, sheet: str = "Leads"):
    """(what the rules give on the typed values, or on what was read when the test does not
    say; what was read when the Arrow route is taken, else None). Whatever the route, what
    was read must give the typed values' results."""
    got = plan(path).checked
    ref = got
    if path in TYPED:
        ref = expected(*TYPED[path])
        assert_same(ref, got)
    taken = XlsxBook(path).sheet_columns(sheet).route == "arrow"
    return ref, got if taken else None


def csv_of(data) -> tuple[bytes, str]:
    out = io.BytesIO()
    info = write_csv(data, out)
    return out.getvalue(), info.sha256


def assert_same(ref, got) -> None:
    assert got is not None, "the Arrow route was not taken"
    assert csv_of(got) == csv_of(ref)
    assert got.invalid == ref.invalid
    assert got.rows_read == ref.rows_read
    assert got.row_numbers == ref.row_numbers
    assert got.header == ref.header


def book(tmp_path: Path, headers, rows, mapping, name: str = "b.xlsx") -> Path:
    return typed_book(tmp_path / name, headers, rows, mapping)


MAPPING = {"name": "Name", "phone1": "Mobile", "phone2": "Other", "city": "Note",
           "amount": "Amount", "when": "When", "day": "Day", "flag": "Flag"}
HEADERS = ["Name", "Mobile", "Other", "Note", "Amount", "When", "Day", "Flag", "Unmapped"]


def pure_rows():
    return [
        ["  Asha Rao ", 9876543210, "022-2345 6789", 'said "hi", ok', 1234.56,
         dt.datetime(2021, 5, 6, 7, 8, 9), dt.date(2020, 1, 2), True, "x"],
        ["Zoë\u00a0", 9876543210, None, "\u3000wide\u3000", -0.0,
         dt.datetime(2021, 5, 6), dt.date(1999, 12, 31), False, None],  # duplicate phone1
        [None] * 9,  # an empty row
        ["No phone", None, "12345", "n", 2.5e16, dt.datetime(2000, 1, 1, 23, 59, 59),
         dt.date(2000, 2, 29), True, 5],
        ["Bad phone", 12345, "+91 98765 43210", "line\nbreak", 1e-7,
         dt.datetime(2021, 5, 6, 0, 0, 1), dt.date(2021, 5, 6), False, None],
        ["Err", 9000000001, "9000000002", "#N/A", 0.1 + 0.2,
         dt.datetime(2021, 5, 6, 12), dt.date(2021, 5, 7), True, None],
        ["Ok", 9000000003, "abc", "fine", 123456789012345.6,
         dt.datetime(2021, 5, 6, 12), dt.date(2021, 5, 7), True, None],
        ["Big", 1e15, "", "", 5e-5, None, None, None, "#DIV/0!"],
        ["   ", 9000000004, "  ", "  ", 1e300, dt.datetime(2021, 5, 6, 12),
         dt.date(2021, 5, 7), None, None],
        [None, None, None, None, None, None, None, None, "   "],  # blank text only: empty
        ["Last", 9000000005, "9000000006", "", 12.0, None, None, None, None],
    ]


def test_pure_columns_of_every_type_take_the_arrow_route(tmp_path):
    ref, got = routes(book(tmp_path, HEADERS, pure_rows(), MAPPING))
    assert_same(ref, got)
    assert len(ref.invalid) >= 4


def test_text_phones(tmp_path):
    rows = [[f"n{i}", f" +91 98765 {i:05d}", f"{i:07d}", "c", 1.0, None, None, None, None]
            for i in range(50)]
    rows += [["dup", " +91 98765 00007", "", "c", 1.0, None, None, None, None],
             ["bad", "98765 4321x", "", "c", 1.0, None, None, None, None]]
    # the digit counts at the edges: 6 and 16 are not phones, 7 and 15 are
    for digits in ("123456", "1234567", "123456789012345", "1234567890123456", "0000000"):
        rows.append(["edge", digits, digits, "c", 1.0, None, None, None, None])
    ref, got = routes(book(tmp_path, HEADERS, rows, MAPPING))
    assert_same(ref, got)


def test_the_pipeline_takes_the_arrow_route(tmp_path, monkeypatch):
    path = book(tmp_path, HEADERS, pure_rows(), MAPPING)
    taken = []
    original = XlsxBook.sheet_columns

    def spy(self, name, columns=None):
        sheet = original(self, name, columns)
        taken.append(sheet.route == "arrow")
        return sheet

    monkeypatch.setattr(XlsxBook, "sheet_columns", spy)
    got = plan(path).checked
    assert taken == [True]
    assert_same(expected(*TYPED[path]), got)


@pytest.mark.parametrize(
    "cell",
    [True, dt.date(2021, 5, 6), 0.1 + 0.2, 12345678901234567890.0, -0.0, 1234567.5, 42],
    ids=["bool", "date", "float", "bigfloat", "minus-zero", "fraction", "int"],
)
def test_a_mixed_text_column_stays_columnar(tmp_path, cell):
    rows = [[f"n{i}", f"98765{i:05d}", "", f"note {i}", 1.0, None, None, None, None]
            for i in range(20)]
    rows[15][3] = cell  # Note: text, then one cell of another type
    _ref, got = routes(book(tmp_path, HEADERS, rows, MAPPING))
    assert got is not None  # mixed columns stay columnar
    rows[15][3] = "text again"
    rows[12][1] = cell if cell != 42 else dt.datetime(2020, 1, 1)  # a mixed phone column
    _ref, got = routes(book(tmp_path, HEADERS, rows, MAPPING, name="c.xlsx"))
    assert got is not None  # mixed columns stay columnar


def test_a_mixed_number_column_stays_columnar(tmp_path):
    rows = [[f"n{i}", 9876500000 + i, "", "", float(i), None, None, None, None]
            for i in range(20)]
    rows[10][4] = "12"
    _ref, got = routes(book(tmp_path, HEADERS, rows, MAPPING))
    assert got is not None  # mixed columns stay columnar


def test_a_mixed_unmapped_column_does_not_matter(tmp_path):
    rows = [[f"n{i}", 9876500000 + i, "", "", float(i), None, None, None, i]
            for i in range(20)]
    rows[10][8] = "text"
    rows[11][8] = True
    ref, got = routes(book(tmp_path, HEADERS, rows, MAPPING))
    assert_same(ref, got)


def test_half_seconds_times_and_durations_give_the_typed_values(tmp_path):
    rows = [[f"n{i}", 9876500000 + i, "", "", 1.0, dt.datetime(2020, 1, 2, 3, 4, 5),
             None, None, None] for i in range(5)]
    rows[2][5] = dt.datetime(2020, 1, 2, 3, 4, 5, 500000)
    routes(book(tmp_path, HEADERS, rows, MAPPING))
    rows[2][5] = dt.datetime(2020, 1, 2, 3, 4, 5)
    rows[3][6] = dt.time(6, 30)
    routes(book(tmp_path, HEADERS, rows, MAPPING, name="t.xlsx"))
    rows[3][6] = dt.timedelta(hours=30)
    routes(book(tmp_path, HEADERS, rows, MAPPING, name="d.xlsx"))


def test_dates_at_midnight_in_a_datetime_column_and_the_reverse(tmp_path):
    rows = [[f"n{i}", 9876500000 + i, "", "", 1.0, dt.datetime(2020, 1, 2 + i),
             dt.date(2020, 3, 1 + i), None, None] for i in range(5)]
    ref, got = routes(book(tmp_path, HEADERS, rows, MAPPING))
    assert_same(ref, got)
    assert ref.columns[5][0].as_py() == "2020-01-02 00:00:00"


@pytest.mark.parametrize("headers", [
    ["Name", "Mobile", "Name", "Note"],  # a duplicate header (not mapped)
    ["Name", "Mobile", "Name_1", "Note", "Name_1"],  # ... and one fastexcel would invent
    ["Name", "Mobile", None, "Note"],  # an empty header cell
    ["Name", "Mobile", "  ", "Note"],  # a blank one
    ["Name", "Mobile", 2020, "Note"],  # a number
    ["Name", "Mobile", "#N/A", "Note"],  # an error
])
def test_unusual_headers_fall_back(tmp_path, headers):
    rows = [["a", 9876543210, "x", "y"], ["b", 9876543211, "x", "z"]]
    _ref, got = routes(book(tmp_path, headers, rows, {"phone1": "Mobile", "city": "Note"}))
    assert got is None


def test_headers_with_spaces_are_kept(tmp_path):
    headers = [" Name ", "Mobile", "Note  x"]
    rows = [["a", 9876543210, "x"], ["b", 9876543211, "y"]]
    ref, got = routes(book(tmp_path, headers, rows, {"name": "Name", "phone1": "Mobile",
                                                      "note": "Note  x"}))
    assert_same(ref, got)


def test_data_not_starting_at_a1_falls_back(tmp_path):
    path = tmp_path / "b.xlsx"
    mapping = [["Ameyo field", "Sheet column"], ["name", "Name"], ["phone1", "Mobile"]]
    write_book(path, {"Leads": [[None, None], [None, "Name", "Mobile"],
                                [None, "a", 9876543210]],
                      "Mapping": mapping})
    book_ = XlsxBook(path)
    assert book_.sheet_columns("Leads").route != "arrow"
    path = tmp_path / "c.xlsx"
    write_book(path, {"Leads": [[None, "Name", "Mobile"], [None, "a", 9876543210]],
                      "Mapping": mapping})
    assert XlsxBook(path).sheet_columns("Leads").route != "arrow"


def test_phone_junk_is_what_spec_drops():
    """The RE2 class of the phone rule matches exactly the code points (and runs of them)
    SPEC's rule drops: spaces of every script, dashes (and the Unicode ones, the minus
    sign), dots and parentheses."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def dropped(c: str) -> bool:
        return c.isspace() or c in "-.()\u2010\u2011\u2012\u2013\u2014\u2015\u2212"

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    python = [dropped(c) for c in chars]
    arrow = pc.match_substring_regex(pa.array([c + c for c in chars]),
                                     "^" + PHONE_JUNK + "$").to_pylist()
    assert sum(python) > 30  # the class is not empty
    assert arrow == python


def test_phone_columns_of_dates_booleans_and_junk(tmp_path):
    rows = [[f"n{i}", f"+91\u2010{9876500000 + i}", None, True, "c"] for i in range(12)]
    rows[8][2] = dt.date(2021, 1, 1)  # phone2: a column of dates (and empty cells)
    rows[9][2] = dt.date(2021, 1, 2)
    rows[1][1] = "\u2212 98765\u00a043210 "  # a minus sign and a no-break space: dropped
    rows[2][1] = "\u0669876543210"  # an Arabic-Indic digit: not a phone
    rows[3][1] = "++919876543210"  # a second +: not a phone
    rows[4][1] = "  \u3000 "  # blank text in a row that is not empty: phone1 is empty
    rows[5][1] = "(+91) 98765-00000"  # the same number as row 2's: a duplicate
    rows[6][1] = "098765 00006"  # a leading zero makes it another number than row 7's
    mapping = {"name": "Name", "phone1": "Mobile", "phone2": "Day", "flag": "Flag",
               "city": "City"}
    path = book(tmp_path, ["Name", "Mobile", "Day", "Flag", "City"], rows, mapping)
    ref, got = routes(path)
    assert_same(ref, got)
    reasons = {r.row: r.reason for r in got.invalid}
    assert reasons[5] == "phone1: not a phone number: '++919876543210'"
    assert reasons[6] == "phone1 is empty"
    assert reasons[7] == "duplicate of row 2"
    assert reasons[10] == "phone2: not a phone number: 2021-01-01 (a date)"
    assert len(got.row_numbers) == 12 - len(reasons)


# --- random pure columns -------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                max_size=12).filter(
    lambda s: not s.startswith(("#", "=")) and not ILLEGAL_CHARACTERS_RE.search(s)
    and "_x" not in s)  # openpyxl writes _xHHHH_ as it is: readers decode it
_phone_text = st.one_of(
    st.from_regex(r"\A\+?[0-9 ()\-.]{5,20}\Z"), _text,
    # what normalise_phone drops (unicode dashes and spaces, one leading +) and what it
    # does not (other scripts' digits, a second +, letters)
    st.from_regex("\\A[+]{0,2}[0-9\u0660-\u0663\u2010-\u2015\u2212\u00a0\u3000\u2028"
                  " \t().x-]{5,18}\\Z"),
    st.sampled_from([" 98765 43210 ", "+91 98765 43210", "9876543210", "98765\u00a043210",
                     "0123456", "123456", "+", "++919876543210", "\u3000", "-.-"]))
_float = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-(10**17), 10**17).map(float),
    st.sampled_from([0.0, -0.0, 1e15, 1e16, 2.5e16, 1e-4, 9.999e-5, 1234567.5, 9876543210.0]))
_phone_float = st.one_of(st.integers(10**5, 10**16).map(float), _float)
_datetime = st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 30)).map(
    lambda d: d.replace(microsecond=0))
_date = st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 30))

_KINDS = {"text": _text, "float": _float, "datetime": _datetime, "date": _date,
          "bool": st.booleans()}


_PHONES = {"text": _phone_text, "float": _phone_float, **_KINDS}


@st.composite
def sheets(draw):
    # phone1 and, sometimes, phone2: mostly text or numbers, sometimes a column of values
    # that are never phones (dates, booleans)
    phone_kinds = draw(st.lists(
        st.sampled_from(["text", "float", "text", "float", "date", "datetime", "bool"]),
        min_size=1, max_size=2))
    other_kinds = draw(st.lists(st.sampled_from(sorted(_KINDS)), min_size=1, max_size=4))
    n = draw(st.integers(1, 25))
    cols = [draw(st.lists(st.one_of(st.none(), _PHONES[kind]), min_size=n, max_size=n))
            for kind in phone_kinds]
    for kind in other_kinds:
        cols.append(draw(st.lists(st.one_of(st.none(), _KINDS[kind]), min_size=n,
                                  max_size=n)))
    # a few repeated phones (duplicates) and error cells
    if n > 2 and draw(st.booleans()):
        cols[0][-1] = cols[0][0]
    if n > 3 and draw(st.booleans()):
        cols[0][1] = cols[0][2] = cols[0][-2]
    if draw(st.booleans()):
        col = draw(st.integers(0, len(cols) - 1))
        cols[col][draw(st.integers(0, n - 1))] = draw(st.sampled_from(["#N/A", "#REF!"]))
    rows = [list(r) for r in zip(*cols, strict=True)]
    phones = ["Phone", "Other phone"][: len(phone_kinds)]
    headers = phones + [f"C{k}" for k in range(len(other_kinds))]
    mapping = {"phone1": "Phone", **{f"f{k}": f"C{k}" for k in range(len(other_kinds))}}
    if len(phones) > 1:
        mapping["phone2"] = "Other phone"
    return headers, rows, mapping


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(sheet=sheets())
def test_random_pure_sheets_give_the_same_results(tmp_path_factory, sheet):
    headers, rows, mapping = sheet
    path = tmp_path_factory.mktemp("arrow") / "r.xlsx"
    ref, got = routes(typed_book(path, headers, rows, mapping))
    event("the Arrow route" if got is not None else "fell back")
    if got is not None:
        assert_same(ref, got)


_ANY = st.one_of(st.none(), _text, _float, _datetime, _date, st.booleans(),
                 st.sampled_from(["#N/A", "12", " 98765 43210", True, 1234567.5, 9876543210.0,
                                  dt.datetime(2020, 1, 1, 0, 0, 0, 500000),
                                  dt.time(6, 30), dt.timedelta(hours=30),
                                  dt.datetime(2020, 1, 1, 23, 59, 59, 999999)]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_ANY, min_size=3, max_size=3), min_size=1, max_size=12))
def test_random_mixed_sheets_fall_back_or_give_the_same_results(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("arrow") / "m.xlsx"
    mapping = {"phone1": "P", "a": "A", "b": "B"}
    ref, got = routes(typed_book(path, ["P", "A", "B"], rows, mapping))
    event("the Arrow route" if got is not None else "fell back")
    if got is not None:
        assert_same(ref, got)


@pytest.mark.parametrize("serial", [43831.99999999, 43831.9999999999, 43831.5, 43832.0000001,
                                    43831.999994213])
@pytest.mark.parametrize("number_format", ["yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss", "dd/mm/yy"])
def test_date_serials_near_midnight(tmp_path, serial, number_format):
    import openpyxl

    path = book(tmp_path, ["Name", "Mobile", "Day"],
                [[f"n{i}", 9876500000 + i, dt.date(2020, 1, 1)] for i in range(3)],
                {"name": "Name", "phone1": "Mobile", "day": "Day"})
    wb = openpyxl.load_workbook(path)
    cell = wb["Leads"]["C3"]
    number = wb["Leads"]["C2"].number_format
    cell.value = serial
    cell.number_format = number_format
    wb["Leads"]["C2"].number_format = number_format if number_format != "dd/mm/yy" else number
    wb.save(path)
    del TYPED[path]
    ref, _got = routes(path)
    # Excel shows the serial rounded to the second, then its day (and its time)
    second = math.floor(serial * 86400 + 0.5)
    moment = dt.datetime(1899, 12, 30) + dt.timedelta(seconds=second)
    shown = str(moment) if "h" in number_format else str(moment.date())
    assert ref.columns[2].to_pylist()[1] == shown


def test_fastexcel_opens_the_file_once_meanwhile_and_lets_it_go(tmp_path, monkeypatch):
    """reading() starts fastexcel's open in a thread (it parses the shared strings without
    the GIL while Settings and Mapping are read); sheet_columns takes that reader, and the end
    of the block waits for the thread and drops it (no handle stays open for the Log)."""
    import threading

    import fastexcel

    opened = []
    real = fastexcel.read_excel

    def counting(path, *args, **kwargs):
        opened.append(threading.current_thread().name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(fastexcel, "read_excel", counting)
    path = book(tmp_path, HEADERS, pure_rows(), MAPPING)
    source = XlsxBook(path)
    with source.reading():
        settings = pipeline.read_settings(source)
        plan = pipeline.plan_upload(source, settings=settings)
    assert opened == ["xl-ameyo-prefetch"]
    assert plan.checked.rows_read == len(pure_rows()) - 2  # two empty rows
    assert source._prefetch is None

    # a block that never reaches the data sheet (a Settings error, say) still lets it go
    opened.clear()
    with source.reading():
        source.read_sheet("Settings")
        worker = source._prefetch[0]
    assert source._prefetch is None and not worker.is_alive()
    assert opened == ["xl-ameyo-prefetch"]


# --- giving up early: a mapped column that mixes cell types near the top ----------------------


def _load_sheet_calls(monkeypatch) -> list:
    import fastexcel

    calls = []
    real = fastexcel.ExcelReader.load_sheet

    def counting(self, *args, **kwargs):
        calls.append(args[:1])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(fastexcel.ExcelReader, "load_sheet", counting)
    return calls


def test_an_unmapped_mixed_column_does_not_stop_the_arrow_route(tmp_path, monkeypatch):
    rows = [[f"n{i}", 9876500000 + i, "", "", float(i), None, None, None, i]
            for i in range(40)]
    rows[3][8] = "text"  # Unmapped: numbers and a text
    path = book(tmp_path, HEADERS, rows, MAPPING)
    calls = _load_sheet_calls(monkeypatch)
    assert_same(expected(*TYPED[path]), plan(path).checked)
    assert len(calls) == 1  # fastexcel read it: the Arrow route


def test_one_core_machines_get_the_same_results(tmp_path, monkeypatch):
    """With one thread for the checks and one for the CSV (a one-core machine) nothing waits
    on work queued behind it, and the results are the same."""
    from xl_ameyo import csv_export

    monkeypatch.setattr(csv_export, "JOIN_THREADS", 1)
    monkeypatch.setattr(csv_export, "ARROW_CHUNK_ROWS", 3)
    ref, got = routes(book(tmp_path, HEADERS, pure_rows(), MAPPING))
    assert_same(ref, got)


# --- the CLI opens the workbook before its lock and ledger ----------------------------------


def test_the_cli_reads_the_workbook_it_opened_early_only_if_it_is_unchanged(
        sim, tmp_path, monkeypatch):
    """``upload`` starts fastexcel's open as soon as the lock is held (the imports run
    meanwhile); when the file is replaced after (the ledger's Log rows, Excel saving it),
    what is sent comes from the file as it is then, not from the early open."""
    import threading

    import fastexcel

    from tests.books import only_request, upload
    from xl_ameyo import cli

    opened: list[str] = []
    real = fastexcel.read_excel

    def counting(path, *args, **kwargs):
        opened.append(threading.current_thread().name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(fastexcel, "read_excel", counting)
    path = lead_book(tmp_path / "leads.xlsx", sim.url, rows=[["Asha", "9876543210", "Pune"]])
    assert upload(path).exit_code == 0
    assert only_request(sim)["csv"].splitlines()[1] == "Asha,9876543210,Pune"
    assert opened == ["xl-ameyo-prefetch"]  # one open, the early one, taken by the read

    sim.reset()
    opened.clear()
    hold = cli._hold_book

    def replaced_meanwhile(book, *args, **kwargs):
        # the same book written again with other leads while the lock was being taken
        lead_book(tmp_path / "new.xlsx", sim.url, rows=[["Ravi", "9123456780", "Goa"]])
        (tmp_path / "new.xlsx").replace(book)
        return hold(book, *args, **kwargs)

    monkeypatch.setattr(cli, "_hold_book", replaced_meanwhile)
    result = upload(path, "--allow-reupload")
    assert result.exit_code == 0, result.output
    assert only_request(sim)["csv"].splitlines()[1] == "Ravi,9123456780,Goa"
    assert opened == ["xl-ameyo-prefetch", "xl-ameyo-prefetch"]  # opened again


def test_the_early_open_lets_go_before_the_ledgers_log_rows_are_written(
        sim, tmp_path, monkeypatch):
    """An earlier run's Log row kept in the ledger is written before anything else, which
    replaces the file: the early open lets go of it first (on Windows an open handle would
    stop the replace), and the run then reads the file as it is after."""
    import openpyxl

    from tests.books import log_dicts, upload
    from xl_ameyo import cli
    from xl_ameyo.errors import WorkbookFileError
    from xl_ameyo.xlsx import logbook

    path = lead_book(tmp_path / "leads.xlsx", sim.url)
    real = logbook.append_log_row

    def refused(*args, **kwargs):
        raise WorkbookFileError("The workbook is open in Excel")

    monkeypatch.setattr(logbook, "append_log_row", refused)
    first = upload(path)
    assert first.exit_code == 0 and "could not be written" in first.output
    assert "Log" not in openpyxl.load_workbook(path).sheetnames

    events: list[str] = []

    def writing(*args, **kwargs):
        events.append("write")
        return real(*args, **kwargs)

    close = cli._Early.close

    def closing(self):
        if self.source is not None:
            events.append("close")
        close(self)

    monkeypatch.setattr(logbook, "append_log_row", writing)
    monkeypatch.setattr(cli._Early, "close", closing)
    second = upload(path)
    assert second.exit_code == 2  # the same rows again: the re-upload guard
    assert "of an earlier run written from the upload ledger (OK)" in second.output
    assert events[:2] == ["close", "write"]
    ok, again = log_dicts(path)
    assert ok["status"] == "OK" and again["status"] == "FAILED"
    assert len(sim.upload_requests()) == 1
