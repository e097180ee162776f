"""xlsx/atomic.py's sweep: a copy of a workbook left by a run killed outright (SIGKILL, power
loss) while it wrote the Log is removed by a later write once it is old enough to be no live
run's; nothing else is touched. (The CSV of an upload is anonymous: nothing to sweep.)"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from xl_ameyo.xlsx.atomic import STALE_AFTER, TEMP_NAME, sweep, temp_path_for

OLD = time.time() - STALE_AFTER - 60


def aged(path: Path, when: float = OLD) -> Path:
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def file_of(path: Path, data: bytes = b"PK") -> Path:
    path.write_bytes(data)
    return aged(path)


def test_the_name_is_the_one_the_writes_make(tmp_path):
    assert re.fullmatch(TEMP_NAME, temp_path_for(tmp_path / "leads.xlsx").name)


def test_old_copies_go_and_everything_else_stays(tmp_path):
    copy = file_of(temp_path_for(tmp_path / "leads.xlsx"))
    recent = temp_path_for(tmp_path / "leads.xlsx")
    recent.write_bytes(b"PK")  # another run writing its Log right now
    book = file_of(tmp_path / ".~xl-ameyo-leads.xlsx")  # named like ours, but not ours
    folder = tmp_path / temp_path_for(tmp_path / "x.xlsx").name  # a folder, not a file
    folder.mkdir()
    aged(folder)
    assert sweep(tmp_path) == [copy]
    assert recent.exists() and not copy.exists() and book.exists() and folder.exists()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_link_is_never_followed(tmp_path):
    target = file_of(tmp_path / "elsewhere.xlsx")
    link = temp_path_for(tmp_path / "leads.xlsx")
    try:
        link.symlink_to(target)
    except OSError:
        pytest.skip("symbolic links not allowed here")
    aged(link)
    assert sweep(tmp_path) == []
    assert target.exists() and link.is_symlink()


def test_a_missing_folder_or_a_file_is_no_error(tmp_path):
    assert sweep(tmp_path / "missing") == []
    assert sweep(file_of(tmp_path / "a-file")) == []
