"""``xl_ameyo.xlam``: the ribbon add-in, made from xlwings' own ribbon add-in template.

``xlwings quickstart NAME --addin --ribbon`` copies ``quickstart_addin_ribbon.xlam`` from the
xlwings package to ``NAME.xlam``. This module starts from the same file and changes:

- ``customUI/customUI.xml``: an "Ameyo" tab with two large buttons, "Upload leads" and
  "Check results" (:data:`CUSTOM_UI`), whose ``onAction`` macros are in :data:`RIBBON_MODULE`;
- ``xl/vbaProject.bin`` (:mod:`.vbaproject`): two standard modules are added, the rest of the
  project (xlwings' ``RunPython`` and UDF server, its references) is kept:
  ``xlwings_udfs``, the worksheet functions' wrappers exactly as xlwings' *Import Functions*
  writes them (:mod:`.wrappers`), so every ``=AMEYO_...`` function exists once the add-in is
  loaded; and :data:`RIBBON_VBA`, the buttons' macros;
- the configuration sheet: the template ships it as ``_myaddin.conf`` (inactive); it is renamed
  to ``myaddin.conf``, which the template's VBA reads (``PROJECT_NAME & ".conf"``), and gets
  the Python to run (``Interpreter_Win``/``Interpreter_Mac``, or ``Conda Path``/``Conda Env``;
  empty: ``python`` on the PATH), ``UDF Modules`` (``xl_ameyo.excel.udfs``) and a new row
  ``ADD_WORKBOOK_TO_PYTHONPATH`` FALSE (the package is installed; for a workbook in
  OneDrive/SharePoint xlwings would otherwise fail looking for its folder before any code runs).

How the buttons reach Python (checked by ``tests/test_excel_addin_package.py``)::

    xl_ameyo_ribbon.UploadLeads(control)
      (no workbook open: a message box, nothing else)
      RunPython "import xl_ameyo;xl_ameyo.main()"
    xlwings.RunPython -> the interpreter from GetConfig("INTERPRETER_WIN"/"INTERPRETER_MAC")
      -> python -c "...; import xl_ameyo;xl_ameyo.main()" --wb=<active workbook> --from_xl=1

The package is written deterministically (members in the template's order, fixed timestamps
and attributes; pyopenvba's compound file has no clock in it), so building twice from the
same template gives the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from xl_ameyo.errors import XlAmeyoError
from xl_ameyo.excel.vbaproject import VBA_ENTRY, add_modules
from xl_ameyo.excel.wrappers import UDF_MODULE, VBA_MODULE_NAME, udf_module_source

__all__ = [
    "ADDIN_NAME",
    "CUSTOM_UI",
    "ENTRY_POINT",
    "RIBBON_MACRO",
    "build_xlam",
    "read_config",
    "template_path",
]

ADDIN_NAME = "xl_ameyo.xlam"
#: the VBA module of the ribbon's macros (hand-written: xlwings has no generator for ribbon
#: callbacks; its template's ``RibbonMyAddin.RunMain`` has no guard for "no workbook open")
RIBBON_MODULE = "xl_ameyo_ribbon"
#: what the "Upload leads" button runs (``xl_ameyo.main`` -> :func:`xl_ameyo.excel.addin.main`)
ENTRY_POINT = "import xl_ameyo;xl_ameyo.main()"
#: what the "Check results" button runs
RESULTS_ENTRY_POINT = "import xl_ameyo.excel.results; xl_ameyo.excel.results.main()"
UPLOAD_MACRO = f"{RIBBON_MODULE}.UploadLeads"
RESULTS_MACRO = f"{RIBBON_MODULE}.CheckResults"
#: the template's own ribbon macro (module RibbonMyAddin), kept in the project
RIBBON_MACRO = "RibbonMyAddin.RunMain"
#: the template's VBA project name (``PROJECT_NAME``): its config sheet is PROJECT_NAME.conf
PROJECT_NAME = "myaddin"
TEMPLATE_CONFIG_SHEET = f"_{PROJECT_NAME}.conf"
CONFIG_SHEET = f"{PROJECT_NAME}.conf"
UDF_MODULES = UDF_MODULE
#: config rows the template lacks, added after its last row (key -> boolean value)
ADDED_CONFIG = {"ADD_WORKBOOK_TO_PYTHONPATH": False}
#: the config keys the build fills in (the template has a row for each)
CONFIG_KEYS = ("Interpreter_Win", "Interpreter_Mac", "PYTHONPATH", "Conda Path", "Conda Env")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)

RIBBON_VBA = f"""Attribute VB_Name = "{RIBBON_MODULE}"
' The Ameyo tab's buttons (customUI/customUI.xml names these macros), written by xl_ameyo's
' add-in build. RunPython (module xlwings) needs a workbook: without one it stops on
' ActiveWorkbook.FullName with a VBA error, so the buttons say what to do instead.

