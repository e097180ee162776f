"""A measured prototype (not the product): the upload's read, checks and CSV on an Arrow route.

    .venv/bin/python benchmarks/proto_arrow_route.py [BOOK] [--traps] [--no-reference]

fastexcel reads the data sheet into typed Arrow columns (Rust; no Python object per cell;
``schema_sample_rows=None`` so a column's type is guessed from all of its cells), while the
product's own XML scan (error cells, date kinds) runs in a thread. SPEC §3 formatting and the
checks are pyarrow.compute passes per column; the few cells that need it (floats whose Arrow
text has an exponent or is ``-0``, the reasons of invalid rows) go through Python. The CSV is
made in Arrow too (quoting, joining fields and rows) and written from the joined array's value
buffer. The result is compared byte for byte with the current pipeline's CSV (``stream_columns``
-> ``check_blocks`` -> ``write_csv``) for the same book, and every divergence is listed.

``BOOK`` defaults to the benchmark's big book (``/tmp/xl-ameyo-bench``, generated when
missing). ``--traps`` also builds a small book of the cells this route is expected to get
wrong (mixed columns, booleans, dates in text columns, huge whole numbers ...) and compares it
the same way. Nothing in xl_ameyo/ is changed; private helpers of the reader are used
read-only.

Measured (2 cores, 1,048,575 x 10 benchmark book): byte-identical CSV (1,048,545 rows, the same
30 invalid rows); prototype process start to exit 6.05-6.22 s, peak 0.98 GB (floor 4.6 s,
0.98 GB): fastexcel read 3.6-3.9 s (the XML scan fully hidden in a thread), phones 0.35-0.5 s,
format + select 0.7-1.1 s, CSV join + write + SHA-256 0.75-1.05 s. The traps book shows what
is lost in a column fastexcel reads as text (mixed cells): see WHY below.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import fastexcel
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bigbook  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from xl_ameyo.checks import check_blocks  # noqa: E402
from xl_ameyo.csv_export import csv_fields, write_csv  # noqa: E402
from xl_ameyo.gcpause import gc_paused  # noqa: E402
from xl_ameyo.mapping import resolve_mapping  # noqa: E402
from xl_ameyo.values import _format_float, normalise_phone  # noqa: E402
from xl_ameyo.xlsx.reader import XlsxBook  # noqa: E402

SHEET = "Leads"
MAPPING_SHEET = "Mapping"
#: what ``str.strip()`` and Python's ``\s`` take for whitespace (RE2's ``\s`` is ASCII only and
#: Arrow's utf8_trim_whitespace follows Unicode White_Space: both differ, e.g. U+001C..U+001F)
SPACES = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_SPACE_CLASS = "".join(f"\\x{{{ord(c):x}}}" for c in SPACES)
#: what a phone number loses besides one leading "+" (values._PHONE_JUNK, in RE2 syntax)
PHONE_JUNK = "[" + _SPACE_CLASS + r"\-\x{2010}-\x{2015}\x{2212}.()]+"


def strip(arr):
    """``str.strip()`` per value."""
    return pc.utf8_trim(arr, characters=SPACES)


class Timer:
    def __init__(self) -> None:
        self.stages: list[tuple[str, float]] = []
        self._t = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.stages.append((name, now - self._t))
        self._t = now


# --- read ---------------------------------------------------------------------------------


def read(book: Path, timer: Timer):
    """(record batch of the data sheet, Mapping rows, error cells, date-kind cells)."""
    xbook = XlsxBook(book)  # the package listing and the styles' date kinds (small)
    member = xbook._package.find_sheet(SHEET).member
    scans: dict = {}

    def scan() -> None:
        scans["result"] = xbook._scan_xml(member)  # the product's streamed XML scan

    worker = threading.Thread(target=scan)
    worker.start()
    reader = fastexcel.read_excel(str(book))  # shared strings parsed here, once
    batch = reader.load_sheet(SHEET, eager=True, schema_sample_rows=None)
    mapping = reader.load_sheet(MAPPING_SHEET, eager=True, header_row=None, dtypes="string")
    timer.mark("read: fastexcel (sheet + Mapping)")
    worker.join()
    timer.mark("read: XML scan left after fastexcel")
    errors, dates = scans["result"]
    mapping_rows = [list(r) for r in zip(*(c.to_pylist() for c in mapping.columns), strict=True)]
    return batch, mapping_rows, errors, dates


# --- formatting -------------------------------------------------------------------------------


def blank_text(arr: pa.Array) -> pa.Array:
    return pc.fill_null(arr, "")


def fmt_text(arr: pa.Array) -> pa.Array:
    return blank_text(strip(arr))


def fmt_float(arr: pa.Array) -> tuple[pa.Array, int]:
    """Whole numbers below 1e16 as int64 digits; others Arrow's shortest text, the ones
    with an exponent (or ``-0``) redone by the product's formatter. (text, cells redone)."""
    filled = pc.fill_null(arr, 0.0)
    whole = pc.and_(pc.equal(pc.floor(filled), filled), pc.less(pc.abs(filled), 1e16))
    ints = pc.cast(pc.cast(pc.if_else(whole, filled, 0.0), pa.int64()), pa.string())
    text = pc.if_else(whole, ints, pc.cast(filled, pa.string()))
    odd = pc.or_(pc.match_substring(text, "e"), pc.equal(text, "-0"))
    redo = pc.indices_nonzero(odd).to_numpy()
    if len(redo):
        values = text.to_pylist()
        src = filled.to_pylist()
        for i in redo:
            values[i] = _format_float(src[i])
        text = pa.array(values, pa.string())
    text = pc.if_else(pc.is_null(arr), "", text)
    return text, len(redo)


