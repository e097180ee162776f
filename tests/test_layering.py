"""One core, thin fronts: the pipeline loads no Excel library, no workbook writer, no CLI."""

from __future__ import annotations

import subprocess
import sys

CORE = ("settings", "mapping", "cells", "columns", "rules", "csv_export", "logrecord",
        "client", "credentials", "pipeline", "phones", "guess", "taskstatus", "report", "ledger",
        "booklock", "interrupts", "sending", "connection")
FRONTS = ("openpyxl", "xlwings", "click", "xl_ameyo.cli", "xl_ameyo.xlsx", "xl_ameyo.excel")


def test_core_modules_import_no_front():
    code = (
        "import sys\n"
        + "".join(f"import xl_ameyo.{name}\n" for name in CORE)
        + f"print(sorted(m for m in {FRONTS!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_importing_the_package_stays_light():
    code = "import sys, xl_ameyo\nprint('xlwings' in sys.modules, callable(xl_ameyo.main))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "True"]
