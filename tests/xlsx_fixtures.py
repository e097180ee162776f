"""Build test workbooks for the xlsx reader and Log writer.

Three ways, each for what the others cannot do:

- :func:`build_xlsx` writes a package from hand-written parts (exact control: ``x:`` prefixes,
  absolute targets, cells without ``r``, shared strings, error cells, cached formula
  results);
- :func:`openpyxl_book` writes with openpyxl, then :func:`patch_member` post-processes the XML
  where openpyxl cannot (formula cells WITH cached values: openpyxl writes ``<v></v>``);
- :func:`macro_book` starts from a real Excel-made .xlsm shipped with xlwings (VBA project
  ``xl/vbaProject.bin``) and adds a ribbon part, formulas with cached values, error cells,
  a calcChain and defined names.
"""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import openpyxl
import xlwings

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

XLWINGS_DIR = Path(xlwings.__file__).parent
QUICKSTART_XLSM = XLWINGS_DIR / "quickstart.xlsm"
RIBBON_XLAM = XLWINGS_DIR / "quickstart_addin_ribbon.xlam"

#: the Log columns of the product spec (a copy: tests of this module must not depend on
#: logrecord.py)
LOG_COLUMNS = (
    "timestamp", "sheet", "rows_sent", "rows_skipped", "cc_list_id", "process_id", "lead_id",
    "user_id", "update_duplicate", "churn_updated_records", "migrate", "task_id", "status",
    "http_code", "message", "request_id", "csv_sha256", "duration_s",
)


# --- raw packages ----------------------------------------------------------------------------