def datetime_kinds(arr: pa.Array, col: int, dates: list, first_row: int) -> np.ndarray:
    """Per cell: True where the cell is written as a date (python-calamine's guess from the
    value, then the XML scan's corrections, exactly as the reader does)."""
    ms = pc.cast(pc.fill_null(arr, pa.scalar(0, arr.type)), pa.int64()).to_numpy()
    is_date = (ms % 86_400_000) == 0
    for r, c, kind in dates:
        if c == col and r >= first_row:
            i = r - first_row
            if i < len(is_date):
                is_date[i] = kind == "date"
    return is_date


def fmt_timestamp(arr: pa.Array, is_date: np.ndarray) -> pa.Array:
    """Dates ``YYYY-MM-DD`` (the value truncated, as ``datetime.date()``), date-times
    ``YYYY-MM-DD HH:MM:SS`` rounded half up to the second."""
    unit = arr.type.unit
    half = {"s": 0, "ms": 500, "us": 500_000, "ns": 500_000_000}[unit]
    raw = pc.cast(arr, pa.int64())
    rounded = pc.cast(pc.add(raw, half), pa.timestamp(unit))
    rounded = pc.cast(pc.floor_temporal(rounded, unit="second"), pa.timestamp("s"))
    # Arrow's casts to text are ISO (``2020-01-02 03:04:05``, ``2020-01-02``) and about 20x
    # faster than pc.strftime
    stamp = pc.cast(rounded, pa.string())
    if is_date.any():
        day = pc.cast(pc.cast(pc.floor_temporal(arr, unit="day"), pa.timestamp("s")),
                      pa.date32())
        text = pc.if_else(pa.array(is_date), pc.cast(day, pa.string()), stamp)
    else:
        text = stamp
    return blank_text(text)


def fmt_column(arr: pa.Array, col: int, dates: list, first_row: int, notes: dict):
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return fmt_text(arr), False
    if pa.types.is_floating(t):
        text, redone = fmt_float(arr)
        notes["floats redone in Python"] = notes.get("floats redone in Python", 0) + redone
        return text, True
    if pa.types.is_boolean(t):
        return blank_text(pc.if_else(arr, "TRUE", "FALSE")), True
    if pa.types.is_timestamp(t):
        return fmt_timestamp(arr, datetime_kinds(arr, col, dates, first_row)), True
    if pa.types.is_date(t):
        return blank_text(pc.cast(pc.cast(arr, pa.date32()), pa.string())), True
    # durations, times: not in the benchmark; a product would need them (see the notes)
    return blank_text(pc.cast(arr, pa.string())), True


# --- phones -------------------------------------------------------------------------------


