"""The floor: a sheet to CSV as fast as Python can, doing none of xl_ameyo's checks.

    .venv/bin/python benchmarks/floor.py BOOK.xlsx OUT.csv [--sheet Leads]

fastexcel (calamine in Rust) -> Arrow with every column as a string -> pyarrow's CSV writer
(C++). No error cells (fastexcel makes them null), no date kinds (a date is written
``2020-01-02 00:00:00``), no phone checks, no duplicates, no upload, no Log: the time any
Python tool needs at least to turn this sheet into a CSV on this machine.
"""

from __future__ import annotations

import argparse

import fastexcel
import pyarrow.csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("book")
    parser.add_argument("out")
    parser.add_argument("--sheet", default="Leads")
    args = parser.parse_args()
    batch = fastexcel.read_excel(args.book).load_sheet(args.sheet, dtypes="string", eager=True)
    pyarrow.csv.write_csv(batch, args.out)
    print(batch.num_rows)


if __name__ == "__main__":
    main()
