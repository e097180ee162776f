"""The performance benchmark (``make bench``): xl-ameyo at Excel's full size, side by side.

    .venv/bin/python benchmarks/run.py [--rows 1048575] [--rounds 3] [--naive-rows 100000]
                                       [--cache DIR] [--json OUT.json] [--profile]

Needs the ``bench`` extra (``pip install -e '.[dev,bench]'``: fastexcel, pyarrow, pandas,
pyinstrument). What it does:

1. generates (once, cached in ``--cache``) a book of ``--rows`` leads x 10 columns with
   Settings and Mapping (benchmarks/bigbook.py), the same with columns that mix numbers,
   typed text and error results (``bigbook.py --mixed``: a mixed phone1 as real sheets have),
   and one of ``--naive-rows`` leads;
2. starts the discard endpoint (benchmarks/discard_server.py) in its own process: Ameyo's
   upload URL, streaming the body through a multipart parser and keeping only its size,
   SHA-256 and line count (the simulator stores whole uploads; this measures the client);
3. runs, ALTERNATING for ``--rounds`` rounds (floor first in odd rounds, ours first in even
   ones; the plain book, then the mixed one), each in its own process, timed from start to
   exit, peak memory from the kernel (``os.wait4``'s ``ru_maxrss`` of that process):

   - **floor**: fastexcel -> Arrow (string columns) -> pyarrow's CSV writer (no checks at
     all: the least any Python tool needs to turn this sheet into a CSV);
   - **ours**: ``xl-ameyo upload BOOK`` end to end: read, check, CSV, upload to the discard
     endpoint on loopback, Log row written back into BOOK (a fresh copy each round);
     checked afterwards: exit 0, the server got ``rows_sent`` rows and the CSV whose SHA-256
     the Log row names;

4. the naive route ``pandas.read_excel(...).to_csv(...)`` on the small book (once, it is
   slow), ours on the same book, and a few values of both CSVs side by side;
5. reading the big sheet vs writing the Log row into the big book, alone, in one process;
6. prints the machine, a table and the ratios; ``--json`` also saves them. ``--profile``
   adds one run of ours under pyinstrument (its text report is saved next to the books).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

import bigbook  # noqa: E402  (benchmarks/ is not a package)

MB = 1e6
USER, PASSWORD = "bench", "bench-pass"
LIBRARIES = ("python-calamine", "fastexcel", "pyarrow", "pandas", "openpyxl", "requests",
             "requests-toolbelt", "uvicorn", "starlette", "python-multipart")


# --- measuring one process -------------------------------------------------------------------


def measured(cmd: list[str], *, env: dict | None = None, label: str = "") -> dict:
    """Run ``cmd``; its wall time, peak resident memory (bytes), exit status and output.

    The peak is the child's ``ru_maxrss``, which on Linux also counts what the child was at
    the fork, before its exec: this process keeps small while it measures."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = {
            "label": label,
            "seconds": seconds,
            # ru_maxrss: KiB on Linux, bytes on macOS
            "peak_rss": usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024),
            "returncode": proc.returncode,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
        }
    if result["returncode"] != 0:
        raise SystemExit(f"{label} failed (exit {result['returncode']}):\n"
                         f"{result['stdout']}\n{result['stderr']}")
    return result


# --- the machine -----------------------------------------------------------------------------


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return {
        "cpu": cpu,
        "cores": usable,
        "ram_gb": round(ram / 2**30, 1) if ram else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "libraries": versions,
    }


# --- the runs --------------------------------------------------------------------------------