def phones(arr: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(digits or null, empty mask, invalid mask) for a phone column."""
    t = arr.type
    if pa.types.is_floating(t):
        x = pc.fill_null(arr, 1e6)
        ok = pc.and_(pc.and_(pc.equal(pc.floor(x), x), pc.greater_equal(x, 1e6)),
                     pc.less(x, 1e15))
        digits = pc.cast(pc.cast(pc.if_else(ok, x, 1e6), pa.int64()), pa.string())
        empty = pc.is_null(arr)
        invalid = pc.and_(pc.invert(ok), pc.invert(empty))
        return pc.if_else(ok, digits, pa.scalar(None, pa.string())), empty, pc.fill_null(
            invalid, False)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = pc.fill_null(strip(arr), "")
        empty = pc.equal(text, "")
        cleaned = pc.replace_substring_regex(text, PHONE_JUNK, "")
        plus = pc.starts_with(cleaned, "+")
        cleaned = pc.if_else(plus, pc.utf8_slice_codeunits(cleaned, 1), cleaned)
        ok = pc.match_substring_regex(cleaned, r"^[0-9]{7,15}$")
        invalid = pc.and_(pc.invert(ok), pc.invert(empty))
        return pc.if_else(ok, cleaned, pa.scalar(None, pa.string())), empty, invalid
    # booleans, dates, ...: never a phone number
    empty = pc.is_null(arr)
    return pa.nulls(len(arr), pa.string()), empty, pc.invert(empty)


def blank_cells(arr: pa.Array) -> pa.Array:
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pc.fill_null(pc.equal(strip(arr), ""), True)
    return pc.is_null(arr)


def first_occurrence(digits: pa.Array, consider: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(duplicate mask, index of the first occurrence) among rows ``consider``: key = length
    and value of the digit string (at most 15 digits: fits an int64 with the length)."""
    n = len(digits)
    filled = pc.fill_null(digits, "0")
    keys = (pc.cast(filled, pa.int64()).to_numpy()
            + pc.utf8_length(filled).to_numpy().astype(np.int64) * 10**15)
    where = np.flatnonzero(consider)
    sub = keys[where]
    _, first_pos, inverse = np.unique(sub, return_index=True, return_inverse=True)
    dup = np.zeros(n, bool)
    first = np.full(n, -1, np.int64)
    firsts = where[first_pos[inverse]]
    is_dup = firsts != where
    dup[where[is_dup]] = True
    first[where[is_dup]] = firsts[is_dup]
    return dup, first


# --- the route ----------------------------------------------------------------------------


def arrow_route(book: Path, out: Path, timer: Timer) -> dict:
    batch, mapping_rows, errors, dates = read(book, timer)
    headers = list(batch.schema.names)
    mapping = resolve_mapping(mapping_rows, headers, mapping_sheet=MAPPING_SHEET,
                              data_sheet=SHEET)
    n = batch.num_rows
    first_row = 1  # sheet row (0-based) of the batch's first row
    cols = mapping.columns
    p1 = cols.index(mapping.phone1)
    phone_js = [j for j, c in enumerate(cols) if c.phone_field is not None]
    timer.mark("mapping resolved")

    # rule 1: error cells in mapped columns (the XML scan; fastexcel made them null)
    mapped_index = {c.index: j for j, c in enumerate(cols)}
    error_rows: dict[int, int] = {}
    error_any = np.zeros(n, bool)
    for r, c, _code in errors:
        i = r - first_row
        if 0 <= i < n:
            error_any[i] = True
            if c in mapped_index:
                error_rows[i] = min(error_rows.get(i, c), c)
    # phones
    digits = {}
    invalid = np.zeros(n, bool)
    for j in phone_js:
        d, empty, bad = phones(batch.column(cols[j].index))
        digits[j] = d
        bad = bad.to_numpy(zero_copy_only=False)
        if j == p1:
            p1_empty = empty.to_numpy(zero_copy_only=False)
        invalid |= bad
    timer.mark("checks: phones")
    # fully empty rows: phone1 empty and every column blank (and no error cell)
    empty_rows = p1_empty & ~error_any
    if empty_rows.any():
        idx = np.flatnonzero(empty_rows)
        for k in range(batch.num_columns):
            blank = blank_cells(batch.column(k)).to_numpy(zero_copy_only=False)[idx]
            idx = idx[blank]
        empty_rows = np.zeros(n, bool)
        empty_rows[idx] = True
    invalid |= p1_empty & ~empty_rows
    for i in error_rows:
        invalid[i] = True
    dup, _first = first_occurrence(digits[p1], ~invalid & ~empty_rows)
    invalid |= dup
    keep = ~invalid & ~empty_rows
    timer.mark("checks: errors, empty rows, duplicates")

    notes: dict = {}
    mask = pa.array(keep)
    fields = []
    for j, c in enumerate(cols):
        if j in digits:
            text = pc.fill_null(digits[j], "")
            plain = True
        else:
            text, plain = fmt_column(batch.column(c.index), c.index, dates, first_row, notes)
        text = pc.filter(text, mask)
        if not plain:  # RFC 4180: quote a field holding a comma, a quote, CR or LF
            needs = pc.match_substring_regex(text, r'[,"\r\n]')
            if pc.any(needs).as_py():
                quoted = pc.binary_join_element_wise(
                    '"', pc.replace_substring(text, '"', '""'), '"', "")
                text = pc.if_else(needs, quoted, text)
        fields.append(text)
    timer.mark("format (SPEC §3) + select valid rows")

    lines = pc.binary_join_element_wise(*fields, ",")
    lines = pc.binary_join_element_wise(lines, "", "\r\n")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    body = b""
    if len(lines):
        offsets = np.frombuffer(lines.buffers()[1], np.int32)[lines.offset:]
        body = lines.buffers()[2][int(offsets[0]):int(offsets[len(lines)])]
    head = (",".join(csv_fields([c.header for c in cols])) + "\r\n").encode()
    digest = hashlib.sha256(head)
    digest.update(body)
    with open(out, "wb") as f:
        f.write(head)
        f.write(body)
    timer.mark("CSV: join + write + SHA-256")

    # reasons for the invalid rows (few): by the product's per-cell functions, in Python
    n_invalid = int(invalid.sum())
    bad_rows = np.flatnonzero(invalid)
    raw_p1 = batch.column(cols[p1].index)
    reasons = {int(i) + 2: normalise_phone(raw_p1[int(i)].as_py())[1] for i in bad_rows[:1000]}
    timer.mark("reasons of invalid rows (Python)")
    return {"rows": n, "sent": int(keep.sum()), "invalid": n_invalid,
            "empty": int(empty_rows.sum()), "sha256": digest.hexdigest(),
            "invalid_rows": {int(i) + 2 for i in bad_rows}, "notes": notes,
            "reasons": reasons}


def reference(book: Path, out: Path) -> dict:
    """The current pipeline: the reader's stream, the checks, the CSV writer."""
    started = time.perf_counter()
    source = XlsxBook(book)
    with gc_paused(), source.reading():
        mapping_rows = source.read_sheet(MAPPING_SHEET)
        stream = source.stream_columns(SHEET)
        mapping = resolve_mapping(mapping_rows, stream.header, mapping_sheet=MAPPING_SHEET,
                                  data_sheet=SHEET)
        checked = check_blocks(stream.blocks, mapping, first_row=2)
        with open(out, "wb") as f:
            info = write_csv(checked, f)
    return {"time": time.perf_counter() - started, "sha256": info.sha256,
            "sent": info.rows, "invalid_rows": {r.row for r in checked.invalid},
            "rows_read": checked.rows_read}


def floor(book: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "floor.py"), str(book), str(out)],
                   check=True, capture_output=True)
    return time.perf_counter() - started


