"""Memory benchmark: AmeyoClient streams a ~200 MB CSV without holding it in memory.

Run: ``.venv/bin/python benchmarks/bench_upload_memory.py [--size-mb 200] [--limit-mb 50]``

What it does:

1. writes a CSV of about ``--size-mb`` MB in a temporary folder;
2. starts the simulator in this process (its database in the same folder), with the lead
   list's fault set to ``task-fail``: the simulator still reads, checks and stores the whole
   upload and answers the normal success envelope, but the task then fails at once instead of
   applying millions of rows (which would only measure the simulator's SQLite speed);
3. for each source kind (a path, and an iterable of chunks, which the client spools to a
   temporary file) runs the upload in a **child process that runs only the client**, and
   measures there, from just before the upload to just after it:
   - the peak of Python allocations (``tracemalloc``),
   - the peak resident set size growth: ``VmHWM`` after resetting it via
     ``/proc/self/clear_refs`` (Linux), and RSS sampled every 5 ms by a thread (any OS with
     ``/proc`` or ``resource``);
4. checks the simulator received every byte, prints the numbers and ``PASS`` when every
   growth is under ``--limit-mb`` (exit status 0), else ``FAIL`` (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
HEADER = b"customer_name,phone1,email,city\n"
MAPPING = {
    "name": "customer_name",
    "phone1": "phone1",
    "phone2": "",
    "phone3": "",
    "phone4": "",
    "phone5": "",
    "email": "email",
    "timezone": "",
    "twitter": "",
    "facebook": "",
    "city": "city",
}


# --- the child: only the client ------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    """A ``/proc/self/status`` field in KiB (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _rss_bytes() -> int | None:
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb * 1024
    try:
        import resource  # no current RSS without /proc: the peak is the best we have

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except ImportError:  # pragma: no cover - Windows
        return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _Sampler(threading.Thread):
    """Samples RSS every few milliseconds; keeps the highest."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, _rss_bytes() or 0)
            self._stop_event.wait(0.005)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, _rss_bytes() or 0)
        return self.peak


def child(url: str, csv_path: str, source_kind: str) -> None:
    import gc
    import tracemalloc

    from xl_ameyo.client import AmeyoClient

    client = AmeyoClient(url, os.environ["BENCH_USER"], os.environ["BENCH_PASSWORD"], timeout=900)
    if source_kind == "path":
        source: object = csv_path
    else:

        def chunks():
            with open(csv_path, "rb") as f:
                while block := f.read(256 * 1024):
                    yield block

        source = chunks()
    progress = {"calls": 0, "sent": 0, "total": 0}

    def on_progress(sent: int, total: int) -> None:
        progress["calls"] += 1
        progress["sent"], progress["total"] = sent, total

    gc.collect()
    hwm_reset = _reset_peak()
    base = _rss_bytes() or 0
    sampler = _Sampler()
    sampler.start()
    tracemalloc.start()
    started = time.perf_counter()
    result = client.upload_contacts(
        cc_list_id=1,
        process_id=13,
        lead_id=17,
        csv=source,
        user_id="bench",
        header_mapping=MAPPING,
        progress=on_progress,
    )
    seconds = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sampled_peak = sampler.stop()
    hwm = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "task_id": result.task_id,
                "seconds": seconds,
                "tracemalloc_peak": traced_peak,
                "rss_base": base,
                "rss_growth_sampled": max(0, sampled_peak - base),
                "rss_growth_hwm": max(0, hwm * 1024 - base) if hwm and hwm_reset else None,
                "progress": progress,
            }
        )
    )


# --- the parent: data, simulator, verdict ----------------------------------------------------


def write_csv(path: Path, size: int) -> int:
    rows = 0
    with open(path, "wb") as f:
        f.write(HEADER)
        written = len(HEADER)
        block: list[bytes] = []
        while written < size:
            line = b"Customer %d,%d,c%d@example.com,Pune\n" % (rows, 9_000_000_000 + rows, rows)
            block.append(line)
            written += len(line)
            rows += 1
            if len(block) == 10_000:
                f.write(b"".join(block))
                block.clear()
        f.write(b"".join(block))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--limit-mb", type=float, default=50.0)
    parser.add_argument("--sources", default="path,iterable", help="path, iterable or both")
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "CSV", "SOURCE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0

    from xl_ameyo.simulator.server import SimulatorServer

    with tempfile.TemporaryDirectory(prefix="xl_ameyo-bench-") as tmp:
        csv_path = Path(tmp) / "leads.csv"
        rows = write_csv(csv_path, int(args.size_mb * MB))
        size = csv_path.stat().st_size
        print(f"CSV: {size / MB:.1f} MB, {rows:,} rows ({csv_path.name} in a temporary folder)")
        verdicts = []
        with SimulatorServer(host="127.0.0.1", port=0, db_path=str(Path(tmp) / "sim.db")) as sim:
            env = {**os.environ, "BENCH_USER": sim.username, "BENCH_PASSWORD": sim.password}
            for kind in [k.strip() for k in args.sources.split(",") if k.strip()]:
                sim.reset()
                sim.set_fault(17, "task-fail")
                done = subprocess.run(
                    [sys.executable, __file__, "--child", sim.url, str(csv_path), kind],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    print(done.stdout + done.stderr)
                    print(f"FAIL: the {kind} upload did not finish")
                    return 1
                m = json.loads(done.stdout.strip().splitlines()[-1])
                [got] = sim.upload_requests()
                received = got["file_size"]
                growths = [m["tracemalloc_peak"], m["rss_growth_sampled"]]
                if m["rss_growth_hwm"] is not None:
                    growths.append(m["rss_growth_hwm"])
                ok = received == size and max(growths) < args.limit_mb * MB
                verdicts.append(ok)
                hwm = (
                    f"{m['rss_growth_hwm'] / MB:.1f} MB"
                    if m["rss_growth_hwm"] is not None
                    else "n/a (no /proc/self/clear_refs)"
                )
                print(
                    f"\nsource={kind}: task {m['task_id']}, "
                    f"{m['seconds']:.1f} s ({size / MB / m['seconds']:.0f} MB/s)"
                )
                print(f"  server received the file:      {received == size} ({received:,} bytes)")
                print(
                    f"  progress: {m['progress']['calls']:,} calls, last "
                    f"{m['progress']['sent']:,}/{m['progress']['total']:,}"
                )
                print(f"  client RSS before upload:      {m['rss_base'] / MB:.1f} MB")
                print(f"  tracemalloc peak:              {m['tracemalloc_peak'] / MB:.2f} MB")
                print(f"  RSS growth (sampled, 5 ms):    {m['rss_growth_sampled'] / MB:.1f} MB")
                print(f"  RSS growth (VmHWM):            {hwm}")
                print(f"  {'PASS' if ok else 'FAIL'} (limit {args.limit_mb:g} MB)")
    passed = bool(verdicts) and all(verdicts)
    print(
        f"\n{'PASS' if passed else 'FAIL'}: client memory growth under {args.limit_mb:g} MB "
        f"while uploading {size / MB:.0f} MB"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