def build_xlsx(
    path: Path,
    parts: dict[str, str | bytes],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write ``parts`` (member name -> content) as a zip, in the given order."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, content in parts.items():
            zf.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
    return path


def sheet_xml(rows: str, *, prefix: str = "", dimension: str | None = None,
              before: str = "", after: str = "") -> str:
    """A worksheet part whose ``<sheetData>`` holds ``rows`` (XML, same prefix)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{NS}"' if prefix else f'xmlns="{NS}"'
    dim = f'<{p}dimension ref="{dimension}"/>' if dimension else ""
    data = f"<{p}sheetData>{rows}</{p}sheetData>" if rows else f"<{p}sheetData/>"
    return (f'{XML_DECL}<{p}worksheet {xmlns} xmlns:r="{R}">{dim}{before}{data}{after}'
            f"</{p}worksheet>")


def package_parts(
    sheets: Sequence[tuple[str, str]],
    *,
    prefix: str = "",
    absolute_targets: bool = False,
    shared_strings: Sequence[str] | str | None = None,
    styles: str | None = None,
    workbook_member: str = "xl/workbook.xml",
) -> dict[str, str]:
    """A complete package: ``sheets`` are (name, worksheet XML); optional shared strings
    (plain texts or a whole ``<sst>`` part) and styles part."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{NS}"' if prefix else f'xmlns="{NS}"'
    folder = workbook_member.rsplit("/", 1)[0]
    entries = "".join(
        f'<{p}sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
        for i, (name, _) in enumerate(sheets, start=1)
    )
    workbook = (f'{XML_DECL}<{p}workbook {xmlns} xmlns:r="{R}"><{p}sheets>{entries}'
                f"</{p}sheets></{p}workbook>")
    rels = []
    overrides = [f'<Override PartName="/{workbook_member}" ContentType="{CT}.sheet.main+xml"/>']
    parts: dict[str, str] = {}
    for i, (_, xml) in enumerate(sheets, start=1):
        member = f"{folder}/worksheets/sheet{i}.xml"
        target = f"/{member}" if absolute_targets else f"worksheets/sheet{i}.xml"
        rels.append(f'<Relationship Id="rId{i}" Type="{R}/worksheet" Target="{target}"/>')
        overrides.append(f'<Override PartName="/{member}" ContentType="{CT}.worksheet+xml"/>')
        parts[member] = xml
    n = len(sheets)
    if shared_strings is not None:
        if isinstance(shared_strings, str):
            sst = shared_strings
        else:
            items = "".join(f"<si><t>{s}</t></si>" for s in shared_strings)
            sst = (f'{XML_DECL}<sst xmlns="{NS}" count="{len(shared_strings)}" '
                   f'uniqueCount="{len(shared_strings)}">{items}</sst>')
        parts[f"{folder}/sharedStrings.xml"] = sst
        rels.append(f'<Relationship Id="rId{n + 1}" Type="{R}/sharedStrings" '
                    'Target="sharedStrings.xml"/>')
        overrides.append(f'<Override PartName="/{folder}/sharedStrings.xml" '
                         f'ContentType="{CT}.sharedStrings+xml"/>')
    if styles is not None:
        parts[f"{folder}/styles.xml"] = styles
        rels.append(f'<Relationship Id="rId{n + 2}" Type="{R}/styles" Target="styles.xml"/>')
        overrides.append(f'<Override PartName="/{folder}/styles.xml" '
                         f'ContentType="{CT}.styles+xml"/>')
    content_types = (
        f'{XML_DECL}<Types xmlns="{CT_NS}"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(overrides) + "</Types>"
    )
    root_target = f"/{workbook_member}" if absolute_targets else workbook_member
    return {
        "[Content_Types].xml": content_types,
        "_rels/.rels": (f'{XML_DECL}<Relationships xmlns="{PKG_R}"><Relationship Id="rId1" '
                        f'Type="{R}/officeDocument" Target="{root_target}"/></Relationships>'),
        workbook_member: workbook,
        f"{folder}/_rels/{workbook_member.rsplit('/', 1)[1]}.rels": (
            f'{XML_DECL}<Relationships xmlns="{PKG_R}">{"".join(rels)}</Relationships>'
        ),
        **parts,
    }


#: cellXfs: 0 General, 1 date (14), 2 date-time (22), 3 time (21), 4 [h]:mm:ss (46), 5 bold
STYLES = (
    f'{XML_DECL}<styleSheet xmlns="{NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="21" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="46" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    "</cellXfs></styleSheet>"
)


# --- post-processing ---------------------------------------------------------------------


def zip_members(path: Path) -> dict[str, bytes]:
    """Every member's (decompressed) bytes, in archive order."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rewrite_members(
    path: Path,
    change: dict[str, Callable[[str], str]] | None = None,
    add: Iterable[tuple[str, str | bytes]] = (),
) -> Path:
    """Rewrite the zip with ``change[name](text)`` applied to members and ``add`` appended
    (fixtures only: every member is recompressed)."""
    change = change or {}
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in items:
            if info.filename in change:
                data = change[info.filename](data.decode("utf-8")).encode("utf-8")
            zf.writestr(info, data)
        for name, data in add:
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data,
                        compress_type=zipfile.ZIP_DEFLATED)
    return path


def raw_members(path: Path) -> dict[str, tuple[int, bytes]]:
    """Each member's compression method and compressed bytes as stored in the file."""
    data = path.read_bytes()
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            n, m = struct.unpack_from("<HH", data, info.header_offset + 26)
            start = info.header_offset + 30 + n + m
            out[info.filename] = (info.compress_type, data[start : start + info.compress_size])
    return out


def patch_member(path: Path, member: str, fn: Callable[[str], str]) -> Path:
    """Rewrite one member's text with ``fn``."""
    return rewrite_members(path, {member: fn})


def set_cached_values(xml: str, values: dict[str, tuple[str | None, str]]) -> str:
    """Give formula cells cached results: ``{"B2": (None, "84"), "C2": ("e", "#DIV/0!")}``
    (the type attribute ``t`` and the ``<v>`` text). openpyxl writes ``<v></v>``/``<v />``."""
    for ref, (kind, value) in values.items():
        pattern = re.compile(r'<c r="' + ref + r'"([^>]*)>(<f>.*?</f>)(?:<v\s*/>|<v></v>)?</c>')
        m = pattern.search(xml)
        assert m, f"no formula cell {ref}"
        attrs = re.sub(r'\s+t="[^"]*"', "", m.group(1))
        t = f' t="{kind}"' if kind else ""
        xml = xml[: m.start()] + f'<c r="{ref}"{attrs}{t}>{m.group(2)}<v>{value}</v></c>' \
            + xml[m.end():]
    return xml


# --- whole workbooks -------------------------------------------------------------------------


def openpyxl_book(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A plain workbook written by openpyxl, one sheet per entry (rows from A1)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def styled_book(path: Path, *, with_log: bool = False) -> Path:
    """Several sheets with styles, merged cells, column widths, formulas WITH cached values
    (including an error result) and error cells; optionally a Log sheet with one row."""
    from openpyxl.styles import Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["name", "phone1", "amount", "double"])
    ws.append(["Ann", "05566009041", 42, "=C2*2"])
    ws.append(["Bob", 9876543210, 0, "=1/C3"])
    ws.append(["Cy", "#N/A", 7, "=C4*2"])
    ws["A1"].font = Font(bold=True, color="FF0000")
    ws["B1"].fill = PatternFill("solid", fgColor="FFFF00")
    ws.column_dimensions["A"].width = 30
    ws.merge_cells("E1:F1")
    ws["E1"] = "merged"
    other = wb.create_sheet("Notes")
    other["B3"] = "see Leads"
    other["C3"] = "=Leads!C2+1"
    if with_log:
        log = wb.create_sheet("Log")
        log.append(list(LOG_COLUMNS[:4]))
        log.append(["2026-01-01T00:00:00+00:00", "Leads", 3, "=1+1"])
    wb.save(path)
    patch_member(path, "xl/worksheets/sheet1.xml", lambda x: set_cached_values(
        x, {"D2": (None, "84"), "D3": ("e", "#DIV/0!"), "D4": (None, "14")}))
    patch_member(path, "xl/worksheets/sheet2.xml",
                 lambda x: set_cached_values(x, {"C3": (None, "43")}))
    if with_log:
        patch_member(path, "xl/worksheets/sheet3.xml",
                     lambda x: set_cached_values(x, {"D2": (None, "2")}))
    return path


def macro_book(path: Path, *, with_log: bool = False) -> Path:
    """xlwings' Excel-made quickstart.xlsm (a real VBA project) plus: a ribbon part
    (customUI from xlwings' ribbon add-in), data with formulas WITH cached values and an
    error cell in Sheet1, a calcChain, a defined name; optionally a Log sheet (shared-string
    header, one row with a cached formula result)."""
    path.write_bytes(QUICKSTART_XLSM.read_bytes())
    with zipfile.ZipFile(RIBBON_XLAM) as zf:
        custom_ui = zf.read("customUI/customUI.xml")
    rows = (
        '<row r="1"><c r="A1" t="s"><v>13</v></c><c r="B1" t="inlineStr"><is><t>double</t></is>'
        '</c></row><row r="2"><c r="A2"><v>42</v></c><c r="B2" s="1"><f>A2*2</f><v>84</v></c>'
        '<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    )
    change = {
        "xl/worksheets/sheet1.xml": lambda x: x.replace(
            '<dimension ref="A1"/>', '<dimension ref="A1:C2"/>'
        ).replace("<sheetData/>", f"<sheetData>{rows}</sheetData>"),
        "_rels/.rels": lambda x: x.replace(
            "</Relationships>",
            '<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2007/'
            'relationships/ui/extensibility" Target="customUI/customUI.xml"/></Relationships>',
        ),
        "xl/workbook.xml": lambda x: x.replace(
            "</sheets>",
            "</sheets><definedNames><definedName name=\"Rate\">Sheet1!$A$2</definedName>"
            "</definedNames>",
        ),
        "xl/_rels/workbook.xml.rels": lambda x: x.replace(
            "</Relationships>",
            f'<Relationship Id="rId7" Type="{R}/calcChain" Target="calcChain.xml"/>'
            "</Relationships>",
        ),
        "[Content_Types].xml": lambda x: x.replace(
            "</Types>",
            f'<Override PartName="/xl/calcChain.xml" ContentType="{CT}.calcChain+xml"/></Types>',
        ),
    }
    add: list[tuple[str, str | bytes]] = [
        ("customUI/customUI.xml", custom_ui),
        ("xl/calcChain.xml", f'{XML_DECL}<calcChain xmlns="{NS}"><c r="B2" i="1"/>'
                             '<c r="C2"/></calcChain>'),
    ]
    if with_log:
        log_rows = (
            '<row r="1" spans="1:3"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>13</v></c>'
            '<c r="C1" t="inlineStr"><is><t>rows_sent</t></is></c></row>'
            '<row r="2" spans="1:3"><c r="A2" t="inlineStr"><is><t>2026-01-01</t></is></c>'
            '<c r="B2" t="inlineStr"><is><t>Sheet1</t></is></c><c r="C2"><f>1+2</f><v>3</v>'
            "</c></row>"
        )
        add.append(("xl/worksheets/sheet3.xml", sheet_xml(log_rows, dimension="A1:C2")))
        change["xl/workbook.xml"] = lambda x, _f=change["xl/workbook.xml"]: _f(x).replace(
            "</sheets>", '<sheet name="LOG" sheetId="3" r:id="rId8"/></sheets>')
        change["xl/_rels/workbook.xml.rels"] = (
            lambda x, _f=change["xl/_rels/workbook.xml.rels"]: _f(x).replace(
                "</Relationships>",
                f'<Relationship Id="rId8" Type="{R}/worksheet" '
                'Target="worksheets/sheet3.xml"/></Relationships>'))
        change["[Content_Types].xml"] = lambda x, _f=change["[Content_Types].xml"]: _f(
            x).replace("</Types>", '<Override PartName="/xl/worksheets/sheet3.xml" '
                       f'ContentType="{CT}.worksheet+xml"/></Types>')
    return rewrite_members(path, change, add)
