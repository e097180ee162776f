"""``xl_ameyo.xlam``: the ribbon add-in, made from xlwings' own ribbon add-in template.

``xlwings quickstart NAME --addin --ribbon`` copies ``quickstart_addin_ribbon.xlam`` from the
xlwings package to ``NAME.xlam``. This module does the same and edits only what needs no VBA
editor (the VBA project, ``xl/vbaProject.bin``, is copied byte for byte):

- ``customUI/customUI.xml``: an "Ameyo" tab with one large "Upload leads" button
  (:data:`CUSTOM_UI`), whose ``onAction`` is the template's own ribbon macro
  ``RibbonMyAddin.RunMain``;
- the configuration sheet: the template ships it as ``_myaddin.conf`` (inactive); it is renamed
  to ``myaddin.conf``, which the template's VBA reads (``PROJECT_NAME & ".conf"``), and gets
  the Python interpreter (``Interpreter_Win``/``Interpreter_Mac``, empty: ``python`` on the
  PATH) and ``UDF Modules`` (``xl_ameyo.excel.udfs``).

How the button reaches Python (read from the template's VBA, checked by
``tests/test_excel_addin_package.py``)::

    RibbonMyAddin.RunMain(control)
      mymodule = Left(ThisWorkbook.Name, InStrRev(ThisWorkbook.Name, ".") - 1)  ' "xl_ameyo"
      RunPython "import " & mymodule & ";" & mymodule & ".main()"
    xlwings.RunPython -> the interpreter from GetConfig("INTERPRETER_WIN"/"INTERPRETER_MAC")
      -> python -c "...; import xl_ameyo;xl_ameyo.main()" --wb=<active workbook> --from_xl=1

So the file must be called ``xl_ameyo.xlam``: its name is the Python module that is imported.

The package is written deterministically (members in the template's order, fixed timestamps
and attributes), so building twice from the same template gives the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

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
#: what the template's ribbon macro runs for an add-in file named ADDIN_NAME
ENTRY_POINT = "import xl_ameyo;xl_ameyo.main()"
#: the template's VBA: module RibbonMyAddin, Sub RunMain(control As IRibbonControl)
RIBBON_MACRO = "RibbonMyAddin.RunMain"
#: the template's VBA project name (``PROJECT_NAME``): its config sheet is PROJECT_NAME.conf
PROJECT_NAME = "myaddin"
TEMPLATE_CONFIG_SHEET = f"_{PROJECT_NAME}.conf"
CONFIG_SHEET = f"{PROJECT_NAME}.conf"
UDF_MODULES = "xl_ameyo.excel.udfs"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)

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
                  onAction="{RIBBON_MACRO}" />
        </group>
      </tab>
    </tabs>
  </ribbon>
</customUI>
"""  # noqa: E501


def template_path() -> Path:
    """xlwings' ribbon add-in template, in the installed xlwings package."""
    import xlwings

    return Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam"


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


def build_xlam(
    template: bytes,
    *,
    interpreter_win: str = "",
    interpreter_mac: str = "",
    pythonpath: str = "",
) -> bytes:
    """The add-in's bytes from the template's bytes (see the module doc)."""
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        order = z.namelist()
        files = {name: z.read(name) for name in order}

    if "customUI/customUI.xml" not in files:
        raise ValueError("not xlwings' ribbon add-in template (no customUI/customUI.xml)")
    files["customUI/customUI.xml"] = CUSTOM_UI.encode("utf-8")

    member = _config_sheet_member(files, TEMPLATE_CONFIG_SHEET)
    workbook = files["xl/workbook.xml"].decode("utf-8")
    old = f'name="{TEMPLATE_CONFIG_SHEET}"'
    if workbook.count(old) != 1:
        raise ValueError(f"the template's workbook.xml does not name '{TEMPLATE_CONFIG_SHEET}'")
    files["xl/workbook.xml"] = workbook.replace(old, f'name="{CONFIG_SHEET}"').encode("utf-8")

    shared = _shared_strings(files["xl/sharedStrings.xml"])
    sheet = files[member].decode("utf-8")
    sheet = _set_config_cells(
        sheet,
        shared,
        {
            "Interpreter_Win": interpreter_win,
            "Interpreter_Mac": interpreter_mac,
            "PYTHONPATH": pythonpath,
            "UDF Modules": UDF_MODULES,
        },
    )
    files[member] = sheet.encode("utf-8")

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            z.writestr(info, files[name], compresslevel=6)
    return out.getvalue()
