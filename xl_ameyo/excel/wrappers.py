"""The VBA module of worksheet-function wrappers, as xlwings' "Import Functions" writes it.

Excel only calls a worksheet function that a VBA module of the workbook (or of an add-in)
declares. xlwings writes that module itself: its ribbon's *Import Functions*
(``ImportPythonUDFsToAddin``) runs ``xlwings.udfs.import_udfs``, which writes a module named
``xlwings_udfs``: three header lines, then, for every ``@xw.func`` of each module listed in
``UDF Modules``, the text of ``xlwings.udfs.generate_vba_wrapper`` (a ``Function`` that hands
its arguments to ``XLPy.CallUDF``, the template's UDF server). :func:`udf_module_source` makes
the same text without Excel, so the add-in carries the functions from the start.

Two things stand in the way on a machine without Excel, and are worked around here only for the
time of the call:

- ``xlwings.udfs`` imports pywin32 (``pythoncom``, ``pywintypes``, ``win32com``) at import time.
  Where pywin32 is missing (macOS, Linux: building the add-in there), empty stand-in modules are
  put into ``sys.modules`` for the import, and taken out again afterwards. Nothing of pywin32 is
  called by the generator.
- Off Windows, ``xw.func``/``xw.arg`` do nothing (xlwings has no desktop UDFs there), so the
  functions of :mod:`xl_ameyo.excel.udfs` carry no ``__xlfunc__`` description. A private copy of
  that module is loaded with xlwings' real decorators (``xlwings.udfs.xlfunc``/``xlarg``/
  ``xlret``) in place of ``xw.func``/``xw.arg``/``xw.ret``, which are put back afterwards.

The generator only reads the workbook's ``Name`` (an add-in, ``.xlam``, gets ``ActiveWorkbook``
instead of ``ThisWorkbook`` in the wrappers), so it is handed an object with just that name.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import types
from collections.abc import Iterator
from types import SimpleNamespace

__all__ = ["UDF_MODULE", "VBA_MODULE_NAME", "described_udfs", "udf_module_source"]

#: the Python module the wrappers call (the config sheet's ``UDF Modules``)
UDF_MODULE = "xl_ameyo.excel.udfs"
#: the VBA module's name, as xlwings' import writes it (a later Import Functions replaces it)
VBA_MODULE_NAME = "xlwings_udfs"
_PYWIN32 = ("pythoncom", "pywintypes", "win32api", "win32con", "win32com", "win32com.client")
_PRIVATE = "_xl_ameyo_udfs_described"


def _stand_in(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__doc__ = "an empty stand-in for pywin32, while xlwings' UDF generator is imported"

    def __getattr__(attr: str):  # anything asked for is a do-nothing callable
        if attr.startswith("__"):
            raise AttributeError(attr)
        return lambda *args, **kwargs: None

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


@contextlib.contextmanager
def _xlwings_udfs() -> Iterator[types.ModuleType]:
    """``xlwings.udfs``, importable here; ``sys.modules`` and ``xlwings`` as before afterwards."""
    import xlwings

    had_udfs = "xlwings.udfs" in sys.modules
    stubbed: list[str] = []
    try:
        import pythoncom  # noqa: F401  (Windows with pywin32: the real thing)
    except ImportError:
        for name in _PYWIN32:
            if name not in sys.modules:
                sys.modules[name] = _stand_in(name)
                stubbed.append(name)
        if "win32com.client" in stubbed:
            sys.modules["win32com"].client = sys.modules["win32com.client"]  # type: ignore[attr-defined]
    had_attr = hasattr(xlwings, "udfs")
    try:
        yield importlib.import_module("xlwings.udfs")
    finally:
        if not had_udfs:
            sys.modules.pop("xlwings.udfs", None)
            if not had_attr and hasattr(xlwings, "udfs"):
                delattr(xlwings, "udfs")
        for name in stubbed:
            sys.modules.pop(name, None)


@contextlib.contextmanager
def described_udfs() -> Iterator[types.ModuleType]:
    """A private copy of :mod:`xl_ameyo.excel.udfs` whose functions carry xlwings'
    ``__xlfunc__`` descriptions (what the UDF server reads: arguments, their options,
    ``async_mode``), on any system."""
    import xlwings

    with _xlwings_udfs() as udfs:
        saved = {name: getattr(xlwings, name, None) for name in ("func", "arg", "ret")}
        spec = importlib.util.find_spec(UDF_MODULE)
        if spec is None or spec.origin is None:  # pragma: no cover - the package is broken
            raise ImportError(f"cannot find {UDF_MODULE}")
        copy = importlib.util.spec_from_file_location(_PRIVATE, spec.origin)
        assert copy is not None and copy.loader is not None
        module = importlib.util.module_from_spec(copy)
        sys.modules[_PRIVATE] = module  # as an import would (dataclasses look it up there)
        try:
            xlwings.func, xlwings.arg, xlwings.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
            copy.loader.exec_module(module)
        finally:
            for name, value in saved.items():
                setattr(xlwings, name, value)
            sys.modules.pop(_PRIVATE, None)
        yield module


def udf_module_source(workbook_name: str = "xl_ameyo.xlam") -> str:
    """The text of the ``xlwings_udfs`` VBA module for :data:`UDF_MODULE`, as xlwings'
    ``import_udfs`` writes it for a workbook called ``workbook_name`` (lines end in CRLF, as
    VBA keeps them)."""
    with _xlwings_udfs() as udfs, described_udfs() as module:
        from xlwings.utils import VBAWriter

        out = io.StringIO()
        vba = VBAWriter(out)
        # import_udfs' first three lines (the rest of that function needs a running Excel)
        vba.writeln(f'Attribute VB_Name = "{VBA_MODULE_NAME}"')
        vba.writeln("'Autogenerated code by xlwings - changes will be lost with next import!")
        vba.writeln("""#Const App = "Microsoft Excel" 'Adjust when using outside of Excel""")
        udfs.generate_vba_wrapper(UDF_MODULE, module, out, SimpleNamespace(Name=workbook_name))
    return out.getvalue().replace("\r\n", "\n").replace("\n", "\r\n")
