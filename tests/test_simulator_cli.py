"""``xl-ameyo simulator`` as a user runs it: a subprocess on a free loopback port."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="sends POSIX signals to the simulator process"
)

FIRST_LINE = re.compile(r"^Ameyo simulator listening on (https?://127\.0\.0\.1:(\d+))$")
AUTH = ("demo", "demo-pass")
UPLOAD = "/v1/cc-list/1/process-list/13/leads/17/contact-upload-tasks"


class Simulator:
    """A running ``python -m xl_ameyo simulator`` with its output read line by line."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "xl_ameyo", "simulator", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line(self, timeout: float = 20.0) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the simulator printed nothing in time") from None
        if line is None:
            raise AssertionError(f"the simulator ended: {self.stderr_now()}")
        return line

    def stderr_now(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        """Send the signal; the exit status and what went to stderr."""
        self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("the simulator did not stop on a signal") from None
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@contextmanager
def simulator(*args: str) -> Iterator[Simulator]:
    sim = Simulator(*args)
    try:
        yield sim
    finally:
        sim.kill()


def started(sim: Simulator) -> str:
    """The URL from the first line, which must be exactly the documented one."""
    first = sim.line()
    match = FIRST_LINE.match(first)
    assert match, first
    assert int(match.group(2)) > 0
    return match.group(1)


def post(url: str, csv: str, **kwargs: object) -> requests.Response:
    return requests.post(
        url + UPLOAD,
        auth=AUTH,
        files=[
            ("user_id", (None, "john")),
            ("header_mapping", (None, json.dumps({"name": "name", "phone1": "phone1"}))),
            ("file", ("leads.csv", csv.encode(), "text/csv")),
        ],
        timeout=10,
        **kwargs,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_serves_and_stops_cleanly(sig):
    with simulator() as sim:
        url = started(sim)
        assert sim.line() == "Demo user: demo / demo-pass"
        response = post(url, "name,phone1\nAsha,9876543210\n")
        assert response.status_code == 200
        assert response.json()["response"][0]["data"]["task_id"] > 2**53
        status, err = sim.stop(sig)
        assert status == 0, err
        assert "Traceback" not in err
        assert "demo-pass" not in err


def test_cli_db_keeps_contacts_across_a_restart(tmp_path):
    db = tmp_path / "sim.db"
    with simulator("--db", str(db)) as first:
        url = started(first)
        response = post(url, "name,phone1\nAsha,9876543210\nRavi,9876543211\n")
        task_id = response.json()["response"][0]["data"]["task_id"]
        deadline = time.monotonic() + 10
        while True:
            status = requests.get(f"{url}{UPLOAD}/{task_id}", auth=AUTH, timeout=5).json()
            if status["response"][0]["data"]["status"] == "COMPLETED":
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.02)
        assert first.stop()[0] == 0
    assert db.exists()

    with simulator("--db", str(db)) as second:
        url = started(second)
        contacts = requests.get(f"{url}/_sim/lead-lists/17/contacts", timeout=5).json()
        assert [(c["phone1"], c["name"]) for c in contacts] == [
            ("9876543210", "Asha"),
            ("9876543211", "Ravi"),
        ]
        # the task and its id survive too, exactly
        task = requests.get(f"{url}{UPLOAD}/{task_id}", auth=AUTH, timeout=5).json()
        assert task["response"][0]["data"]["task_id_number"] == task_id
        # the same rows again are duplicates of the kept contacts
        again = post(url, "name,phone1\nAsha,9876543210\n")
        assert again.status_code == 200
        assert second.stop()[0] == 0


def test_cli_without_db_starts_empty_each_time():
    for _ in range(2):
        with simulator() as sim:
            url = started(sim)
            assert requests.get(f"{url}/_sim/lead-lists/17/contacts", timeout=5).json() == []
            post(url, "name,phone1\nAsha,9876543210\n")
            assert sim.stop()[0] == 0


def test_cli_tls_verifies_with_the_printed_ca_only():
    with simulator("--tls") as sim:
        url = started(sim)
        assert url.startswith("https://127.0.0.1:")
        ca_line = sim.line()
        match = re.fullmatch(r"CA certificate \(set ca_bundle to it\): (.+\.pem)", ca_line)
        assert match, ca_line
        ca_path = match.group(1)
        assert Path(ca_path).read_text().startswith("-----BEGIN CERTIFICATE-----")
        # verify= per request: an environment CA bundle would beat Session.verify
        response = post(url, "name,phone1\nAsha,9876543210\n", verify=ca_path)
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{url}/_sim/tasks", timeout=5)
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{url}/_sim/tasks", timeout=5, verify=True)
        assert sim.stop()[0] == 0
        # the CA made for the run is gone with it
        assert not Path(ca_path).exists()


def test_cli_port_in_use_is_one_clear_line():
    with simulator() as sim:
        port = started(sim).rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, "-m", "xl_ameyo", "simulator", "--port", port],
            capture_output=True,
            text=True,
            timeout=20,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
        assert done.stdout == ""
        assert sim.stop()[0] == 0


def test_cli_unusable_db_is_one_clear_line(tmp_path):
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("these are notes, not a database\n" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "xl_ameyo", "simulator", "--port", "0", "--db", str(not_a_db)],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"cannot use the database {not_a_db}" in done.stderr
    # and the file is left as it was
    assert not_a_db.read_text().startswith("these are notes")
