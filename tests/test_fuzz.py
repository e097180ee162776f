"""Property tests (Hypothesis): whatever the cells hold, the core answers with a result or an
:class:`~xl_ameyo.errors.XlAmeyoError` (one line, an exit status), never anything else.

- ``parse_settings``, ``resolve_mapping`` and ``check_rows`` on arbitrary cell values: None,
  text (control characters, any Unicode, lookalikes of valid values), ints, floats (huge,
  tiny, NaN and infinities: Excel has none, but nothing may crash on them), booleans, dates,
  date-times, times, durations and Excel error cells;
- whenever the checks pass, ``write_csv`` writes a CSV that parses back to exactly the
  checked rows;
- ``xl-ameyo upload`` on workbooks with random Settings, Mapping and data cells: exit status
  0, 1 or 2 only, never a traceback. Every name lookup outside loopback is refused by the
  test (so a random base_url can reach nothing but this machine).

Example counts are moderate so the suite stays fast; the Hypothesis database keeps failures.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import socket
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tests.test_failure_matrix import cli_env, free_port, read_log, run_upload
from xl_ameyo.columns import CellError
from xl_ameyo.csv_export import write_csv
from xl_ameyo.errors import XlAmeyoError
from xl_ameyo.mapping import STANDARD_FIELDS, resolve_mapping
from xl_ameyo.rules import check_rows, format_value
from xl_ameyo.settings import KEYS, Settings, parse_settings

ERROR_CODES = ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!")

#: text that looks like something valid, or is an edge of it
LOOKALIKES = [
    "", " ", "\u00a0", "\t\n", "TRUE", "false", "Yes", "no", "0", "1", "17", " 17 ", "17.0",
    "-3", "1e3", "\uff11\uff17", "skip", "BLOCK", "https://ameyo.invalid:8443",
    "http://127.0.0.1:1", "http://example.invalid", "https://u:p@h.invalid", "ftp://x",
    "https://[::1]:1", "https://h.invalid/p?q#f", "=A1", "#N/A", "'0987654321",
    "+91 98765 43210", "(022) 2345-6789", "98765\u201143210", "٩٨٧٦٥٤٣٢١٠",
    "password", "Lead ID", "setting", "Phone 1", "phone1", "PHONE1", "Name",
]

texts = st.text(max_size=24)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 5e-324, 1e15, 1e16, 9876543210.0, 1.5, 1e308]),
)
datetimes = st.one_of(
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.timezone.utc)),
    st.just(dt.datetime.max),
)
cell_errors = st.builds(CellError, st.sampled_from(ERROR_CODES))

#: any value a source may hand the core (docs/design.md "Values between the parts")
cells = st.one_of(
    st.none(),
    texts,
    st.sampled_from(LOOKALIKES),
    st.integers(),
    st.integers(min_value=-(10**20), max_value=10**20),
    floats,
    st.booleans(),
    st.dates(),
    datetimes,
    st.times(),
    st.timedeltas(),
    cell_errors,
)


def _valid_values(base_url: str) -> dict[str, st.SearchStrategy]:
    """Values that pass, per key (several spellings each), so runs get past the Settings."""
    flags = st.sampled_from([True, False, "TRUE", "no", 1, 0.0, " Yes "])
    return {
        "base_url": st.just(base_url),
        "cc_list_id": st.sampled_from([1, 1.0, "1"]),
        "process_id": st.sampled_from([13, 13.0, " 13 "]),
        "lead_id": st.sampled_from([17, 17.0, "17"]),
        "user_id": st.sampled_from(["john", 1001.0]),
        "update_duplicate": flags,
        "churn_updated_records": flags,
        "migrate": flags,
        "username": st.sampled_from([None, "demo", " demo "]),
        "data_sheet": st.sampled_from([None, "Leads", "LEADS"]),
        "origin": st.sampled_from([None, "https://ameyo.example.com", "http://127.0.0.1"]),
        "ca_bundle": st.sampled_from([None, " "]),
        "verify_tls": flags,
        "timeout_s": st.sampled_from([5, "2.5", 30.0, 1e-9, 0.001, 1e300]),
        "on_invalid_rows": st.sampled_from(["skip", "BLOCK", None]),
        "max_rows_per_upload": st.sampled_from([None, 1, 2.0, "1000"]),
        "phone_country": st.sampled_from([None, "IN", " gb "]),
        "phone_format": st.just(None),  # valid only with phone_country
    }


_NO_SERVER = st.just("https://ameyo.invalid:8443")
_NOISE = st.sampled_from([0.0, 0.05, 0.3, 1.0])


@st.composite
def settings_rows(
    draw,
    base_urls: st.SearchStrategy = _NO_SERVER,
    noises: st.SearchStrategy = _NOISE,
    omissions: bool = True,
) -> list:
    """A Settings sheet: a header maybe, every known key (maybe left out, with
    ``omissions``) with a valid value in any spelling, or with the chance ``noise`` a random
    one, in any order, and with noise a random row or two."""
    rows: list[list] = []
    valid = _valid_values(draw(base_urls))
    noise = draw(noises)  # share of random values
    for key in KEYS:
        # (True in the middle: Hypothesis favours the ends of a range)
        if omissions and draw(st.sampled_from([False] * 10 + [True] + [False] * 9)):
            continue  # left out (a required one: an error)
        spelled = draw(st.sampled_from([key, key.upper(), key.replace("_", " "), f" {key}"]))
        random_value = draw(st.floats(0, 1)) < noise
        value = draw(cells if random_value else valid[key])
        rows.append([spelled, value, draw(st.one_of(st.none(), texts))])
    rows = list(draw(st.permutations(rows)))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2])) if noise else 0):
        at = draw(st.integers(0, len(rows)))
        extra = draw(st.lists(cells, max_size=4))
        rows.insert(at, extra)
    if draw(st.booleans()):  # a header row, first
        rows.insert(0, [draw(st.sampled_from(["Setting", "Key", " KEY "])), "Value", "Notes"])
    return rows


def _one_line(error: XlAmeyoError) -> None:
    text = str(error)
    assert text and "\n" not in text and "\r" not in text, repr(text)
    assert isinstance(error.exit_code, int) and error.exit_code in (1, 2)


@settings(max_examples=300, deadline=None)
@given(rows=settings_rows())
def test_parse_settings_never_crashes(rows):
    try:
        s = parse_settings(rows)
    except XlAmeyoError as error:
        _one_line(error)
        event("refused")
        return
    event("parsed")
    assert isinstance(s, Settings)
    assert s.base_url.startswith(("https://", "http://"))
    for value in (s.cc_list_id, s.process_id, s.lead_id):
        assert type(value) is int and value > 0
    assert isinstance(s.user_id, str) and s.user_id
    assert math.isfinite(s.timeout_s) and s.timeout_s > 0
    assert s.on_invalid_rows in ("skip", "block")
    assert all(type(v) is bool for v in (s.update_duplicate, s.churn_updated_records,
                                          s.migrate, s.verify_tls))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(cells, max_size=4), max_size=8))
def test_parse_settings_on_pure_noise(rows):
    try:
        parse_settings(rows)
    except XlAmeyoError as error:
        _one_line(error)


# --- Mapping ---------------------------------------------------------------------------------

header_cells = st.one_of(
    st.sampled_from(["Name", "Mobile", " mobile ", "MOBILE", "Phone", "E-mail", "City", ""]),
    cells,
)
field_cells = st.one_of(
    st.sampled_from([*STANDARD_FIELDS, "Phone1", " phone1 ", "Phone 1", "city", "City"]),
    cells,
)


@st.composite
def mapping_case(draw):
    """(Mapping sheet rows, data headers). Half are clean (distinct text headers, fields
    listed once, mapped to a header or to nothing), half have noise anywhere."""
    if draw(st.booleans()):
        names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
        headers = draw(st.lists(names, min_size=1, max_size=6, unique_by=lambda h: h.strip()
                                .casefold()).filter(lambda hs: all(h.strip() for h in hs)))
        fields = draw(st.lists(
            st.one_of(st.sampled_from(STANDARD_FIELDS), names.map(lambda f: f"x_{f}")),
            unique_by=lambda f: f.strip().casefold(), max_size=6,
        ))
        rows = [["Ameyo field", "Sheet column"], ["phone1", draw(st.sampled_from(headers))]]
        for field in fields:
            if field.strip().casefold() != "phone1":
                rows.append([field, draw(st.one_of(st.none(), st.sampled_from(headers)))])
        rows[1:] = draw(st.permutations(rows[1:]))
        return rows, headers
    headers = draw(st.lists(header_cells, min_size=1, max_size=6))
    column_choices = st.one_of(st.sampled_from(headers), header_cells, st.none())
    rows = [["Ameyo field", "Sheet column"]]
    if draw(st.booleans()):
        rows.append(["phone1", draw(st.sampled_from(headers))])
    for _ in range(draw(st.integers(0, 5))):
        rows.append([draw(field_cells), draw(column_choices)])
    rows[1:] = draw(st.permutations(rows[1:]))
    return rows, headers


def _header_text(value) -> str | None:
    try:
        return format_value(value) or None
    except (ValueError, TypeError):
        return None


@settings(max_examples=300, deadline=None)
@given(case=mapping_case())
def test_resolve_mapping_never_crashes(case):
    rows, headers = case
    try:
        m = resolve_mapping(rows, headers)
    except XlAmeyoError as error:
        _one_line(error)
        event("refused")
        return
    event("resolved")
    assert tuple(m.header_mapping)[:10] == STANDARD_FIELDS
    texts_ = {_header_text(h) for h in headers} - {None}
    assert all(v == "" or v in texts_ for v in m.header_mapping.values())
    indices = [c.index for c in m.columns]
    assert indices == sorted(set(indices))
    assert m.phone1 in m.columns and m.header_mapping["phone1"] == m.phone1.header
    for c in m.columns:
        assert c.header == _header_text(headers[c.index])


# --- rows and the CSV ------------------------------------------------------------------------

HEADERS = ["Name", "Mobile", "Alt", "Joined", "Notes"]
MAPPINGS = [
    {"name": "Name", "phone1": "Mobile"},
    {"name": "Name", "phone1": "Mobile", "phone2": "Alt", "joined_on": "Joined",
     "notes": "Notes"},
    {"phone1": "Mobile", "phone3": "Mobile", "email": "Notes"},  # one column, two fields
]
phone_cells = st.one_of(
    st.integers(min_value=10**6, max_value=10**15 + 5).map(float),
    st.from_regex(r"\A\+?[0-9 ()\-.]{5,20}\Z"),
    cells,
)
data_rows = st.lists(
    st.lists(st.one_of(phone_cells, cells), max_size=7),  # ragged, sometimes too long
    max_size=12,
)


def _parse_csv(data: bytes) -> list[list[str]]:
    assert not data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping=st.sampled_from(MAPPINGS), rows=data_rows, dup=st.booleans())
@example(mapping=MAPPINGS[1], rows=[["A", "9876543210", None, float("nan")]], dup=False)
@example(mapping=MAPPINGS[1], rows=[["A", "9876543210", None, None, float("-inf")]], dup=False)
@example(mapping=MAPPINGS[0], rows=[[float("inf"), 9876543210.0]], dup=False)
def test_check_rows_then_csv_round_trips(mapping, rows, dup):
    if dup and rows:
        rows = [*rows, list(rows[0])]  # a duplicate of the first row
    mapping_rows = [["Ameyo field", "Sheet column"], *([f, c] for f, c in mapping.items())]
    resolved = resolve_mapping(mapping_rows, HEADERS)
    try:
        checked = check_rows(rows, resolved)
    except XlAmeyoError as error:
        _one_line(error)
        return
    event(f"{len(checked.row_numbers) > 0} rows valid")
    # every non-empty row is either sent or reported, once
    assert len(checked.row_numbers) + len(checked.invalid) == checked.rows_read
    assert len({bad.row for bad in checked.invalid}) == len(checked.invalid)
    assert not set(checked.row_numbers) & {bad.row for bad in checked.invalid}
    p1 = checked.header.index(resolved.phone1.header)
    phones = checked.columns[p1].to_pylist()
    assert len(set(phones)) == len(phones)  # no duplicate phone1 is sent
    assert all(p.isascii() and p.isdigit() and 7 <= len(p) <= 15 for p in phones)

    out = io.BytesIO()
    info = write_csv(checked, out)
    assert info.rows == len(checked.row_numbers)
    assert _parse_csv(out.getvalue()) == [checked.header, *map(list, checked.rows())]


# --- the command line on random workbooks ----------------------------------------------------

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@contextmanager
def loopback_only():
    """Refuse every name lookup but loopback's: urllib3 resolves every host (IP literals
    too) through socket.getaddrinfo, so nothing outside this machine can be reached."""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name in _LOOPBACK:
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"blocked by the test: {name!r}")

    with mock.patch("socket.getaddrinfo", guarded):
        yield


def _storable(value):
    """What openpyxl can put in a cell (Excel has no NaN, infinities, time zones; XML has no
    control characters); an error cell as its code (openpyxl writes it as an error)."""
    if isinstance(value, CellError):
        return value.code
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        return value if dt.datetime(1900, 3, 1) <= value < dt.datetime(9999, 12, 31) else None
    if isinstance(value, dt.date):
        return value if value.year >= 1900 else None
    if isinstance(value, dt.timedelta):
        return value if dt.timedelta(0) <= value < dt.timedelta(days=9999) else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**300:
        return None
    return value


def _write_book(path: Path, sheets: dict[str, list[list]]) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append([_storable(v) for v in row])
    wb.save(path)


#: a row of the clean books' Leads sheet (Name, Mobile, City), mostly valid
clean_rows = st.lists(
    st.tuples(
        st.one_of(texts, cells),
        st.one_of(st.integers(9_000_000_000, 9_999_999_999).map(str), phone_cells),
        st.one_of(texts, cells),
    ).map(list),
    min_size=1,
    max_size=4,
)


@st.composite
def random_book(draw, sim_url: str, dead_url: str) -> dict[str, list[list]]:
    """Half the books are clean (valid Settings and Mapping, random leads: the run reaches
    the server), half have noise anywhere."""
    base_urls = st.sampled_from([sim_url, sim_url, dead_url, "https://ameyo.invalid:8443"])
    clean = draw(st.booleans())
    event("clean" if clean else "noisy")
    noises = st.just(0.0) if clean else st.sampled_from([0.02, 0.3, 1.0])
    settings_sheet = draw(settings_rows(base_urls=base_urls, noises=noises, omissions=not clean))
    headers: list = ["Name", "Mobile", "City"]
    mapping_sheet = [["Ameyo field", "Sheet column"], ["name", "Name"], ["phone1", "Mobile"]]
    if clean:
        mapping_sheet.append(["city", draw(st.sampled_from([None, "City", " city "]))])
        data = [headers, *draw(clean_rows)]
    else:
        if draw(st.booleans()):
            mapping_sheet, headers = draw(mapping_case())
        else:
            extra = st.lists(st.one_of(field_cells, cells), min_size=1, max_size=2)
            mapping_sheet += draw(st.lists(extra, max_size=2))
        rows = st.lists(st.one_of(phone_cells, cells), max_size=4)
        data = [headers, *draw(st.lists(rows, max_size=4))]
    return {"Leads": data, "Settings": settings_sheet, "Mapping": mapping_sheet}


@pytest.fixture(scope="module")
def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_cli_upload_on_random_workbooks(data, simulator_server, dead_url, tmp_path_factory):
    sim = simulator_server
    sheets = data.draw(random_book(sim.url, dead_url))
    folder = tmp_path_factory.mktemp("book")
    book = folder / "random.xlsx"
    _write_book(book, sheets)
    args = data.draw(st.sampled_from([(), ("--dry-run",), ("--allow-reupload",)]))
    with loopback_only():
        result = run_upload(book, *args, env=cli_env("demo", "demo-pass"))
    event(f"exit {result.exit_code}")
    event((result.stderr.strip().splitlines() or [""])[-1][:50])  # how deep runs get
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == (1 if result.exit_code else 0), result.stderr
    if result.exit_code == 0:
        assert read_log(book)[-1]["status"] in ("OK", "DRY RUN")


def test_huge_timeout_is_a_settings_error_before_anything_is_sent(sim, tmp_path):
    """Found by the fuzz test: timeout_s = 1e300 passed the Settings check and crashed with
    OverflowError in the socket layer, after the upload had gone out."""
    from tests.test_failure_matrix import make_book, one_line_error

    book = make_book(tmp_path / "leads.xlsx", sim.url, timeout_s=1e300)
    result = run_upload(book, env=cli_env("demo", "demo-pass"))
    assert result.exit_code == 2, (result.output, result.exception)
    message = one_line_error(result)
    assert "timeout_s" in message
    assert sim.upload_requests() == []


def test_nan_and_infinity_in_a_file_skip_the_row_not_crash(sim, tmp_path):
    """Found by the fuzz test: a number cell holding NaN or an infinity (Excel writes none,
    other programs can, and the reader hands them on) crashed check_rows with ValueError, a
    traceback through the CLI. Now the row is invalid and reported; the rest is sent."""
    import zipfile

    from tests.test_failure_matrix import make_book

    book = make_book(tmp_path / "made.xlsx", sim.url)
    # the mapped E-mail column gets numbers; then the file is edited as another tool might
    wb = openpyxl.load_workbook(book)
    for row, value in ((2, 111), (3, 222), (4, 333)):
        wb["Leads"].cell(row=row, column=4, value=value)
    wb.save(book)
    edited = tmp_path / "edited.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(edited, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v>111</v>", b"<v>NaN</v>")
                data = data.replace(b"<v>222</v>", b"<v>1e999</v>")
            dst.writestr(info, data)
    result = run_upload(edited, "--dry-run", "-v", env=cli_env("demo", "demo-pass"))
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert "1 valid, 3 skipped" in result.stdout
    assert "row 2: D2 the number nan in column 'E-mail' is not a value Excel can hold" in (
        result.stdout
    )
    assert "row 3: D3 the number inf in column 'E-mail'" in result.stdout