Private Function NoWorkbook(button As String) As Boolean
    If ActiveWorkbook Is Nothing Then
        MsgBox "Open the workbook with your leads first (a file in Protected View needs " & _
               "Enable Editing), then click " & button & " again.", vbInformation, "Ameyo"
        NoWorkbook = True
    End If
End Function

Sub UploadLeads(control As IRibbonControl)
    If NoWorkbook("Upload leads") Then Exit Sub
    RunPython "{ENTRY_POINT}"
End Sub

Sub CheckResults(control As IRibbonControl)
    If NoWorkbook("Check results") Then Exit Sub
    RunPython "{RESULTS_ENTRY_POINT}"
End Sub
""".replace("\n", "\r\n")

CUSTOM_UI = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">
  <ribbon>
    <tabs>
      <tab id="xlAmeyoTab" label="Ameyo">
        <group id="xlAmeyoLeads" label="Lead lists">
          <button id="xlAmeyoUpload"
                  label="Upload leads"
                  size="large"
                  imageMso="ExportSharePointList"
                  screentip="Upload leads to Ameyo"
                  supertip="Checks the rows of the active sheet against the Settings and Mapping sheets, asks before sending (Yes: upload, No: check only), uploads the valid rows to the Ameyo lead list and writes the result to the Log sheet. Invalid rows are listed in the Issues sheet. The first click on a new workbook creates Settings and Mapping."
                  onAction="{UPLOAD_MACRO}" />
          <button id="xlAmeyoResults"
                  label="Check results"
                  size="large"
                  imageMso="RefreshAll"
                  screentip="Check the uploads' results"
                  supertip="Asks Ameyo how the uploads logged in the Log sheet went (queued, running, completed or failed, with the counts) and writes the answers into the workbook."
                  onAction="{RESULTS_MACRO}" />
        </group>
      </tab>
    </tabs>
  </ribbon>
</customUI>
"""  # noqa: E501


class InstallError(XlAmeyoError):
    """The add-in could not be built, written or removed."""

    exit_code = 2


#: the xlwings versions whose ribbon template this build knows (pyproject.toml pins the same)
XLWINGS_SUPPORTED = ((0, 33), (1, 0))
EXCEL_EXTRA = 'python -m pip install "xl_ameyo[excel]"'


def require_xlwings():
    """The installed xlwings, or InstallError saying how to install it."""
    try:
        import xlwings
    except ImportError:
        raise InstallError(
            "xlwings is not installed in this Python: the Excel add-in needs it",
            hint=f"Run: {EXCEL_EXTRA}",
        ) from None
    version = tuple(int(p) for p in re.findall(r"\d+", xlwings.__version__)[:2])
    low, high = XLWINGS_SUPPORTED
    if not low <= version < high:
        raise InstallError(
            f"xlwings {xlwings.__version__} is installed; this add-in is built from the "
            f"ribbon template of xlwings {'.'.join(map(str, low))} up to (not including) "
            f"{'.'.join(map(str, high))}",
            hint=f'Run: python -m pip install "xlwings>=0.33,<1", then {EXCEL_EXTRA}',
        )
    return xlwings


def template_path() -> Path:
    """xlwings' ribbon add-in template, in the installed xlwings package."""
    return Path(require_xlwings().__file__).parent / "quickstart_addin_ribbon.xlam"


# --- the config sheet ------------------------------------------------------------------------

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROW = re.compile(r"<row\b([^>]*?)(/>|>(.*?)</row>)", re.S)
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(r'\br="([A-Z]+)(\d+)"')


def _shared_strings(xml: bytes) -> list[str]:
    root = ET.fromstring(xml)
    return ["".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t"))
            for si in root.findall("m:si", _NS)]


