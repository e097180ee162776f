"""The add-in's VBA project: the worksheet functions' wrappers (what makes =AMEYO_... exist in
Excel), read back with oletools, and the project's other parts kept as xlwings' template has
them (xl_ameyo.excel.wrappers, xl_ameyo.excel.vbaproject)."""

from __future__ import annotations

import inspect
import io
import re
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
from pyopenvba import ExcelFile
from pyopenvba.cfb import CFB
from pyopenvba.vba import decompress, parse_vba_project

import xl_ameyo.excel.udfs as udfs
from xl_ameyo.excel import wrappers
from xl_ameyo.excel.vbaproject import VBA_ENTRY, add_modules
from xl_ameyo.excel.wrappers import UDF_MODULE, VBA_MODULE_NAME, described_udfs, udf_module_source
from xl_ameyo.excel.xlam import ADDIN_NAME, RIBBON_MODULE, build_xlam, template_path

with warnings.catch_warnings():  # oletools' use of pyparsing's old names
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser

ROOT = Path(__file__).resolve().parent.parent
XLAM = ROOT / "workbook" / ADDIN_NAME


def vba_code(path_or_bytes) -> dict[str, str]:
    """Module name (VB_Name) -> source, read with oletools."""
    if isinstance(path_or_bytes, bytes):
        parser = VBA_Parser("addin.xlam", data=path_or_bytes)
    else:
        parser = VBA_Parser(str(path_or_bytes))
    try:
        out = {}
        for _f, _s, _n, code in parser.extract_macros():
            m = re.search(r'Attribute VB_Name = "([^"]+)"', code)
            if m:
                out[m.group(1)] = code
        return out
    finally:
        parser.close()


def xlfuncs() -> list[str]:
    """Every ``@xw.func`` of udfs.py (read from its source: off Windows the decorator does
    nothing at run time)."""
    source = Path(udfs.__file__).read_text(encoding="utf-8")
    return re.findall(r"^@xw\.func\b[^\n]*\n(?:@[^\n]*\n)*def (\w+)\(", source, re.M)


def check_udf_module(code: dict[str, str]) -> None:
    names = xlfuncs()
    assert len(names) == 5
    module = code[VBA_MODULE_NAME]
    for name in names:
        func = getattr(udfs, name)
        params = list(inspect.signature(func).parameters.values())
        m = re.search(rf"^Function {name}\((.*?)\)\s*$(.*?)^End Function", module, re.M | re.S)
        assert m, f"no Function {name} in the add-in"
        declared = [p.strip() for p in m.group(1).split(",")]
        assert declared == [("Optional " if p.default is not p.empty else "") + p.name
                            for p in params]
        body = m.group(2)
        call = (f'{name} = XLPy.CallUDF("{UDF_MODULE}", "{name}", '
                f"Array({', '.join(p.name for p in params)}), ActiveWorkbook, Application.Caller)")
        assert call in body
    assert set(re.findall(r"^Function (\w+)\(", module, re.M)) == set(names)


@pytest.fixture(scope="module")
def code() -> dict[str, str]:
    return vba_code(XLAM)


@pytest.fixture(scope="module")
def same_xlwings(code):
    """The committed add-in was built from the installed xlwings' template (else the tests
    that compare the two say nothing: rebuild with scripts/build_addin.py)."""
    import xlwings

    if f'XLWINGS_VERSION As String = "{xlwings.__version__}"' not in code["xlwings"]:
        pytest.skip(f"the committed add-in was built with another xlwings than "
                    f"{xlwings.__version__}")


def test_every_worksheet_function_is_a_vba_function_of_the_committed_addin(code):
    check_udf_module(code)


def test_the_wrappers_are_xlwings_generators_text(code, same_xlwings):
    """What xlwings' ImportPythonUDFsToAddin would import: generate_vba_wrapper's text."""
    assert code[VBA_MODULE_NAME] == udf_module_source()
    import xlwings

    with wrappers._xlwings_udfs() as xlwings_udfs, described_udfs() as module:
        out = io.StringIO()

        class Book:
            Name = ADDIN_NAME

        xlwings_udfs.generate_vba_wrapper(UDF_MODULE, module, out, Book())
        assert xlwings.func is not xlwings_udfs.xlfunc  # put back already
    generated = out.getvalue().replace("\n", "\r\n")
    assert code[VBA_MODULE_NAME].endswith(generated)
    assert code[VBA_MODULE_NAME].startswith(f'Attribute VB_Name = "{VBA_MODULE_NAME}"\r\n')
    assert "ThisWorkbook" not in generated  # an add-in's wrappers pass the active workbook


def test_generating_leaves_no_stand_ins_and_xlwings_as_it_was():
    import xlwings

    before = (xlwings.func, xlwings.arg, xlwings.ret, "xlwings.udfs" in sys.modules,
              "pythoncom" in sys.modules, "win32com" in sys.modules)
    udf_module_source()
    after = (xlwings.func, xlwings.arg, xlwings.ret, "xlwings.udfs" in sys.modules,
             "pythoncom" in sys.modules, "win32com" in sys.modules)
    assert before == after
    assert not hasattr(udfs.AMEYO_PHONE, "__xlfunc__") or sys.platform == "win32"