# --- comparing ----------------------------------------------------------------------------


def divergences(ref_csv: Path, ours_csv: Path, limit: int = 3) -> list[dict]:
    """Every (column, kind) of differing field, with examples. Rows are matched by the first
    column whose values are all distinct in the reference (else by position); rows sent by
    one side only are listed too."""
    with open(ref_csv, encoding="utf-8", newline="") as f:
        ref = list(csv.reader(f))
    with open(ours_csv, encoding="utf-8", newline="") as f:
        ours = list(csv.reader(f))
    header, ref, ours = ref[0], ref[1:], ours[1:]
    found: dict[tuple, dict] = {}

    def note(column: str, kind: str, example: str) -> None:
        entry = found.setdefault((column, kind), {"count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < limit:
            entry["examples"].append(example)

    key = next((k for k in range(len(header)) if len({r[k] for r in ref}) == len(ref)), None)
    if key is None:
        pairs = list(zip(ref, ours, strict=False))
    else:
        mine = {r[key]: r for r in ours}
        pairs = [(r, mine.pop(r[key])) for r in ref if r[key] in mine]
        for r in ref:
            if r[key] not in {a[key] for a, _ in pairs}:
                note("(row)", "sent by the reference only", ",".join(r)[:60])
        for r in mine.values():
            note("(row)", "sent by the prototype only", ",".join(r)[:60])
    for a, b in pairs:
        if a == b:
            continue
        for k, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                note(header[k], _kind(x, y), f"ref {x!r} / proto {y!r}")
    return [{"column": k[0], "kind": k[1], **v} for k, v in found.items()]


#: why each kind of divergence happens (fastexcel 0.21 in a column it reads as text)
WHY = {
    "boolean": "a boolean cell in a text-typed column comes as Rust's 'true'/'false'; the cell "
               "type is lost, so it cannot be told from the text 'true'",
    "date written as date-time": "a date cell in a text-typed column comes as "
                                 "'YYYY-MM-DD 00:00:00' (date kind lost)",
    "number text": "a number cell in a text-typed column comes as fastexcel's text: whole "
                   "floats >= 2**53 as their exact binary value (SPEC: shortest round-trip "
                   "digits), -0.0 as '-0'",
    "sent by the prototype only": "a fractional number phone (1234567.5) in a column read "
                                  "as text arrives as '1234567.5'; cleaning drops the '.' "
                                  "-> a valid 8-digit phone (SPEC: not a whole number, "
                                  "invalid)",
    "sent by the reference only": "see 'sent by the prototype only'",
    "text": "text formatting differs",
}


def _kind(x: str, y: str) -> str:
    if x.upper() in ("TRUE", "FALSE"):
        return "boolean"
    if len(x) == 10 and x[4:5] == "-" and y.startswith(x):
        return "date written as date-time"
    if x.replace(".", "").replace("-", "").isdigit():
        return "number text"
    return "text"


# --- the traps book ---------------------------------------------------------------------------


TRAPS = [
    # (phone1, note, why) per lead; one cell of a trap kind in each column
    (9000000001, True, "a boolean cell in a text column"),
    ("+91 98765 43210", dt.date(2021, 5, 6), "a date cell in a text column"),
    (9000000003, 0.1 + 0.2, "a number cell in a text column (float text)"),
    (9000000004, 1e-7, "a tiny number in a text column"),
    (9000000005, 12345678901234567890.0, "a whole float above 2**53 in a text column"),
    (1234567.5, "fraction phone", "a fractional number phone: invalid in SPEC"),
    (9000000007, -0.0, "-0.0 in a text column"),
    ("  9000000008\u00a0", "nbsp-trimmed phone text", "text phone with a no-break space"),
    ("9000000009\u2007", "figure space", "U+2007 (Python strips it, RE2 \\s?)"),
    ("98765\u00a043210", "\u3000ideographic spaces\u3000", "inner no-break space in a phone"),
]


def make_traps(path: Path, rows: int = 3000) -> None:
    """Leads (Name, Mobile, Note, Amount, When, Flag) + Mapping; the trap cells late in the
    sheet (after fastexcel's default 1,000 sample rows), typed ones elsewhere."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(["Name", "Mobile", "Note", "Amount", "When", "Flag"])
    for i in range(rows):
        ws.append([f"lead {i}", 8_000_000_000 + i, f"note {i}", i / 8,
                   dt.datetime(2020, 1, 2) + dt.timedelta(hours=i), i % 2 == 0])
    for k, (phone, note, _why) in enumerate(TRAPS):
        r = 2000 + k
        ws.cell(row=r, column=2, value=phone)
        ws.cell(row=r, column=3, value=note)
    ws.cell(row=2100, column=4, value=2.5e16)  # a whole float >= 1e16 in a float column
    ws.cell(row=2101, column=4, value=-0.0)
    ws.cell(row=2102, column=5, value=dt.datetime(2020, 1, 2))  # date-time format, midnight
    ws.cell(row=2102, column=5).number_format = "yyyy-mm-dd hh:mm:ss"
    ws.cell(row=2103, column=5, value=dt.datetime(2020, 1, 2, 12, 0, 0, 500000))
    ws.cell(row=2104, column=3, value="ERROR-CELL")  # made an error cell below
    ws.cell(row=2105, column=1, value="ERROR-CELL")  # an error in a mapped column of a row...
    ws.cell(row=2105, column=2, value=None)  # ...whose phone1 is empty
    m = wb.create_sheet(MAPPING_SHEET)
    m.append(["Ameyo field", "Sheet column"])
    for fld, col in [("name", "Name"), ("phone1", "Mobile"), ("note", "Note"),
                     ("amount", "Amount"), ("when", "When"), ("flag", "Flag")]:
        m.append([fld, col])
    wb.save(path)
    _errors_in(path, "ERROR-CELL", "#DIV/0!")


def _errors_in(path: Path, marker: str, code: str) -> None:
    """Turn the (inline) text cells holding ``marker`` into error cells (openpyxl writes
    formulas without cached values, so it cannot write one)."""
    import re
    import zipfile

    src = path.read_bytes()
    cell = rf'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t>{marker}</t></is></c>'.encode()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(path, "w",
                                                                  zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(cell, rf'<c r="\1" t="e"><v>{code}</v></c>'.encode(), data)
                assert count, "no marker cell found"
            zout.writestr(item, data)


# --- report -------------------------------------------------------------------------------


def run(book: Path, work: Path, *, with_reference: bool, with_floor: bool) -> str:
    out = io.StringIO()
    w = out.write
    w(f"\n## {book.name}\n\n")
    timer = Timer()
    started = time.perf_counter()
    with gc_paused():
        result = arrow_route(book, work / "proto.csv", timer)
    total = time.perf_counter() - started
    w(f"rows {result['rows']:,}, sent {result['sent']:,}, invalid {result['invalid']:,}, "
      f"empty {result['empty']:,}; notes {result['notes']}\n\n")
    w("| stage | s |\n|---|---:|\n")
    for name, seconds in timer.stages:
        w(f"| {name} | {seconds:.2f} |\n")
    w(f"| **prototype total, in process** | **{total:.2f}** |\n")
    if with_floor:
        fl = floor(book, work / "floor.csv")
        w(f"| floor (benchmarks/floor.py, own process, start to exit) | {fl:.2f} |\n")
        w(f"| prototype / floor | {total / fl:.2f}x |\n")
    if with_reference:
        ref = reference(book, work / "ref.csv")
        w(f"| current pipeline: read + check + CSV, in process | {ref['time']:.2f} |\n\n")
        same = ref["sha256"] == result["sha256"]
        w(f"byte-identical CSV: **{same}** (reference {ref['sent']:,} rows, sha256 "
          f"{ref['sha256'][:16]}; prototype {result['sent']:,} rows, {result['sha256'][:16]})\n")
        only_ref = sorted(ref["invalid_rows"] - result["invalid_rows"])
        only_proto = sorted(result["invalid_rows"] - ref["invalid_rows"])
        w(f"invalid rows: reference {len(ref['invalid_rows'])}, prototype "
          f"{len(result['invalid_rows'])}; only in reference {only_ref[:10]}, only in "
          f"prototype {only_proto[:10]}\n\n")
        if not same:
            w("| column | kind | cells | examples | why |\n|---|---|---:|---|---|\n")
            for d in divergences(work / "ref.csv", work / "proto.csv"):
                w(f"| {d['column']} | {d['kind']} | {d['count']} | "
                  f"{'; '.join(d['examples'])} | {WHY.get(d['kind'], '')} |\n")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("book", type=Path, nargs="?")
    parser.add_argument("--work", type=Path, default=Path("/tmp/xl-ameyo-proto-arrow"))
    parser.add_argument("--traps", action="store_true", help="also the small book of traps")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--no-floor", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    book = args.book or bigbook.cached_book(Path("/tmp/xl-ameyo-bench"), bigbook.FULL)
    print(run(book, args.work, with_reference=not args.no_reference,
              with_floor=not args.no_floor), flush=True)
    if args.traps:
        traps = args.work / "traps.xlsx"
        make_traps(traps)
        print(run(traps, args.work, with_reference=True, with_floor=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