def _config_sheet_member(files: dict[str, bytes], sheet_name: str) -> str:
    """The zip member of the sheet called ``sheet_name``."""
    workbook = ET.fromstring(files["xl/workbook.xml"])
    rid = None
    for sheet in workbook.iter(f"{{{_NS['m']}}}sheet"):
        if sheet.get("name") == sheet_name:
            rid = sheet.get(f"{{{_R_NS}}}id")
    if rid is None:
        raise ValueError(f"the template has no sheet '{sheet_name}'")
    rels = ET.fromstring(files["xl/_rels/workbook.xml.rels"])
    for rel in rels:
        if rel.get("Id") == rid:
            return "xl/" + rel.get("Target", "").lstrip("/").removeprefix("xl/")
    raise ValueError(f"the template's sheet '{sheet_name}' has no part")


def _cell_text(attrs: str, body: str | None, shared: list[str]) -> str | None:
    if body is None:
        return None
    if 't="s"' in attrs:
        m = re.search(r"<v>(\d+)</v>", body)
        return shared[int(m.group(1))] if m else None
    if 't="inlineStr"' in attrs:
        return "".join(re.findall(r"<t\b[^>]*>(.*?)</t>", body, re.S))
    m = re.search(r"<v>(.*?)</v>", body, re.S)
    return m.group(1) if m else None


def _set_config_cells(sheet_xml: str, shared: list[str], values: dict[str, str]) -> str:
    """Put ``values`` (config key -> text) into column B next to their keys in column A."""
    wanted = {k.upper(): v for k, v in values.items()}
    found: set[str] = set()

    def fix_row(m: re.Match) -> str:
        attrs, body = m.group(1), m.group(3)
        if body is None:
            return m.group(0)
        cells = list(_CELL.finditer(body))
        key = None
        number = None
        for c in cells:
            ref = _REF.search(c.group(1))
            if ref and ref.group(1) == "A":
                number = ref.group(2)
                key = _cell_text(c.group(1), c.group(2), shared)
        if key is None or key.upper() not in wanted or number is None:
            return m.group(0)
        found.add(key.upper())
        text = wanted[key.upper()]
        kept = [c.group(0) for c in cells
                if not ((r := _REF.search(c.group(1))) and r.group(1) == "B")]
        if text:
            kept.insert(1, f'<c r="B{number}" s="1" t="inlineStr"><is><t xml:space="preserve">'
                           f"{escape(text)}</t></is></c>")
        attrs = re.sub(r'\sspans="[^"]*"', "", attrs)
        return f"<row{attrs}>{''.join(kept)}</row>"

    out = _ROW.sub(fix_row, sheet_xml)
    missing = set(wanted) - found
    if missing:
        raise ValueError(f"the config sheet has no row for {sorted(missing)}")
    return out


def _add_config_rows(sheet_xml: str, shared: list[str], rows: dict[str, bool]) -> str:
    """Append ``rows`` (key -> boolean) right after the config's last row: xlwings reads the
    rows from A1 down to the first empty A cell, so they must follow without a gap."""
    keys: dict[int, str] = {}
    for m in _ROW.finditer(sheet_xml):
        for c in _CELL.finditer(m.group(3) or ""):
            ref = _REF.search(c.group(1))
            text = _cell_text(c.group(1), c.group(2), shared)
            if ref and ref.group(1) == "A" and text:
                keys[int(ref.group(2))] = text
    last = 0
    while last + 1 in keys:
        last += 1
    known = {keys[n].upper() for n in range(1, last + 1)}
    new = []
    for key, value in rows.items():
        if key.upper() in known:
            continue
        last += 1
        if last in keys:
            raise InstallError(f"the template's config sheet has row {last} in the way")
        new.append(f'<row r="{last}"><c r="A{last}" s="1" t="inlineStr"><is><t>{escape(key)}'
                   f'</t></is></c><c r="B{last}" s="1" t="b"><v>{int(value)}</v></c></row>')
    if not new:
        return sheet_xml
    insert = None
    for m in _ROW.finditer(sheet_xml):
        number = re.search(r'\br="(\d+)"', m.group(1))
        if number and int(number.group(1)) > last:
            insert = m.start()
            break
    if insert is None:
        insert = sheet_xml.index("</sheetData>")
    return sheet_xml[:insert] + "".join(new) + sheet_xml[insert:]


