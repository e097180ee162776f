"""Time the rules alone (``rules.check``) on a full sheet built in memory: 1,048,575 rows x 10
columns shaped like the benchmark book's, with a phone1 column that mixes numbers, typed text
and ``#N/A`` results (the shape that matters), so the rules' own cost is seen without a reader.

    python benchmarks/bench_rules.py [ROWS]

Prints the seconds of each of 3 runs and the peak memory of the process.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import pyarrow as pa

from xl_ameyo.columns import Column, Kind, SheetColumns
from xl_ameyo.mapping import resolve_mapping
from xl_ameyo.rules import check

HEADERS = ["Name", "Mobile", "Landline", "Email", "City", "Joined", "Called", "Amount",
           "Notes", "Id"]


def _text(values: list[str]) -> Column:
    n = len(values)
    return Column(kinds=np.full(n, Kind.TEXT, np.int8), text=pa.array(values, pa.string()))


def _numbers(x: np.ndarray, kind: Kind = Kind.NUMBER) -> Column:
    return Column(kinds=np.full(len(x), kind, np.int8), number=x.astype(np.float64))


def sheet(n: int) -> SheetColumns:
    i = np.arange(n)
    mobile = _numbers(9_000_000_000 + i)
    # every 1,000th mobile typed as text, every 5,000th an #N/A result: a mixed column
    typed = i[::1000]
    mobile.kinds[typed] = Kind.TEXT
    errors = i[7::5000]
    mobile.kinds[errors] = Kind.ERROR
    texts: list = [None] * n
    for k in typed.tolist():
        texts[k] = f"+91 {9_000_000_000 + k}"
    for k in errors.tolist():
        texts[k] = "#N/A"
    mobile.text = pa.array(texts, pa.string())
    mobile.number[i[::97]] = 12345.0  # some too short
    names = [f"Name {k}" if k % 7 else f"नाम {k}, जी" for k in range(n)]
    landline = [f"022-2345 {k % 10000:04d}" if k % 10 == 0 else f"0222345{k % 10000:04d}"
                for k in range(n)]
    columns = {
        0: _text(names),
        1: mobile,
        2: _text(landline),
        3: _text([f"lead{k}@example.com" for k in range(n)]),
        4: _text([f"City {k % 50}" for k in range(n)]),
        5: _numbers(40000.0 + i % 9000, Kind.DATE),
        6: _numbers(40000.0 + i % 9000 + (i % 86400) / 86400, Kind.DATETIME),
        7: _numbers((i % 100000) / 100),
        8: _text([f'said "yes", call at {k % 24}' if k % 4 == 0 else "" for k in range(n)]),
        9: _numbers(i.astype(np.float64)),
    }
    columns[8].kinds[np.arange(n) % 4 != 0] = Kind.EMPTY
    return SheetColumns(header=HEADERS, columns=columns, rows=n)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_048_575
    data = sheet(n)
    mapping = resolve_mapping(
        [["Ameyo field", "Sheet column"], ["name", "Name"], ["phone1", "Mobile"],
         ["phone2", "Landline"], ["email", "Email"], ["city", "City"], ["joined", "Joined"],
         ["called", "Called"], ["amount", "Amount"], ["notes", "Notes"], ["id", "Id"]],
        HEADERS)
    for run in range(3):
        began = time.perf_counter()
        checked = check(data, mapping)
        took = time.perf_counter() - began
        print(f"run {run + 1}: {took:.2f} s, {checked.rows_valid} valid, "
              f"{len(checked.invalid)} invalid")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