def test_the_descriptions_say_task_status_runs_in_the_background():
    with described_udfs() as module:
        assert module.AMEYO_TASK_STATUS.__xlfunc__["async_mode"] == "threading"
        assert module.AMEYO_PHONE.__xlfunc__["async_mode"] is None


# --- the VBA project as a whole --------------------------------------------------------------


def project_parts(xlam: bytes) -> CFB:
    with zipfile.ZipFile(io.BytesIO(xlam)) as z:
        return CFB.from_bytes(z.read(VBA_ENTRY))


@pytest.fixture(scope="module")
def before_after(same_xlwings):
    return project_parts(template_path().read_bytes()), project_parts(XLAM.read_bytes())


def test_the_templates_modules_and_references_are_kept_byte_for_byte(before_after):
    old, new = before_after
    old_streams = set(old.list_streams_in_storage("VBA"))
    new_streams = set(new.list_streams_in_storage("VBA"))
    assert new_streams - old_streams == {VBA_MODULE_NAME, RIBBON_MODULE}
    assert old_streams <= new_streams
    for name in old_streams - {"dir", "_VBA_PROJECT"}:
        assert new.get_stream_in_storage("VBA", name) == old.get_stream_in_storage("VBA", name)
    # the dir stream: project information and references unchanged, modules appended
    old_project, new_project = parse_vba_project(old), parse_vba_project(new)
    cut = old_project.dir_modules_offset
    assert new_project.dir_raw[:cut] == old_project.dir_raw[:cut]
    assert [m.name for m in new_project.modules] == [
        *[m.name for m in old_project.modules], VBA_MODULE_NAME, RIBBON_MODULE]


def test_the_project_keeps_its_references(same_xlwings):
    def refs(path):
        with ExcelFile(path) as book:
            return [(r.name, r.kind, r.libid) for r in book.references()]

    assert refs(XLAM) == refs(template_path())
    assert {name for name, _k, _l in refs(XLAM)} >= {"Office"}  # IRibbonControl is in there


def test_excel_compiles_every_module_from_source(before_after):
    """[MS-OVBA] 1.6: performance caches and p-code are used only when _VBA_PROJECT's version
    is the running Office's; 0xFFFF (what writers must put there) makes Office compile the
    source. The new modules carry no p-code at all (their source starts at offset 0)."""
    _old, new = before_after
    stream = new.get_stream_in_storage("VBA", "_VBA_PROJECT")
    reserved1, version, reserved2 = struct.unpack_from("<HHB", stream)
    assert (reserved1, version, reserved2) == (0x61CC, 0xFFFF, 0)
    assert len(stream) == 7  # no PerformanceCache
    assert not [s for s in new.list_streams_in_storage("VBA") if s.startswith("__SRP_")]
    modules = {m.name: m for m in parse_vba_project(new).modules}
    for name in (VBA_MODULE_NAME, RIBBON_MODULE):
        assert modules[name].text_offset == 0
        assert modules[name].cookie == 0xFFFF  # as [MS-OVBA] has writers write it


def test_the_dir_and_project_streams_end_as_excel_writes_them(before_after):
    old, new = before_after
    assert decompress(new.get_stream_in_storage("VBA", "dir")).endswith(
        b"\x2b\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00")  # module end, then dir end
    text = new.get_stream("PROJECT").decode("cp1252")
    old_text = old.get_stream("PROJECT").decode("cp1252")
    assert text.endswith("\r\n\r\n") and old_text.endswith("\r\n\r\n")
    assert f"Module={VBA_MODULE_NAME}\r\nModule={RIBBON_MODULE}\r\n" in text
    workspace = text.split("[Workspace]\r\n")[1].rstrip("\r\n").split("\r\n")
    assert all("=" in line for line in workspace)  # no blank line inside
    assert [line.split("=")[0] for line in workspace][-2:] == [VBA_MODULE_NAME, RIBBON_MODULE]
    # every line of the template's PROJECT stream is still there, in its order
    assert [line for line in old_text.split("\r\n") if line] == [
        line for line in text.split("\r\n")
        if line and not line.startswith((f"Module={VBA_MODULE_NAME}", f"Module={RIBBON_MODULE}",
                                         f"{VBA_MODULE_NAME}=", f"{RIBBON_MODULE}="))]


def test_pyopenvba_finds_nothing_wrong_with_the_project():
    with ExcelFile(XLAM) as book:
        assert book.validate() == []
        assert book.module_names()[-2:] == [VBA_MODULE_NAME, RIBBON_MODULE]


def test_adding_a_module_twice_is_refused():
    with pytest.raises(ValueError, match="already exists"):
        add_modules(XLAM.read_bytes(), {VBA_MODULE_NAME: 'Attribute VB_Name = "x"\r\n'})


def test_a_fresh_build_reads_back_the_same_way():
    fresh = build_xlam(template_path().read_bytes(), {"Interpreter_Win": r"C:\Python\python.exe"})
    check_udf_module(vba_code(fresh))
