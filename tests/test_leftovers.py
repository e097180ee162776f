"""leftovers.py: what a killed run leaves (a CSV folder, a workbook copy) is removed by a later
run once it is old enough to be no live run's; nothing else is touched."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from tests.test_pipeline import _Book
from xl_ameyo import pipeline
from xl_ameyo.leftovers import STALE_AFTER, sweep
from xl_ameyo.template import build_workbook
from xl_ameyo.xlsx.atomic import TEMP_NAME, temp_path_for

OLD = time.time() - STALE_AFTER - 60


def aged(path: Path, when: float = OLD) -> Path:
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def folder_with_csv(path: Path) -> Path:
    path.mkdir()
    (path / "leads-1.csv").write_text("Name,Mobile\r\nAna,9876543210\r\n")
    return aged(path)


def file_of(path: Path, data: bytes = b"PK") -> Path:
    path.write_bytes(data)
    return aged(path)


def test_the_names_are_the_ones_the_runs_make(tmp_path):
    made = Path(tempfile.mkdtemp(prefix=pipeline.TEMP_FOLDER_PREFIX, dir=tmp_path))
    assert re.fullmatch(pipeline.TEMP_FOLDER_NAME, made.name)
    assert re.fullmatch(TEMP_NAME, temp_path_for(tmp_path / "leads.xlsx").name)


def test_old_ones_of_ours_go_and_everything_else_stays(tmp_path):
    dead = folder_with_csv(tmp_path / "xl-ameyo-dead1234")
    live = tmp_path / "xl-ameyo-live1234"
    live.mkdir()  # recent: another run's, still sending
    # named like ours, but not ours: a user's workbook, a folder named otherwise, a file
    # where a folder is expected
    book = file_of(tmp_path / "xl-ameyo-leads.xlsx")
    longer = folder_with_csv(tmp_path / "xl-ameyo-my-leads")
    plain = file_of(tmp_path / "xl-ameyo-abcd1234")

    assert sweep(tmp_path, pipeline.TEMP_FOLDER_NAME, folders=True) == [dead]
    assert not dead.exists()
    assert all(p.exists() for p in (live, book, longer, plain))

    copy = file_of(temp_path_for(tmp_path / "leads.xlsx"))
    recent = temp_path_for(tmp_path / "leads.xlsx")
    recent.write_bytes(b"PK")  # another run writing its Log right now
    assert sweep(tmp_path, TEMP_NAME, folders=False) == [copy]
    assert recent.exists() and not copy.exists()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_link_is_never_followed(tmp_path):
    target = folder_with_csv(tmp_path / "elsewhere")
    link = tmp_path / "xl-ameyo-link1234"
    try:
        link.symlink_to(target, target_is_directory=True)
    except OSError:
        pytest.skip("symbolic links not allowed here")
    aged(link)
    assert sweep(tmp_path, pipeline.TEMP_FOLDER_NAME, folders=True) == []
    assert (target / "leads-1.csv").exists() and link.is_symlink()


def test_a_missing_folder_or_a_file_is_no_error(tmp_path):
    assert sweep(tmp_path / "missing", TEMP_NAME, folders=False) == []
    assert sweep(file_of(tmp_path / "a-file"), TEMP_NAME, folders=False) == []


def test_an_upload_removes_a_killed_runs_csv_folder(tmp_path, sim):
    dead = folder_with_csv(tmp_path / "xl-ameyo-killed12")
    live = tmp_path / "xl-ameyo-running"
    live.mkdir()
    wb = build_workbook(
        settings={"base_url": sim.url, "cc_list_id": 1, "process_id": 13, "lead_id": 17,
                  "user_id": "sup"},
        rows=[["Ana", "9876543210", None, None, None]],
    )
    plan = pipeline.plan_upload(_Book(wb))
    outcome = pipeline.run_upload(plan, dry_run=True, workdir=str(tmp_path))
    assert outcome.error is None
    assert not dead.exists() and live.exists()
    # and its own folder is gone too, as always
    assert [p.name for p in tmp_path.iterdir()] == ["xl-ameyo-running"]
