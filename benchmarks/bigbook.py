"""A workbook of leads at Excel's full size, written fast (the sheet XML directly, no openpyxl).

    .venv/bin/python benchmarks/bigbook.py OUT.xlsx [--rows 1048575] [--base-url URL]

Sheets, in tab order: ``Leads`` (the data), ``Settings`` and ``Mapping`` (aimed at lead list
1/13/17 at ``--base-url``). ``Leads`` has a header row and ``rows`` data rows x 10 columns,
written the way Excel writes them (a shared-strings part, ``r`` on every row and cell, dates
as serials under a date style):

==========  ==============================================================================
Name        text; every 7th a Unicode name (Devanagari, accents, CJK); some with a comma
Mobile      a 10-digit number (phone1); a few duplicates, an empty one, a short one
Landline    text with a leading zero (``05566009041``); every 10th written ``022-2345 6789``
Email       text
City        text from a list of 50 (repeated shared strings)
Signup      a date (number format 14)
Last call   a date-time (number format 22)
Amount      a decimal number (``1234.56``)
Notes       every 4th row: text with quotes and commas (``said "call after 6", maybe``)
Customer    a whole number (id)
==========  ==============================================================================

All ten columns are mapped (name, phone1, phone2, email, and six custom fields), so the
upload formats every cell. :func:`with_settings` copies the book with another ``base_url``
(the Settings part replaced, every other member copied raw), which is how the benchmark
points one generated book at a server whose port it learns at run time. The texts of Settings
and Mapping are shared strings at the end of the shared-strings part (``base_url``'s value
excepted, inline so that it can be replaced alone): a reader of those sheets has to go
through all of it, the worst case for xl-ameyo's small-sheet reads.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: rows of a full sheet below the header
FULL = 1_048_575
#: bump when the generated content changes (cached books are keyed by it)
VERSION = 2

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

HEADERS = ["Name", "Mobile", "Landline", "Email", "City", "Signup", "Last call", "Amount",
           "Notes", "Customer"]
MAPPING = [
    ("name", "Name"), ("phone1", "Mobile"), ("phone2", "Landline"), ("phone3", None),
    ("phone4", None), ("phone5", None), ("email", "Email"), ("timezone", None),
    ("twitter", None), ("facebook", None), ("city", "City"), ("signup", "Signup"),
    ("last_call", "Last call"), ("amount", "Amount"), ("notes", "Notes"),
    ("customer_id", "Customer"),
]
CITIES = ["Pune", "Mumbai", "Delhi", "Bengaluru", "Chennai", "Kolkata", "Hyderabad",
          "Ahmedabad", "Jaipur", "Lucknow", "São Paulo", "Zürich", "Kraków", "Malmö", "Córdoba",
          "Reykjavík", "Łódź", "Nürnberg", "Besançon", "Gdańsk"] + [f"Town {i}" for i in range(30)]
FIRST = ["Asha", "Vikram", "Priya", "Rahul", "Anita", "Suresh", "Meena", "Arjun", "Kavya",
         "Rohan", "José", "Zoë", "Ñandú", "Søren", "Łukasz", "Chloé"]
LAST = ["Rao", "Das", "Sharma", "Iyer", "Khan", "Patel", "Nair", "Gupta", "Singh", "Müller"]
UNICODE = ["प्रिया शर्मा", "张伟", "Ólafur Ragnarsson", "Đặng Thị Ánh", "محمد علي",
           "Jürgen O'Brien", "Renée Dubois-Lefèvre"]
NOTES = ['said "call after 6pm", prefers Hindi', "busy, call back", "interested in plan B",
         'asked for "gold", then "silver"', "wrong number?, check, again"]


def column_letters(index: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]


def package_parts(sheets: tuple[str, ...] = ("Leads", "Settings", "Mapping")) -> dict[str, str]:
    """The workbook-level parts of a book whose sheets are ``sheet1.xml``.. in this order,
    with shared strings and three cell styles (general, date, date-time)."""
    sheet = f"{CT}.worksheet+xml"
    n = len(sheets)
    ct = (
        XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet}"/>'
            for i in range(1, n + 1)
        )
        + f'<Override PartName="/xl/styles.xml" ContentType="{CT}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
        "</Types>"
    )
    rels = (
        f'{XML_DECL}<Relationships xmlns="{PKG_R}">'
        f'<Relationship Id="rId1" Type="{R}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    wb = (
        f'{XML_DECL}<workbook xmlns="{NS}" xmlns:r="{R}"><sheets>'
        + "".join(
            f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(sheets, 1)
        )
        + "</sheets></workbook>"
    )
    wb_rels = (
        f'{XML_DECL}<Relationships xmlns="{PKG_R}">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{R}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        + f'<Relationship Id="rId{n + 1}" Type="{R}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{n + 2}" Type="{R}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    styles = (
        f'{XML_DECL}<styleSheet xmlns="{NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        '</cellStyleXfs><cellXfs count="3">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        "</cellXfs></styleSheet>"
    )
    return {"[Content_Types].xml": ct, "_rels/.rels": rels, "xl/workbook.xml": wb,
            "xl/_rels/workbook.xml.rels": wb_rels, "xl/styles.xml": styles}


def _small_sheet(rows: list[list], strings: list[str] | None = None) -> str:
    """A small sheet (Settings, Mapping) of texts and numbers. Its texts are appended to the
    shared strings ``strings`` (where Excel puts them too), except ``base_url``'s value,
    which stays an inline string so that :func:`with_settings` can change it alone; with
    ``strings`` None every text is inline."""
    out = []
    for r, row in enumerate(rows, 1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{column_letters(c)}{r}"
            if value is None:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif strings is None or (c == 1 and row[0] == "base_url"):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
            else:
                strings.append(str(value))
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return f'{XML_DECL}<worksheet xmlns="{NS}"><sheetData>{"".join(out)}</sheetData></worksheet>'


def settings_rows(base_url: str, *, max_rows_per_upload: int | None = None) -> list[list]:
    rows: list[list] = [
        ["Setting", "Value"],
        ["base_url", base_url],
        ["cc_list_id", 1],
        ["process_id", 13],
        ["lead_id", 17],
        ["user_id", "bench"],
        ["data_sheet", "Leads"],
        ["timeout_s", 900],
    ]
    if max_rows_per_upload:
        rows.append(["max_rows_per_upload", max_rows_per_upload])
    return rows


def mapping_rows() -> list[list]:
    return [["Ameyo field", "Sheet column"], *[[f, h] for f, h in MAPPING]]


def _lead_cells(i: int, r: int, strings: list[str], mixed: bool = False) -> str:
    """Row ``r`` (sheet row) for lead ``i``; appends its texts to the shared strings.
    ``mixed``: Mobile and Amount mix numbers, typed text and error results, as real sheets
    do (every 1,000th Mobile typed as text, every 500th a lookup's ``#N/A``; every 200th
    Amount the text ``n/a``, every 300th a ``#DIV/0!``)."""
    s = len(strings)
    if i % 7 == 3:
        name = UNICODE[i % len(UNICODE)]
    else:
        name = f"{FIRST[i % 16]} {LAST[(i // 16) % 10]} {i}"
        if i % 50 == 0:
            name = f"{LAST[i % 10]}, {FIRST[i % 16]}"
    strings.append(name)
    # phone1: a number; a few rows are invalid (duplicate, empty, too short) as in real lists
    if i % 100_000 == 99_999:
        mobile = ""
    elif i % 100_000 == 99_998:
        mobile = "<v>12345</v>"
    elif i % 100_000 == 99_997 and i:
        mobile = f"<v>{9_000_000_000 + i - 1}</v>"
    else:
        mobile = f"<v>{9_000_000_000 + i}</v>"
    if i % 10 == 5:
        land = f"0{22 + i % 70}-{2000 + i % 8000} {i % 10000:04d}"
    else:
        land = f"0{5566000000 + i}"
    strings.append(land)
    strings.append(f"lead{i}@example.com")
    date = 36000 + i % 9000
    when = date + (i % 86400) / 86400
    amount = (i * 37 % 1_000_000) / 100
    notes = ""
    if i % 4 == 1:
        strings.append(NOTES[i % len(NOTES)])
        notes = f'<c r="I{r}" t="s"><v>{s + 3}</v></c>'
    mobile_type = ""
    if mixed and mobile and i % 1000 == 7:
        strings.append(f"+91 {9_000_000_000 + i}")
        mobile, mobile_type = f"<v>{len(strings) - 1}</v>", ' t="s"'
    elif mixed and mobile and i % 500 == 11:
        mobile, mobile_type = f"<f>VLOOKUP(A{r},Old!A:B,2,0)</f><v>#N/A</v>", ' t="e"'
    amount_cell = f'<c r="H{r}"><v>{amount!r}</v></c>'
    if mixed and i % 200 == 13:
        strings.append("n/a")
        amount_cell = f'<c r="H{r}" t="s"><v>{len(strings) - 1}</v></c>'
    elif mixed and i % 300 == 17:
        amount_cell = f'<c r="H{r}" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
    cells = f'<row r="{r}"><c r="A{r}" t="s"><v>{s}</v></c>'
    if mobile:
        cells += f'<c r="B{r}"{mobile_type}>{mobile}</c>'
    cells += (
        f'<c r="C{r}" t="s"><v>{s + 1}</v></c><c r="D{r}" t="s"><v>{s + 2}</v></c>'
        f'<c r="E{r}" t="s"><v>{i % 50}</v></c>'
        f'<c r="F{r}" s="1"><v>{date}</v></c><c r="G{r}" s="2"><v>{when!r}</v></c>'
        f"{amount_cell}{notes}"
    )
    cells += f'<c r="J{r}"><v>{100_000_000 + i}</v></c></row>'
    return cells


def make_book(path: Path, rows: int = FULL, *, base_url: str = "http://127.0.0.1:9",
              compresslevel: int = 1, mixed: bool = False) -> None:
    """Write the workbook (see the module docstring). Deflate level 1 keeps generation fast;
    readers inflate any level at about the same speed."""
    # the 50 cities first: shared strings 0..49; then header, then per-row texts
    strings: list[str] = list(CITIES)
    header_at = len(strings)
    strings += HEADERS
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for name, text in package_parts().items():
            zf.writestr(name, text)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(
                f'{XML_DECL}<worksheet xmlns="{NS}" xmlns:r="{R}">'
                f'<dimension ref="A1:J{rows + 1}"/><sheetData>'.encode()
            )
            out.write(
                ('<row r="1">' + "".join(
                    f'<c r="{column_letters(c)}1" t="s"><v>{header_at + c}</v></c>'
                    for c in range(len(HEADERS))) + "</row>").encode()
            )
            batch: list[str] = []
            for i in range(rows):
                batch.append(_lead_cells(i, i + 2, strings, mixed))
                if len(batch) >= 20_000:
                    out.write("".join(batch).encode())
                    batch = []
            out.write(("".join(batch) + "</sheetData></worksheet>").encode())
        # Settings and Mapping last, their texts at the end of the shared strings: the
        # farthest a reader of those two sheets alone has to go
        zf.writestr("xl/worksheets/sheet2.xml", _small_sheet(settings_rows(base_url), strings))
        zf.writestr("xl/worksheets/sheet3.xml", _small_sheet(mapping_rows(), strings))
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(
                f'{XML_DECL}<sst xmlns="{NS}" count="{len(strings)}" '
                f'uniqueCount="{len(strings)}">'.encode()
            )
            for start in range(0, len(strings), 50_000):
                out.write("".join(f"<si><t>{escape(s)}</t></si>"
                                  for s in strings[start:start + 50_000]).encode())
            out.write(b"</sst>")
    os.replace(tmp, path)


def with_settings(src: Path, dst: Path, base_url: str, *,
                  max_rows_per_upload: int | None = None) -> None:
    """Copy ``src`` to ``dst`` with a new Settings sheet (every other member copied raw)."""
    from xl_ameyo.xlsx.rezip import rewrite_zip

    with zipfile.ZipFile(src) as zf:
        old = zf.read("xl/worksheets/sheet2.xml").decode()
    url = f'<is><t>{escape(base_url)}</t></is>'
    new, count = re.subn(r"<is><t>[^<]*</t></is>", lambda _m: url, old, count=1)
    if count != 1:
        raise ValueError(f"{src}: no inline base_url in its Settings sheet")
    if max_rows_per_upload:
        row = ('<row r="9"><c r="A9" t="inlineStr"><is><t>max_rows_per_upload</t></is></c>'
               f'<c r="B9"><v>{max_rows_per_upload}</v></c></row>')
        new = new.replace("</sheetData>", row + "</sheetData>")
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        rewrite_zip(fin, fout, replace={"xl/worksheets/sheet2.xml": new.encode()}, add=[])


def cached_book(folder: Path, rows: int, *, mixed: bool = False) -> Path:
    """The generated book for ``rows`` in ``folder`` (``mixed``: see :func:`_lead_cells`),
    generated when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"leads-{rows}{'-mixed' if mixed else ''}-v{VERSION}.xlsx"
    if not path.exists():
        started = time.perf_counter()
        make_book(path, rows, mixed=mixed)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=FULL)
    parser.add_argument("--base-url", default="http://127.0.0.1:8443")
    parser.add_argument("--mixed", action="store_true",
                        help="Mobile and Amount mix numbers, typed text and error results")
    args = parser.parse_args()
    started = time.perf_counter()
    make_book(args.out, args.rows, base_url=args.base_url, mixed=args.mixed)
    print(f"{args.out}: {args.rows:,} leads, {args.out.stat().st_size / 1e6:.0f} MB, "
          f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
