"""Standard modules added to an add-in's VBA project (``xl/vbaProject.bin``) without Excel.

*Library.* The project is an MS-OVBA structure inside a compound file: compressed module
streams, a ``dir`` stream that lists the modules and the references, the ``PROJECT`` text
stream. Two pure-Python libraries write it:

- ``ms-ovba`` builds a *new* ``vbaProject.bin`` from source files. Rebuilding xlwings'
  template that way would mean re-declaring its references (Office, MSForms) and re-encoding
  its five modules (one a class, two documents): more to get wrong, and nothing kept as Excel
  wrote it. It is also at version 0.0.1.
- ``pyopenvba`` edits an existing project: ``add_module`` appends a stream and its ``dir`` and
  ``PROJECT``/``PROJECTwm`` entries, keeps the references section of ``dir`` and every other
  stream byte for byte, and its ``save`` rewrites only ``xl/vbaProject.bin`` in the package
  (checked in tests/test_excel_addin_package.py). Chosen: it does exactly this edit.

*Recompiling.* Excel uses a project's compiled forms (the ``_VBA_PROJECT`` performance cache,
the ``__SRP_*`` streams, the p-code at the start of each module stream) only when
``_VBA_PROJECT``'s version is the running Office's own; [MS-OVBA] §1.6 and §2.3.4.1 have
writers put 0xFFFF there, so that Office compiles every module from its source. xlwings'
template is written that way already. pyopenvba drops ``__SRP_*`` streams and zeroes the cache
body but keeps the version it found; :func:`add_modules` writes the stream in the form the
specification gives (7 bytes, version 0xFFFF, no cache) whatever the template had, so no
compiled state can outlive the edit.

*Two details of pyopenvba's writer are put back to what Excel writes* (Excel would most likely
accept them as they are, but nothing here can try): the ``dir`` stream ends with the 6-byte
terminator (pyopenvba adds 4 more zero bytes), and the ``PROJECT`` stream's ``[Workspace]``
lines stay together with the blank line last (pyopenvba puts the new lines after it).
"""

from __future__ import annotations

import io
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["VBA_ENTRY", "VBA_PROJECT_STREAM", "add_modules"]

VBA_ENTRY = "xl/vbaProject.bin"
#: [MS-OVBA] 2.3.4.1 as written: Reserved1 0x61CC, Version 0xFFFF, Reserved2 0x00, Reserved3
#: (its example's 0x0001), no PerformanceCache
VBA_PROJECT_STREAM = b"\xcc\x61\xff\xff\x00\x01\x00"
_DIR_END = b"\x10\x00\x00\x00\x00\x00"  # Terminator 0x0010, Reserved 0x00000000


def _tidy(project_bin: bytes, added: list[str]) -> bytes:
    """The spec's ``_VBA_PROJECT``, and pyopenvba's two departures from Excel's form undone."""
    from pyopenvba.cfb import CFB
    from pyopenvba.vba import compress, decompress

    cfb = CFB.from_bytes(project_bin)
    cfb.write_stream_in_storage("VBA", "_VBA_PROJECT", VBA_PROJECT_STREAM)

    directory = decompress(cfb.get_stream_in_storage("VBA", "dir"))
    if directory.endswith(_DIR_END + b"\x00" * 4):
        cfb.write_stream_in_storage("VBA", "dir", compress(directory[:-4]))

    project = cfb.get_stream("PROJECT")
    lines = [f"{name}=0, 0, 0, 0, C".encode("ascii") for name in added]
    tail = b"\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
    if lines and project.endswith(tail):
        fixed = project[: -len(tail)] + b"\r\n" + b"\r\n".join(lines) + b"\r\n\r\n"
        cfb.write_stream("PROJECT", fixed)
    return cfb.to_bytes()


def add_modules(package: bytes, modules: Mapping[str, str]) -> bytes:
    """The ``xl/vbaProject.bin`` of the ``.xlam`` ``package`` with the standard ``modules``
    (name -> source, starting with its ``Attribute VB_Name`` line) added. ValueError when the
    project already has a module of that name or pyopenvba refuses the edit."""
    from pyopenvba import ExcelFile
    from pyopenvba.exceptions import PyOpenVBAError

    with tempfile.TemporaryDirectory(prefix="xl_ameyo-build-") as tmp:
        source, target = Path(tmp) / "in.xlam", Path(tmp) / "out.xlam"
        source.write_bytes(package)
        try:
            with ExcelFile(source) as book:
                project = book.vba_project()
                for name, text in modules.items():
                    # MODULECOOKIE: "MUST be 0xFFFF on write" ([MS-OVBA] 2.3.4.2.3.2.9);
                    # pyopenvba leaves 0 (readers ignore it)
                    project.add_module(name, text).cookie = 0xFFFF
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # a dropped signature: refuse, do not warn
                    book.save(target)
        except (PyOpenVBAError, UserWarning) as exc:
            raise ValueError(f"cannot add the VBA modules: {exc}") from None
        with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as z:
            project_bin = z.read(VBA_ENTRY)
    return _tidy(project_bin, list(modules))
