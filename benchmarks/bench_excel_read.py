"""How to read a big sheet from a live Excel: timings on a machine WITH Excel (Windows/macOS).

    python benchmarks/bench_excel_read.py BOOK.xlsx [--sheet Leads] [--block 50000]

Not run by ``make bench`` (it needs desktop Excel; the benchmark machine has none). It opens
BOOK in Excel through xlwings and times, each once, in this order:

1. ``bulk``: the whole used range in one ``.options(ndim=2, err_to_str=True).value`` (xlwings
   0.37 itself splits reads above 4,000,000 cells into calls of that many cells);
2. ``blocks``: what the add-in does (``xl_ameyo.excel.source.read_used_range``): one bulk
   read per block of ``--block`` rows;
3. ``copy`` (Windows): ``Workbook.SaveCopyAs`` to a temporary file (Excel writes the whole
   book), then the headless reader's ``stream_columns`` over it (only for .xlsx/.xlsm books:
   a copy keeps the book's own file format).

For each: seconds, and this process's resident memory growth (Excel's own memory is not
counted). ``core_rows`` (xlwings values -> core values) is included in 1 and 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _rss() -> int:
    try:
        import psutil  # not a dependency: present on most analyst machines with xlwings

        return psutil.Process().memory_info().rss
    except ImportError:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("book", type=Path)
    parser.add_argument("--sheet", default="Leads")
    parser.add_argument("--block", type=int, default=50_000)
    args = parser.parse_args()

    import xlwings as xw

    from xl_ameyo.excel import source
    from xl_ameyo.gcpause import gc_paused
    from xl_ameyo.xlsx.reader import XlsxBook

    app = xw.App(visible=False)
    try:
        book = app.books.open(str(args.book.resolve()))
        sheet = book.sheets[args.sheet]
        height, width = sheet.used_range.shape
        print(f"{args.book.name}: sheet {args.sheet}, used range {height:,} x {width} cells")

        def timed(name, run):
            base = _rss()
            started = time.perf_counter()
            with gc_paused():
                result = run()
            seconds = time.perf_counter() - started
            grown = (_rss() - base) / 1e6 if base else float("nan")
            print(f"{name:7s} {seconds:7.2f} s   memory +{grown:,.0f} MB")
            return result

        def bulk():
            rng = sheet.used_range
            return source.core_rows(rng.options(ndim=2, err_to_str=True).value)

        def blocks():
            source.READ_BLOCK_ROWS = args.block
            return source.read_used_range(sheet)

        rows = timed("bulk", bulk)
        del rows
        rows = timed("blocks", blocks)
        del rows
        if sys.platform == "win32" and args.book.suffix.lower() in (".xlsx", ".xlsm"):
            with tempfile.TemporaryDirectory(prefix="xl-ameyo-copy-") as tmp:
                copy = os.path.join(tmp, "copy" + args.book.suffix.lower())

                def saved_copy():
                    book.api.SaveCopyAs(copy)
                    stream = XlsxBook(copy).stream_columns(args.sheet)
                    return sum(len(block[0]) for block, _ in stream.blocks if block)

                timed("copy", saved_copy)
        else:
            print("copy    (skipped: Windows only, and a copy keeps the book's format)")
        book.close()
    finally:
        app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
