"""SPEC §4: long work shows progress on a terminal (reading and checking, sending, waiting
for the answer, status --wait), and nothing extra with --json or off a terminal. The
terminal is a real pseudo-terminal on stderr of a real `python -m xl_ameyo` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.books import cli_env, lead_book, log_dicts, upload

pty = pytest.importorskip("pty")


def on_terminal(*args: object) -> tuple[int, str, str]:
    """(exit status, stdout, what the terminal on stderr showed)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AMEYO_")}
    env.update({k: v for k, v in cli_env().items() if v is not None})
    env["COLUMNS"] = "100"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "xl_ameyo", *map(str, args)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            env=env)
    os.close(slave)
    shown = bytearray()
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the process closed its end
            break
        if not data:
            break
        shown += data
    out = proc.stdout.read().decode()
    proc.stdout.close()
    os.close(master)
    return proc.wait(), out, shown.decode(errors="replace")


def test_upload_shows_progress_on_a_terminal(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    code, out, shown = on_terminal("upload", book)
    assert code == 0, shown
    assert f"Reading and checking {book.name}... done" in shown
    assert "Sending" in shown
    assert "Waiting for the server's answer..." in shown
    assert "Sent:    2 rows" in out  # the summary stays on stdout

    task_id = log_dicts(book)[-1]["task_id"]
    sim.wait_for_task(task_id)
    code, out, shown = on_terminal("status", book, "--wait")
    assert code == 0, shown
    assert "Waiting for the server" in shown
    assert f"Task {task_id}" in out


def test_json_on_a_terminal_shows_no_progress(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    code, out, shown = on_terminal("upload", book, "--json")
    assert code == 0, shown
    assert json.loads(out)["ok"]
    assert "Reading and checking" not in shown and "Sending" not in shown
    assert "Waiting" not in shown


def test_no_progress_off_a_terminal(sim, tmp_path):
    book = lead_book(tmp_path / "b.xlsx", sim.url)
    result = upload(book)
    assert result.exit_code == 0, result.output
    assert "Reading and checking" not in result.output
    assert "Sending" not in result.output and "Waiting" not in result.output
