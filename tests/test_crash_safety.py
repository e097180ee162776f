"""Crash safety of the Log write-back (SPEC §4: "It never leaves BOOK half-written").

The process running ``xl-ameyo upload --dry-run`` is killed with SIGKILL (no clean-up code
runs) while it writes the Log row back. Afterwards the workbook is either byte for byte the
old file, or a valid new one: every zip member but the Log sheet unchanged and the Log read
back (with the product's reader and with openpyxl) holding exactly one more row. Never
anything in between. A temporary file left behind by the kill does not break the next run.

- at chosen moments, deterministically: the process is paused there (a patch in the child
  prints READY and sleeps) and killed: half-way through writing the temporary file, after it
  is complete but before ``os.replace``, and right after ``os.replace``;
- at moments nobody chose: as soon as the temporary file appears, and after random delays
  (seeded) over a run of a biggish workbook.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from tests.test_failure_matrix import log_member, make_book, read_log, zip_members
from xl_ameyo.template import write_template
from xl_ameyo.xlsx.atomic import STALE_AFTER, TEMP_PREFIX, TEMP_SUFFIX
from xl_ameyo.xlsx.reader import XlsxBook

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)"
)

#: the child: the real command, with an optional pause at one moment of the write-back
CHILD = textwrap.dedent(
    """
    import io, os, sys, time
    moment, book = sys.argv[1], sys.argv[2]

    def pause():
        print("READY", flush=True)
        time.sleep(120)

    if moment == "writing":
        from xl_ameyo.xlsx import logbook
        real_rewrite = logbook.rewrite_zip

        def half_written(src, out, **kwargs):
            buffer = io.BytesIO()
            real_rewrite(src, buffer, **kwargs)
            data = buffer.getvalue()
            out.write(data[: len(data) // 2])
            out.flush()
            os.fsync(out.fileno())
            pause()

        logbook.rewrite_zip = half_written
    elif moment in ("before-replace", "after-replace"):
        real_replace = os.replace

        def replace(a, b, **kwargs):
            if os.path.basename(a).startswith(".~xl-ameyo-"):
                if moment == "after-replace":
                    real_replace(a, b, **kwargs)
                pause()
            return real_replace(a, b, **kwargs)

        os.replace = replace

    from xl_ameyo.cli import cli
    cli(["upload", book, "--dry-run"], prog_name="xl-ameyo")
    """
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AMEYO_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _child(book: Path, moment: str = "none") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, moment, str(book)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )


def temp_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir()
        if p.name.startswith(TEMP_PREFIX) and p.name.endswith(TEMP_SUFFIX)
    )


def state_of(book: Path, old: bytes) -> str:
    """'old' when the workbook is byte for byte the old file, 'new' when it is the old one
    plus one DRY RUN row in the Log (checked every way); fails the test otherwise."""
    new = book.read_bytes()
    if new == old:
        return "old"
    with zipfile.ZipFile(book) as zf:
        assert zf.testzip() is None
    before = zip_members_of(old)
    after = zip_members(book)
    assert list(after) == list(before)
    log = log_member(before)
    assert [n for n in before if before[n] != after[n]] == [log]
    old_rows = _log_rows_of(old, book.parent)
    reader = XlsxBook(book)
    rows = reader.read_sheet(reader.find_sheet("Log"))
    assert rows[: len(old_rows)] == old_rows
    assert len(rows) == len(old_rows) + 1
    assert "DRY RUN" in rows[-1]
    assert read_log(book)[-1]["status"] == "DRY RUN"  # openpyxl agrees
    reader.read_sheet(reader.find_sheet("Leads"))
    return "new"


def zip_members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _log_rows_of(data: bytes, folder: Path) -> list[list]:
    copy = folder / "_copy_of_old.xlsx"
    copy.write_bytes(data)
    try:
        reader = XlsxBook(copy)
        return reader.read_sheet(reader.find_sheet("Log"))
    finally:
        copy.unlink()


def run_to_the_end(book: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xl_ameyo", "upload", str(book), "--dry-run"],
        capture_output=True, text=True, env=_env(), timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def wait_ready(proc: subprocess.Popen) -> None:
    """Until the child says it is paused at the moment (the command prints its summary
    first); the child ending instead fails the test."""
    for line in proc.stdout:
        if line.strip() == b"READY":
            return
    proc.wait()
    pytest.fail(f"the child ended before the moment: {proc.stderr.read().decode()}")


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


@pytest.mark.parametrize(
    "moment, expected, temp_left",
    [
        ("writing", "old", True),
        ("before-replace", "old", True),
        ("after-replace", "new", False),
    ],
)
def test_kill_at_a_chosen_moment(tmp_path, moment, expected, temp_left):
    book = make_book(tmp_path / "leads.xlsx", "https://ameyo.invalid:8443")
    old = book.read_bytes()
    mode = book.stat().st_mode & 0o777
    proc = _child(book, moment)
    try:
        wait_ready(proc)
    finally:
        kill(proc)
    assert state_of(book, old) == expected
    assert bool(temp_files(tmp_path)) is temp_left
    if temp_left:
        # a copy of the leads: readable by no one the workbook itself is not readable by
        [stale] = temp_files(tmp_path)
        assert stale.stat().st_mode & 0o777 & ~mode == 0

    # the next run is not disturbed by what the kill left behind
    current = book.read_bytes()
    run_to_the_end(book)
    assert state_of(book, current) == "new"
    assert len(read_log(book)) == (2 if expected == "new" else 1)
    if temp_left:
        # a copy of the leads left by the kill: a later run removes it once it is old enough
        # to be no live run's (a recent one might be another run's, still writing)
        assert temp_files(tmp_path) == [stale]
        hours_ago = time.time() - STALE_AFTER - 60
        os.utime(stale, (hours_ago, hours_ago))
        run_to_the_end(book)
        assert temp_files(tmp_path) == []


def _biggish_book(path: Path) -> Path:
    """A workbook with 3,000 leads and a 12 MB stored (incompressible) part, so that writing
    it back takes long enough to be caught in the act."""
    rows = [
        [f"Lead {i}", f"98{i:08d}", None, f"lead{i}@example.com", "Pune"]
        for i in range(3000)
    ]
    made = write_template(
        path.with_suffix(".tmp.xlsx"),
        settings=dict(base_url="https://ameyo.invalid:8443", cc_list_id=1, process_id=13,
                      lead_id=17, user_id="john"),
        rows=rows,
    )
    blob = random.Random(7).randbytes(12 << 20)
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"<Default ",
                    b'<Default Extension="bin" ContentType="application/octet-stream"/>'
                    b"<Default ",
                    1,
                )
            dst.writestr(info, data)
        dst.writestr(zipfile.ZipInfo("xl/media/blob.bin"), blob, zipfile.ZIP_STORED)
    made.unlink()
    return path


def test_kill_at_moments_nobody_chose(tmp_path):
    book = _biggish_book(tmp_path / "big.xlsx")
    rng = random.Random(20240611)
    logged = 0
    outcomes = []

    # a full run first: the workbook is readable and takes a row; it also gives the span of
    # a run, over which the random kills are spread
    started = time.monotonic()
    run_to_the_end(book)
    span = time.monotonic() - started
    logged += 1

    # kill as soon as the temporary file shows up (busy polling), three times
    for _ in range(3):
        old = book.read_bytes()
        proc = _child(book)
        try:
            while proc.poll() is None and not temp_files(tmp_path):
                pass
        finally:
            kill(proc)
        state = state_of(book, old)
        outcomes.append(state)
        logged += state == "new"

    # kill after random delays over the span of a run, four times
    for _ in range(4):
        old = book.read_bytes()
        proc = _child(book)
        try:
            time.sleep(rng.uniform(0.3, 1.1) * span)
        finally:
            kill(proc)
        state = state_of(book, old)
        outcomes.append(state)
        logged += state == "new"

    # whatever was left behind, the next run works and the Log counts what happened
    current = book.read_bytes()
    run_to_the_end(book)
    assert state_of(book, current) == "new"
    logged += 1
    assert len(read_log(book)) == logged, outcomes
    for stale in temp_files(tmp_path):
        stale.unlink()
