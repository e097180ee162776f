"""Build ``workbook/xl_ameyo.xlam`` from xlwings' ribbon add-in template, reproducibly.

    .venv/bin/python scripts/build_addin.py            # write workbook/xl_ameyo.xlam
    .venv/bin/python scripts/build_addin.py --check    # exit 1 if the committed file differs

The template is the installed xlwings' ``quickstart_addin_ribbon.xlam`` (what ``xlwings
quickstart NAME --addin --ribbon`` copies); what is changed is described in
:mod:`xl_ameyo.excel.xlam`. The committed add-in leaves the interpreter empty (``python`` on
the PATH); ``xl-ameyo addin install`` builds the same file with the installing Python written
in. With oletools installed, the template's VBA is checked first: what the added modules call
(``RunPython``, ``XLPy``) and the project name the config sheet's name follows must be there.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xl_ameyo.errors import XlAmeyoError  # noqa: E402
from xl_ameyo.excel.xlam import (  # noqa: E402
    ADDIN_NAME,
    PROJECT_NAME,
    build_xlam,
    template_path,
)

OUT = ROOT / "workbook" / ADDIN_NAME


def check_template_vba(template: Path) -> list[str]:
    """What is wrong with the template's VBA for this build (empty: fine; oletools needed)."""
    try:
        from oletools.olevba import VBA_Parser
    except ImportError:
        return []
    parser = VBA_Parser(str(template))
    try:
        code = {name: text for _f, _s, name, text in parser.extract_macros()}
    finally:
        parser.close()
    problems = []
    xlwings_bas = code.get("xlwings.bas", "")
    if not re.search(r"^Public Function RunPython\(PythonCommand As String\)", xlwings_bas, re.M):
        problems.append("module xlwings has no Public Function RunPython(PythonCommand As String)")
    if not re.search(r"^Function XLPy\(\)", xlwings_bas, re.M):
        problems.append("module xlwings has no Function XLPy() (the UDF wrappers call it)")
    if f'PROJECT_NAME As String = "{PROJECT_NAME}"' not in xlwings_bas:
        problems.append(f'the VBA project is not called "{PROJECT_NAME}"')
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT}")
    args = parser.parse_args()

    try:
        template = template_path()
        problems = check_template_vba(template)
        if problems:
            for problem in problems:
                print(f"error: {template}: {problem}", file=sys.stderr)
            return 2
        data = build_xlam(template.read_bytes())
    except XlAmeyoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.check:
        same = args.out.is_file() and args.out.read_bytes() == data
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from a fresh build'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes) from {template}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
