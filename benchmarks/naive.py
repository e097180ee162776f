"""The naive route: ``pandas.read_excel(...).to_csv(...)``.

    .venv/bin/python benchmarks/naive.py BOOK.xlsx OUT.csv [--sheet Leads]

What a quick script does (pandas' default engine for .xlsx, openpyxl). It is slow, and it
changes the data: a text phone ``05566000001`` becomes the number ``5566000001``, and a number
column with one empty cell becomes floats (``9000000001.0``).
"""

from __future__ import annotations

import argparse

import pandas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("book")
    parser.add_argument("out")
    parser.add_argument("--sheet", default="Leads")
    args = parser.parse_args()
    frame = pandas.read_excel(args.book, sheet_name=args.sheet)
    frame.to_csv(args.out, index=False)
    print(len(frame))


if __name__ == "__main__":
    main()
