"""workbook/xl_ameyo.xlam: the ribbon, the VBA behind its button, the config it reads, and the
build that makes it (scripts/build_addin.py, xl_ameyo.excel.xlam)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xlwings

import xl_ameyo.excel.addin
from tests.test_excel_addin_vba import vba_code
from xl_ameyo.excel.xlam import (
    ADDIN_NAME,
    CONFIG_SHEET,
    ENTRY_POINT,
    RESULTS_ENTRY_POINT,
    RIBBON_MACRO,
    UDF_MODULES,
    InstallError,
    build_xlam,
    read_config,
    template_path,
)

with warnings.catch_warnings():  # oletools' use of pyparsing's old names
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser

ROOT = Path(__file__).resolve().parent.parent
XLAM = ROOT / "workbook" / ADDIN_NAME
CUSTOM_UI_NS = "{http://schemas.microsoft.com/office/2006/01/customui}"
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


vba_modules = vba_code


def sub_body(code: str, name: str) -> str:
    m = re.search(
        rf"^\s*(?:Public\s+)?Sub\s+{name}\s*\(\s*control\s+As\s+IRibbonControl\s*\)\s*$"
        rf"(.*?)^\s*End Sub",
        code,
        re.M | re.S | re.I,
    )
    assert m, f"no Sub {name}(control As IRibbonControl)"
    return m.group(1)


def vba_concat(expr: str, names: dict[str, str]) -> str:
    """Evaluate a VBA string expression of literals and variables joined by &."""
    out = []
    for part in re.findall(r'"(?:[^"]|"")*"|[A-Za-z_]\w*', expr):
        if part.startswith('"'):
            out.append(part[1:-1].replace('""', '"'))
        else:
            out.append(names[part])
    return "".join(out)


@pytest.fixture(scope="module")
def package() -> dict[str, bytes]:
    with zipfile.ZipFile(XLAM) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.fixture(scope="module")
def vba() -> dict[str, str]:
    return vba_modules(XLAM)


def ribbon_buttons(package) -> list[ET.Element]:
    root = ET.fromstring(package["customUI/customUI.xml"])  # well-formed, or this raises
    assert root.tag == f"{CUSTOM_UI_NS}customUI"
    return list(root.iter(f"{CUSTOM_UI_NS}button"))


def button(package, label: str) -> ET.Element:
    [found] = [b for b in ribbon_buttons(package) if b.get("label") == label]
    return found


def test_the_ribbon_has_an_ameyo_tab_with_upload_and_check_results_side_by_side(package):
    root = ET.fromstring(package["customUI/customUI.xml"])
    [tab] = root.iter(f"{CUSTOM_UI_NS}tab")
    assert tab.get("label") == "Ameyo"
    [group] = tab.iter(f"{CUSTOM_UI_NS}group")
    assert [b.get("label") for b in group] == ["Upload leads", "Check results"]
    for b in group:
        assert b.get("size") == "large"
        assert b.get("imageMso")
        assert b.get("screentip") and len(b.get("supertip", "")) > 40
    assert len({b.get("id") for b in group}) == 2
    rels = package["_rels/.rels"].decode()
    assert 'Target="customUI/customUI.xml"' in rels
    assert "relationships/ui/extensibility" in rels


def test_every_onaction_names_a_ribbon_macro_of_the_vba_project(package, vba):
    buttons = ribbon_buttons(package)
    assert len(buttons) == 2
    for b in buttons:
        module, _, proc = b.get("onAction").partition(".")
        assert module in vba, f"no VBA module {module}"
        sub_body(vba[module], proc)


def runpython_command(body: str) -> str:
    m = re.search(r"^\s*RunPython\s+(.+?)\s*$", body, re.M)
    assert m, body
    return vba_concat(m.group(1), {})


def test_the_upload_button_runs_xl_ameyo_main(package, vba, monkeypatch):
    module, _, proc = button(package, "Upload leads").get("onAction").partition(".")
    command = runpython_command(sub_body(vba[module], proc))
    assert command == ENTRY_POINT == "import xl_ameyo;xl_ameyo.main()"

    # and that command reaches the add-in's entry point
    calls = []
    monkeypatch.setattr(xl_ameyo.excel.addin, "main", lambda: calls.append("main"))
    exec(command, {})
    assert calls == ["main"]


def test_the_check_results_button_runs_the_results_module(package, vba):
    module, _, proc = button(package, "Check results").get("onAction").partition(".")
    command = runpython_command(sub_body(vba[module], proc))
    assert command == RESULTS_ENTRY_POINT
    assert command == "import xl_ameyo.excel.results; xl_ameyo.excel.results.main()"


def test_the_buttons_say_what_to_do_when_no_workbook_is_open(package, vba):
    """RunPython reads ActiveWorkbook.FullName: with no workbook that is a VBA error. Each
    button asks first, and shows a message instead."""
    for b in ribbon_buttons(package):
        module, _, proc = b.get("onAction").partition(".")
        body = sub_body(vba[module], proc)
        guard = re.search(r'If\s+(\w+)\("([^"]+)"\)\s+Then\s+Exit\s+Sub', body)
        assert guard, body
        assert guard.group(2) == b.get("label")
        assert body.index(guard.group(0)) < body.index("RunPython")
        m = re.search(rf"Function\s+{guard.group(1)}\(\w+ As String\) As Boolean(.*?)"
                      r"End Function", vba[module], re.S)
        assert m
        check = m.group(1)
        assert re.search(r"If ActiveWorkbook Is Nothing Then", check)
        assert "MsgBox" in check and "Open the workbook" in check
        assert re.search(rf"{guard.group(1)} = True", check)


def test_the_templates_own_ribbon_macro_is_still_there(vba):
    module, _, proc = RIBBON_MACRO.partition(".")
    assert "RunPython" in sub_body(vba[module], proc)


def test_runpython_uses_the_interpreter_from_the_config_sheet(package, vba):
    xlwings_bas = vba["xlwings"]
    assert re.search(r"Public Function RunPython\(PythonCommand As String\)", xlwings_bas)
    assert 'GetConfig("INTERPRETER_WIN"' in xlwings_bas
    assert 'GetConfig("INTERPRETER_MAC"' in xlwings_bas
    project = re.search(r'PROJECT_NAME As String = "([^"]+)"', xlwings_bas).group(1)
    assert 'Sheets(PROJECT_NAME & ".conf")' in xlwings_bas
    # the config sheet the VBA reads is there (the template's "_myaddin.conf" is inactive)
    workbook = ET.fromstring(package["xl/workbook.xml"])
    names = [s.get("name") for s in workbook.iter(f"{MAIN_NS}sheet")]
    assert names == [f"{project}.conf"] == [CONFIG_SHEET]
    config = read_config(XLAM.read_bytes())
    assert config["Interpreter_Win"] == "" and config["Interpreter_Mac"] == ""
    assert config["UDF Modules"] == UDF_MODULES == "xl_ameyo.excel.udfs"
    assert config["Use UDF Server"] in ("0", "FALSE", "false")
    # the package is installed: the workbook's folder is not needed on sys.path (and for a
    # OneDrive/SharePoint workbook xlwings would fail looking for it before main() runs)
    assert config["ADD_WORKBOOK_TO_PYTHONPATH"] == "0"
    assert "ADD_WORKBOOK_TO_PYTHONPATH" in xlwings_bas


def test_the_config_rows_follow_each_other_from_a1(package):
    """xlwings reads the config from A1 down to the first empty cell (End(xlDown))."""
    sheet = ET.fromstring(package["xl/worksheets/sheet1.xml"])
    keys = {}
    for c in sheet.iter(f"{MAIN_NS}c"):
        column, row = re.match(r"([A-Z]+)(\d+)", c.get("r")).groups()
        if column == "A" and (c.find(f"{MAIN_NS}v") is not None or c.get("t") == "inlineStr"):
            keys[int(row)] = c
    assert sorted(keys) == list(range(1, len(keys) + 1))
    assert list(read_config(XLAM.read_bytes()))[-1] == "ADD_WORKBOOK_TO_PYTHONPATH"
    [b10] = [c for c in sheet.iter(f"{MAIN_NS}c") if c.get("r") == f"B{len(keys)}"]
    assert b10.get("t") == "b" and b10.find(f"{MAIN_NS}v").text == "0"  # FALSE


def test_only_the_ribbon_the_config_and_the_vba_project_differ_from_the_template(package):
    with zipfile.ZipFile(template_path()) as z:
        template = {name: z.read(name) for name in z.namelist()}
    if vba_version(template["xl/vbaProject.bin"]) != vba_version(package["xl/vbaProject.bin"]):
        pytest.skip("the installed xlwings is not the one the add-in was built from")
    assert list(package) == list(template)
    changed = {name for name in package if package[name] != template[name]}
    assert changed == {"customUI/customUI.xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml",
                       "xl/vbaProject.bin"}


def vba_version(vba_project: bytes) -> str:
    path = io.BytesIO(vba_project)
    parser = VBA_Parser("vbaProject.bin", data=path.getvalue())
    try:
        for _f, _s, _n, code in parser.extract_macros():
            m = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', code)
            if m:
                return m.group(1)
    finally:
        parser.close()
    return ""


def test_the_committed_addin_is_what_the_build_makes(package):
    if vba_version(package["xl/vbaProject.bin"]) != xlwings.__version__:
        pytest.skip(f"built with another xlwings than {xlwings.__version__}: rebuild it with "
                    "scripts/build_addin.py")
    fresh = build_xlam(template_path().read_bytes())
    assert fresh == XLAM.read_bytes()
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_addin.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_is_deterministic():
    template = template_path().read_bytes()
    assert build_xlam(template) == build_xlam(template)
    with zipfile.ZipFile(io.BytesIO(build_xlam(template))) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_interpreter_goes_into_the_config_sheet(tmp_path):
    python = r"C:\Users\Asha Rao\a&b <venv>\Scripts\python.exe"
    data = build_xlam(template_path().read_bytes(), {"Interpreter_Win": python})
    assert read_config(data)["Interpreter_Win"] == python
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        ET.fromstring(z.read("xl/worksheets/sheet1.xml"))  # still well-formed
    target = tmp_path / ADDIN_NAME
    target.write_bytes(data)
    assert vba_modules(target).keys() == vba_modules(XLAM).keys()


def test_the_build_refuses_a_template_without_a_ribbon():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InstallError, match="ribbon add-in template"):
        build_xlam(buffer.getvalue())
    with pytest.raises(InstallError, match="not a zip file") as info:
        build_xlam(b"not a zip")
    assert 'pip install "xl_ameyo[excel]"' in str(info.value)
