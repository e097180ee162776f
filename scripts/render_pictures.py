"""Render the README's pictures of a filled workbook with LibreOffice (headless).

Needs ``soffice`` (LibreOffice Calc) and ``pdftoppm`` (poppler) on the PATH; they are only for
refreshing these pictures, not for using or testing xl_ameyo. Builds a small demo workbook,
uploads it (dry run, then for real) to the simulator on loopback so its Log is filled, sets
print options on a copy (landscape, fit to width, grid and headings), prints it to PDF and
crops the Leads and Log pages into ``docs/img/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook

from xl_ameyo.demo import CC, LEAD, MAPPING, PROCESS
from xl_ameyo.demo_data import HEADERS, demo_leads
from xl_ameyo.simulator.server import SimulatorServer
from xl_ameyo.template import write_template

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"
WIDTHS = {"Leads": (26, 20, 20, 36, 16, 12, 12)}


def filled_book(folder: Path) -> Path:
    with SimulatorServer() as sim:
        settings = {"base_url": sim.url, "cc_list_id": CC, "process_id": PROCESS,
                    "lead_id": LEAD, "user_id": "supervisor", "username": sim.username}
        book = write_template(folder / "leads.xlsx", settings=settings, mapping=MAPPING,
                              headers=HEADERS, rows=demo_leads()[:16], text_columns=())
        env = dict(os.environ, AMEYO_PASSWORD=sim.password)
        for extra in (["--dry-run"], []):
            subprocess.run([sys.executable, "-m", "xl_ameyo", "upload", str(book), *extra],
                           env=env, check=True, stdout=subprocess.DEVNULL)
    return book


def printable_copy(book: Path) -> Path:
    wb = load_workbook(book)
    for ws in wb.worksheets:
        ws.page_setup.orientation = "landscape"
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.print_options.gridLines = ws.print_options.headings = True
        ws.page_margins.left = ws.page_margins.right = 0.2
        ws.page_margins.top = ws.page_margins.bottom = 0.2
    for col, width in zip("ABCDEFG", WIDTHS["Leads"], strict=True):
        wb["Leads"].column_dimensions[col].width = width
    log = wb["Log"]
    for cell in log[1]:
        log.column_dimensions[cell.column_letter].width = 12
    for col, width in (("A", 25), ("L", 19), ("O", 40), ("Q", 20)):
        log.column_dimensions[col].width = width
    copy = book.with_name("render.xlsx")
    wb.save(copy)
    return copy


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy = printable_copy(filled_book(folder))
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp,
                        str(copy)], check=True, stdout=subprocess.DEVNULL)
        pdf = folder / "render.pdf"
        crops = {"workbook-leads": ("1", "110", "1290", "340", "20"),
                 "workbook-log": ("4", "220", "2580", "110", "70")}
        for name, (page, dpi, width, height, top) in crops.items():
            subprocess.run(["pdftoppm", "-f", page, "-l", page, "-r", dpi, "-x", "0",
                            "-y", top, "-W", width, "-H", height, "-png", "-singlefile",
                            str(pdf), str(OUT / name)], check=True)
    print(f"pictures in {OUT}")


if __name__ == "__main__":
    main()
