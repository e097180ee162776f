"""`make demo`: the main job, end to end, against the bundled simulator.

Builds a workbook of about 1,000 realistic leads, starts the simulator on a free loopback port,
runs ``xl-ameyo upload`` on the workbook exactly as a user would (a dry run, then the upload,
then a repeated upload that is refused), then ``xl-ameyo status --wait``: the server's counts
go into the Log row and the rows it rejected into a Rejected sheet. The workbook, with its
Log, stays in ``demo-output/`` to open in Excel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from xl_ameyo.demo_data import HEADERS, demo_leads
from xl_ameyo.simulator.server import SimulatorServer
from xl_ameyo.template import write_template

CC, PROCESS, LEAD = 1, 13, 17
MAPPING = {
    "name": "Customer Name",
    "phone1": "Mobile",
    "phone2": "Alternate Phone",
    "email": "E-mail",
    "city": "City",
    "due_date": "Due Date",
    "amount": "Amount",
}


def build_demo_book(path: Path, base_url: str, rows: int = 1000) -> Path:
    settings = {
        "base_url": base_url,
        "cc_list_id": CC,
        "process_id": PROCESS,
        "lead_id": LEAD,
        "user_id": "supervisor",
        "username": "demo",
    }
    return write_template(
        path, settings=settings, mapping=MAPPING, headers=HEADERS, rows=demo_leads(rows),
        text_columns=(),
    )


def _run(title: str, args: list[str], env: dict[str, str]) -> int:
    print(f"\n$ xl-ameyo {' '.join(args)}    # {title}", flush=True)
    done = subprocess.run([sys.executable, "-m", "xl_ameyo", *args], env=env, check=False)
    print(f"(exit status {done.returncode})", flush=True)
    return done.returncode


def main(out_dir: str = "demo-output") -> int:
    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    book = out / "demo_leads.xlsx"
    db = out / "simulator.db"
    db.unlink(missing_ok=True)
    # a rehearsal against a fresh simulator: its own upload ledger, not the user's
    data = out / "data"
    shutil.rmtree(data, ignore_errors=True)
    with SimulatorServer(db_path=str(db)) as sim:
        print(f"Ameyo simulator listening on {sim.url} (user {sim.username})")
        build_demo_book(book, sim.url)
        print(f"Built {book} with {len(demo_leads())} leads")
        env = dict(os.environ, AMEYO_USERNAME=sim.username, AMEYO_PASSWORD=sim.password)
        env.pop("AMEYO_PASSWORD_FILE", None)
        env["XL_AMEYO_DATA_DIR"] = str(data.resolve())

        if _run("check only", ["upload", str(book), "--dry-run"], env) != 0:
            return 1
        if _run("the upload", ["upload", str(book)], env) != 0:
            return 1
        # the same rows again: refused unless --allow-reupload (no duplicate lead lists)
        if _run("the same upload again", ["upload", str(book)], env) != 2:
            return 1

        # what the server made of it: its counts into the Log row, its rejected rows (the
        # 7- and 9-digit numbers a 10-digit deployment refuses) into a Rejected sheet
        if _run("the server's answer", ["status", str(book), "--wait"], env) != 0:
            return 1
        stored = sim.contacts(LEAD)
        print(f"\nLead list {LEAD} now holds {len(stored)} contacts, e.g.:")
        for contact in stored[:3]:
            print(f"    {contact.get('phone1')}  {contact.get('name')}")
        print(f"\nOpen {book} to see its Log sheet (the task id kept as text, the server's "
              "counts after it) and its Rejected sheet.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