class DiscardServer:
    """benchmarks/discard_server.py in its own process."""

    def __enter__(self) -> DiscardServer:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "discard_server.py"), "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("listening on "):
            self.proc.kill()
            raise SystemExit(f"the discard server did not start: {line!r}")
        self.url = line.split()[-1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def received(self) -> list[dict]:
        import requests

        return requests.get(f"{self.url}/_stats", timeout=30).json()


def run_floor(book: Path, work: Path) -> dict:
    out = work / "floor.csv"
    result = measured([sys.executable, str(HERE / "floor.py"), str(book), str(out)],
                      label="floor")
    result["rows"] = int(result["stdout"].split()[-1])
    out.unlink()
    return result


def _log_rows(book: Path) -> list[list]:
    from xl_ameyo.xlsx.reader import XlsxBook

    reader = XlsxBook(book)
    return reader.read_sheet(reader.find_sheet("Log") or "Log")


def run_ours(master: Path, work: Path, server: DiscardServer, *, profile: Path | None = None
             ) -> dict:
    book = work / "ours.xlsx"
    bigbook.with_settings(master, book, server.url)
    env = {**os.environ, "AMEYO_USERNAME": USER, "AMEYO_PASSWORD": PASSWORD}
    before = len(server.received())
    # every round sends the same rows: the upload ledger would refuse the second
    cmd = [sys.executable, "-m", "xl_ameyo", "upload", str(book), "--allow-reupload"]
    if profile is not None:
        cmd = [sys.executable, "-m", "pyinstrument", "-o", str(profile), *cmd[1:]]
    result = measured(cmd, env=env, label="ours")
    # the upload really happened, with the rows and the bytes the Log row says
    log = _log_rows(book)
    header, last = log[0], log[-1]
    record = dict(zip(header, last, strict=False))
    if record.get("status") != "OK":
        raise SystemExit(f"ours: the Log row says {record}")
    got = server.received()[before:]
    if len(got) != 1:
        raise SystemExit(f"ours: the server received {len(got)} uploads")
    [file] = got[0]["files"]
    rows_sent = int(record["rows_sent"])
    if file["sha256"] != record["csv_sha256"] or file["lines"] != rows_sent + 1:
        raise SystemExit(f"ours: the server got {file}, the Log says {record}")
    result["rows"] = rows_sent + int(record["rows_skipped"])
    result["rows_sent"] = rows_sent
    result["csv_bytes"] = file["size"]
    book.unlink()
    return result


def run_naive(book: Path, work: Path) -> dict:
    out = work / "naive.csv"
    result = measured([sys.executable, str(HERE / "naive.py"), str(book), str(out)],
                      label="naive")
    result["rows"] = int(result["stdout"].split()[-1])
    result["csv"] = out
    return result


def our_csv(book: Path, out: Path) -> None:
    """The CSV our pipeline sends for ``book`` (what ``upload`` streams), in this process."""
    from xl_ameyo import pipeline
    from xl_ameyo.csv_export import write_csv
    from xl_ameyo.xlsx.reader import XlsxBook

    source = XlsxBook(book)
    with source.reading():
        plan = pipeline.plan_upload(source)
    with open(out, "wb") as f:
        write_csv(plan.checked, f)


def compare_values(book: Path, naive_csv: Path, work: Path) -> list[dict]:
    """A few cells: what the sheet holds, our CSV, pandas' CSV."""
    ours_csv = work / "ours-small.csv"
    our_csv(book, ours_csv)
    with open(ours_csv, encoding="utf-8", newline="") as f:
        ours = {r["Email"]: r for r in csv.DictReader(f)}
    with open(naive_csv, encoding="utf-8", newline="") as f:
        naive = {r["Email"]: r for r in csv.DictReader(f)}
    picks = [(1, "Mobile", "the number 9000000001"),
             (1, "Landline", "the text 05566000001"),
             (5, "Landline", "the text 027-2005 0005"),
             (1, "Amount", "the number 0.37"),
             (0, "Amount", "the number 0"),
             (99_997, "Mobile", "9000099996, as in the row above"),
             (99_998, "Mobile", "the number 12345 (too short)"),
             (99_999, "Mobile", "empty")]
    rows = []
    for i, column, sheet in picks:
        key = f"lead{i}@example.com"
        if key not in naive:
            continue
        rows.append({
            "row": i + 2, "column": column, "sheet": sheet,
            "ours": ours[key][column] if key in ours else "(not sent: invalid row)",
            "pandas": naive[key][column],
        })
    ours_csv.unlink()
    return rows


def log_vs_read(book: Path, work: Path) -> dict:
    """Reading the data sheet vs appending the Log row, on the big book, in one process."""
    copy = work / "logtime.xlsx"
    shutil.copyfile(book, copy)
    code = (
        "import json, sys, time\n"
        "from xl_ameyo.logrecord import LOG_COLUMNS, LogRecord\n"
        "from xl_ameyo.xlsx.logbook import append_log_row\n"
        "from xl_ameyo.xlsx.reader import XlsxBook\n"
        "t = time.perf_counter()\n"
        "book = XlsxBook(sys.argv[1])\n"
        "with book.reading():\n"
        "    book.sheet_columns('Leads')\n"
        "read = time.perf_counter() - t\n"
        "row = LogRecord.now(sheet='Leads', rows_sent=1048545, rows_skipped=30, status='OK',"
        " task_id='4503599627370497', csv_sha256='ab' * 32).as_row()\n"
        "t = time.perf_counter()\n"
        "append_log_row(sys.argv[1], row, columns=LOG_COLUMNS)\n"
        "log = time.perf_counter() - t\n"
        "print(json.dumps({'read': read, 'log': log}))\n"
    )
    result = measured([sys.executable, "-c", code, str(copy)], label="log vs read")
    copy.unlink()
    return json.loads(result["stdout"].strip().splitlines()[-1])


# --- reporting -------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / MB:,.0f}"


def report(info: dict) -> str:
    m = info["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}",
        f"Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["libraries"].items()),
        "",
        "| run | rows | time (s) | per row (µs) | peak memory (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, name in (("floor", "floor: fastexcel -> Arrow -> pyarrow CSV (no checks)"),
                      ("ours", "ours: `xl-ameyo upload` end to end (read, check, CSV, upload, "
                               "Log)"),
                      ("floor_mixed", "floor, mixed book"),
                      ("ours_mixed", "ours, mixed book"),
                      ("naive", "naive: `pandas.read_excel(...).to_csv(...)`"),
                      ("ours_small", "ours: `xl-ameyo upload`, same book as naive")):
        runs = info["runs"].get(key)
        if not runs:
            continue
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_rss"] for r in runs)
        rows = runs[0]["rows"]
        times = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        shown = f"{seconds:.2f}" if len(runs) == 1 else f"{seconds:.2f} (median of {times})"
        lines.append(f"| {name} | {rows:,} | {shown} | {seconds / rows * 1e6:.1f} | "
                     f"{_mb(peak)} |")
    r = info["ratios"]
    lines += [
        "",
        f"ours / floor, time: {r['ours_over_floor']:.2f}x (per round: "
        + ", ".join(f"{x:.2f}" for x in r["per_round"]) + ")",
    ]
    if "naive_over_ours_per_row" in r:
        lines.append(f"naive / ours, time per row: {r['naive_over_ours_per_row']:.1f}x "
                     f"(ours at {info['rows']:,} rows vs naive at {info['naive_rows']:,})")
    lines.append(f"peak memory, ours: {_mb(r['ours_peak'])} MB (floor {_mb(r['floor_peak'])} MB)")
    if "mixed_over_floor" in r:
        lines.append(f"mixed book, ours / floor, time: {r['mixed_over_floor']:.2f}x (per round: "
                     + ", ".join(f"{x:.2f}" for x in r["mixed_per_round"]) + f"); peak memory "
                     f"{_mb(r['mixed_peak'])} MB (floor {_mb(r['mixed_floor_peak'])} MB)")
    lv = info.get("log_vs_read")
    if lv:
        lines.append(f"Log row written back into the big book: {lv['log']:.2f} s; reading its "
                     f"data sheet: {lv['read']:.2f} s ({lv['log'] / lv['read']:.0%} of the read)")
    if info.get("values"):
        lines += ["", "Values (naive book): | sheet row | column | cell | ours | pandas |",
                  "|---:|---|---|---|---|"]
        for v in info["values"]:
            lines.append(f"| {v['row']} | {v['column']} | {v['sheet']} | `{v['ours']}` | "
                         f"`{v['pandas']}` |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=bigbook.FULL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=100_000,
                        help="rows of the book for the naive route (0: skip it)")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "xl-ameyo-bench",
                        help="folder for the generated books (kept between runs)")
    parser.add_argument("--json", type=Path, help="also save the results here")
    parser.add_argument("--profile", action="store_true",
                        help="one more run of ours under pyinstrument")
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed book")
    args = parser.parse_args()

    info: dict = {"machine": machine(), "rows": args.rows, "naive_rows": args.naive_rows,
                  "runs": {"floor": [], "ours": []}, "ratios": {}}
    print(f"machine: {info['machine']}", flush=True)
    master = bigbook.cached_book(args.cache, args.rows)
    books = {"": master}
    if not args.no_mixed:
        books["_mixed"] = bigbook.cached_book(args.cache, args.rows, mixed=True)
        info["runs"].update(floor_mixed=[], ours_mixed=[])
    small = bigbook.cached_book(args.cache, args.naive_rows) if args.naive_rows else None
    with tempfile.TemporaryDirectory(prefix="xl-ameyo-bench-") as tmp, DiscardServer() as server:
        work = Path(tmp)
        for number in range(args.rounds):
            order = ("floor", "ours") if number % 2 == 0 else ("ours", "floor")
            for suffix, book in books.items():
                for which in order:
                    if which == "floor":
                        result = run_floor(book, work)
                    else:
                        result = run_ours(book, work, server)
                    info["runs"][which + suffix].append(result)
                    print(f"round {number + 1}: {which + suffix:11s} {result['seconds']:6.2f} "
                          f"s, peak {_mb(result['peak_rss'])} MB", flush=True)
        if small is not None:
            naive = run_naive(small, work)
            print(f"naive {naive['seconds']:.2f} s, peak {_mb(naive['peak_rss'])} MB", flush=True)
            info["runs"]["naive"] = [naive]
            info["runs"]["ours_small"] = [run_ours(small, work, server)]
        info["log_vs_read"] = log_vs_read(master, work)
        if args.profile:
            profile = args.cache / "profile-ours.txt"
            run_ours(master, work, server, profile=profile)
            print(f"profile of ours: {profile}")
        if small is not None:
            # last: it reads the small book in this process, and a child's peak memory as
            # the kernel reports it includes this process's size when the child was forked
            info["values"] = compare_values(small, naive.pop("csv"), work)

    floor = [r["seconds"] for r in info["runs"]["floor"]]
    ours = [r["seconds"] for r in info["runs"]["ours"]]
    ratios = info["ratios"]
    ratios["ours_over_floor"] = statistics.median(ours) / statistics.median(floor)
    ratios["per_round"] = [o / f for o, f in zip(ours, floor, strict=True)]
    ratios["ours_peak"] = max(r["peak_rss"] for r in info["runs"]["ours"])
    ratios["floor_peak"] = max(r["peak_rss"] for r in info["runs"]["floor"])
    if "ours_mixed" in info["runs"]:
        floor_m = [r["seconds"] for r in info["runs"]["floor_mixed"]]
        ours_m = [r["seconds"] for r in info["runs"]["ours_mixed"]]
        ratios["mixed_over_floor"] = statistics.median(ours_m) / statistics.median(floor_m)
        ratios["mixed_per_round"] = [o / f for o, f in zip(ours_m, floor_m, strict=True)]
        ratios["mixed_peak"] = max(r["peak_rss"] for r in info["runs"]["ours_mixed"])
        ratios["mixed_floor_peak"] = max(r["peak_rss"] for r in info["runs"]["floor_mixed"])
    if small is not None:
        naive_per_row = info["runs"]["naive"][0]["seconds"] / info["runs"]["naive"][0]["rows"]
        ours_per_row = statistics.median(ours) / info["runs"]["ours"][0]["rows"]
        ratios["naive_over_ours_per_row"] = naive_per_row / ours_per_row
    for runs in info["runs"].values():
        for r in runs:
            r.pop("stdout", None)
            r.pop("stderr", None)
    text = report(info)
    print()
    print(text)
    if args.json:
        args.json.write_text(json.dumps(info, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
