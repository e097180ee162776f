"""A fresh workbook in the format xl_ameyo reads: Leads, Settings, Mapping and Log sheets.

Written with openpyxl (a writer, so it lives outside the core). The output is deterministic
apart from zip timestamps, so the committed ``workbook/leads_template.xlsx`` can be checked
against this generator part by part.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from xl_ameyo.logrecord import LOG_COLUMNS, TASK_COLUMNS, column_width
from xl_ameyo.mapping import STANDARD_FIELDS

#: Settings rows of the template: key, default value (None: empty), note.
SETTINGS_ROWS: tuple[tuple[str, object, str], ...] = (
    ("base_url", None, "Required. https://host:port of the Ameyo server "
     "(http:// only for this machine)."),
    ("cc_list_id", None, "Required. Contact center id (a positive whole number)."),
    ("process_id", None, "Required. Process id."),
    ("lead_id", None, "Required. Lead list id the leads go to."),
    ("user_id", None, "Required. Ameyo user id of the supervisor uploading."),
    ("update_duplicate", False, "TRUE: update contacts that already exist (same phone1)."),
    ("churn_updated_records", False, "TRUE: updated contacts are reset for dialing."),
    ("migrate", False, "TRUE: move existing contacts of this process to this lead list."),
    ("username", None, "Login user; empty: the AMEYO_USERNAME environment variable. "
     "The password is never kept here: use xl-ameyo login."),
    ("data_sheet", None, "Headless only: the sheet with the leads (empty: the only other sheet)."),
    ("origin", None, "Empty: scheme and host of base_url."),
    ("ca_bundle", None, "Path of the CA certificate (PEM) for a server with a private CA."),
    ("verify_tls", True, "FALSE skips certificate checks (warned about on every run)."),
    ("timeout_s", 300, "Seconds to wait for the server's answer."),
    ("on_invalid_rows", "skip", "skip: send the valid rows and report the rest; "
     "block: send nothing while any row is invalid."),
    ("max_rows_per_upload", None, "Empty: one upload. A number splits big sheets into parts."),
    ("phone_country", None, "Empty: phones are 7 to 15 digits. A country code (e.g. IN) checks "
     "them by that country's numbering plan."),
    ("phone_format", None, "With phone_country: national (e.g. 10 digits in India, the "
     "default) or international (country code + number)."),
)
BOOLEAN_KEYS = ("update_duplicate", "churn_updated_records", "migrate", "verify_tls")

LEADS_HEADERS = ("Customer Name", "Mobile", "Alternate Phone", "E-mail", "City")
#: Template mapping: Ameyo field -> Leads header
DEFAULT_MAPPING = {
    "name": "Customer Name",
    "phone1": "Mobile",
    "phone2": "Alternate Phone",
    "email": "E-mail",
}
#: Phone columns are formatted as Text, so numbers typed there keep their leading zeros and
#: all their digits (Excel keeps only 15 in a number).
TEXT_COLUMNS = ("Mobile", "Alternate Phone")

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
_FIXED_TIME = dt.datetime(2026, 1, 1)


def _header(ws, values: Sequence[str], widths: Sequence[int]) -> None:
    ws.append(list(values))
    for col, width in enumerate(widths, 1):
        cell = ws.cell(row=1, column=col)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        ws.column_dimensions[cell.column_letter].width = width
    ws.freeze_panes = "A2"


def build_workbook(
    *,
    settings: Mapping[str, object] | None = None,
    mapping: Mapping[str, str] | None = None,
    headers: Sequence[str] = LEADS_HEADERS,
    rows: Iterable[Sequence[object]] = (),
    data_sheet: str = "Leads",
    text_columns: Sequence[str] = TEXT_COLUMNS,
) -> Workbook:
    """The template workbook, optionally filled: Settings values, Mapping and lead rows."""
    settings = dict(settings or {})
    mapping = dict(DEFAULT_MAPPING if mapping is None else mapping)
    wb = Workbook()
    wb.properties.creator = "xl_ameyo"
    wb.properties.created = wb.properties.modified = _FIXED_TIME

    leads = wb.active
    leads.title = data_sheet
    _header(leads, headers, [max(14, len(h) + 4) for h in headers])
    for header in text_columns:
        if header in headers:
            letter = leads.cell(row=1, column=headers.index(header) + 1).column_letter
            leads.column_dimensions[letter].number_format = "@"
    for row in rows:
        leads.append(list(row))

    ws = wb.create_sheet("Settings")
    _header(ws, ("Setting", "Value", "Notes"), (24, 36, 90))
    booleans = DataValidation(type="list", formula1='"TRUE,FALSE"', allow_blank=True)
    choices = DataValidation(type="list", formula1='"skip,block"', allow_blank=True)
    formats = DataValidation(type="list", formula1='"national,international"', allow_blank=True)
    for dv in (booleans, choices, formats):
        dv.error = "Pick a value from the list."
        ws.add_data_validation(dv)
    for key, default, note in SETTINGS_ROWS:
        value = settings.pop(key, default)
        ws.append([key, value, note])
        row = ws.max_row
        ws.cell(row=row, column=3).alignment = Alignment(wrap_text=False)
        if key in BOOLEAN_KEYS:
            booleans.add(f"B{row}")
        elif key == "on_invalid_rows":
            choices.add(f"B{row}")
        elif key == "phone_format":
            formats.add(f"B{row}")
        elif key in ("cc_list_id", "process_id", "lead_id", "user_id"):
            ws.cell(row=row, column=2).number_format = "0"
    if settings:
        raise ValueError(f"unknown settings for the template: {sorted(settings)}")

    ws = wb.create_sheet("Mapping")
    _header(ws, ("Ameyo field", "Sheet column"), (18, 30))
    custom = [field for field in mapping if field not in STANDARD_FIELDS]
    for field in (*STANDARD_FIELDS, *custom):
        ws.append([field, mapping.get(field)])

    ws = wb.create_sheet("Log")
    _header(ws, LOG_COLUMNS, [column_width(c) for c in LOG_COLUMNS])
    for col, name in enumerate(TASK_COLUMNS, len(LOG_COLUMNS) + 1):  # xl-ameyo status's
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = column_width(name)
    wb.active = 0
    return wb


def _reproducible(xlsx: bytes) -> bytes:
    """The same package with fixed zip timestamps and modification date.

    openpyxl stamps the save time into docProps/core.xml and every zip entry; fixing both makes
    the committed template byte-for-byte reproducible, so a test can hold it to the generator.
    """
    stamp = _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)
    return out.getvalue()


def template_bytes(**kwargs) -> bytes:
    """:func:`build_workbook` as the bytes of a reproducible ``.xlsx`` file."""
    buffer = io.BytesIO()
    build_workbook(**kwargs).save(buffer)
    return _reproducible(buffer.getvalue())


def write_template(path: str | Path, **kwargs) -> Path:
    """Write :func:`build_workbook` to ``path`` (``.xlsx``)."""
    path = Path(path)
    path.write_bytes(template_bytes(**kwargs))
    return path