def read_config(xlam: bytes) -> dict[str, str]:
    """The active config sheet's settings (key as typed -> text; empty cells are "")."""
    with zipfile.ZipFile(io.BytesIO(xlam)) as z:
        files = {name: z.read(name) for name in z.namelist()}
    member = _config_sheet_member(files, CONFIG_SHEET)
    shared = _shared_strings(files["xl/sharedStrings.xml"]) if "xl/sharedStrings.xml" in files \
        else []
    root = ET.fromstring(files[member])
    out: dict[str, str] = {}
    for row in root.iter(f"{{{_NS['m']}}}row"):
        cells: dict[str, str] = {}
        for c in row.findall("m:c", _NS):
            column = re.sub(r"\d", "", c.get("r", ""))
            if c.get("t") == "s":
                v = c.find("m:v", _NS)
                text = shared[int(v.text)] if v is not None and v.text else ""
            elif c.get("t") == "inlineStr":
                text = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
            else:
                v = c.find("m:v", _NS)
                text = v.text or "" if v is not None else ""
            cells[column] = text
        if cells.get("A"):
            out[cells["A"]] = cells.get("B", "")
    return out


# --- the build ---------------------------------------------------------------------------------


def build_xlam(template: bytes, config: Mapping[str, str] | None = None) -> bytes:
    """The add-in's bytes from the template's bytes (see the module doc). ``config``: values
    for the config sheet's :data:`CONFIG_KEYS` (the others stay empty). InstallError when the
    template is not one this build knows."""
    config = dict(config or {})
    unknown = set(config) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError(f"not config keys of the add-in: {sorted(unknown)}")
    try:
        with zipfile.ZipFile(io.BytesIO(template)) as z:
            order = z.namelist()
            files = {name: z.read(name) for name in order}
    except zipfile.BadZipFile:
        raise InstallError("xlwings' add-in template is not a zip file: reinstall xlwings",
                           hint=f"Run: {EXCEL_EXTRA} --force-reinstall") from None

    if "customUI/customUI.xml" not in files or VBA_ENTRY not in files:
        raise InstallError("not xlwings' ribbon add-in template (no ribbon or no VBA project)",
                           hint=f"Run: {EXCEL_EXTRA} --force-reinstall")
    files["customUI/customUI.xml"] = CUSTOM_UI.encode("utf-8")

    try:
        member = _config_sheet_member(files, TEMPLATE_CONFIG_SHEET)
    except ValueError as exc:
        raise InstallError(f"xlwings' add-in template: {exc}") from None
    workbook = files["xl/workbook.xml"].decode("utf-8")
    old = f'name="{TEMPLATE_CONFIG_SHEET}"'
    if workbook.count(old) != 1:
        raise InstallError(f"the template's workbook.xml does not name '{TEMPLATE_CONFIG_SHEET}'")
    files["xl/workbook.xml"] = workbook.replace(old, f'name="{CONFIG_SHEET}"').encode("utf-8")

    shared = _shared_strings(files["xl/sharedStrings.xml"])
    sheet = files[member].decode("utf-8")
    try:
        sheet = _set_config_cells(
            sheet, shared, {**dict.fromkeys(CONFIG_KEYS, ""), **config,
                            "UDF Modules": UDF_MODULES})
    except ValueError as exc:
        raise InstallError(f"xlwings' add-in template: {exc}") from None
    files[member] = _add_config_rows(sheet, shared, ADDED_CONFIG).encode("utf-8")

    try:
        files[VBA_ENTRY] = add_modules(
            template, {VBA_MODULE_NAME: udf_module_source(ADDIN_NAME), RIBBON_MODULE: RIBBON_VBA})
    except ImportError as exc:  # pyopenvba (or oddly, a part of xlwings) is missing
        raise InstallError(f"{exc.name or 'a package'} is not installed in this Python: the "
                           "Excel add-in needs it", hint=f"Run: {EXCEL_EXTRA}") from None
    except ValueError as exc:
        raise InstallError(f"xlwings' add-in template: {exc}") from None

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            z.writestr(info, files[name], compresslevel=6)
    return out.getvalue()
