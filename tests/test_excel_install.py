"""``xl-ameyo addin install|uninstall|status``: what can be checked without Excel — the
startup folder per platform (a pure function), the "no Excel" answer, and the file written."""

from __future__ import annotations

import sys
from pathlib import PurePosixPath, PureWindowsPath

import pytest
from click.testing import CliRunner

from xl_ameyo.cli import cli
from xl_ameyo.excel import install as install_module
from xl_ameyo.excel.install import (
    ExcelNotAvailable,
    applescript_dir,
    install,
    startup_dir,
    status,
    uninstall,
)
from xl_ameyo.excel.xlam import ADDIN_NAME, read_config


def test_windows_startup_folder_is_in_appdata():
    got = startup_dir("win32", {"APPDATA": r"C:\Users\asha\AppData\Roaming"},
                      PureWindowsPath(r"C:\Users\asha"))
    assert got == PureWindowsPath(r"C:\Users\asha\AppData\Roaming\Microsoft\Excel\XLSTART")


def test_windows_startup_folder_without_appdata():
    got = startup_dir("win32", {}, PureWindowsPath(r"C:\Users\asha"))
    assert got == PureWindowsPath(r"C:\Users\asha\AppData\Roaming\Microsoft\Excel\XLSTART")


def test_mac_startup_folder_is_in_the_office_group_container():
    got = startup_dir("darwin", {}, PurePosixPath("/Users/asha"))
    assert got == PurePosixPath(
        "/Users/asha/Library/Group Containers/UBF8T346G9.Office/User Content.localized/"
        "Startup.localized/Excel"
    )
    assert applescript_dir(PurePosixPath("/Users/asha")) == PurePosixPath(
        "/Users/asha/Library/Application Scripts/com.microsoft.Excel")


@pytest.mark.parametrize("platform", ["linux", "freebsd13", "emscripten"])
def test_no_excel_elsewhere(platform):
    with pytest.raises(ExcelNotAvailable) as info:
        startup_dir(platform, {}, PurePosixPath("/home/asha"))
    assert info.value.exit_code == 2
    assert f"Excel is not available on this system ({platform})" in str(info.value)
    assert "xl-ameyo upload" in str(info.value)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="this system may have Excel")
@pytest.mark.parametrize("command", ["install", "uninstall", "status"])
def test_cli_says_no_excel_in_one_line_and_exits_2(command):
    result = CliRunner().invoke(cli, ["addin", command])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: Excel is not available on this system")
    assert "Traceback" not in result.output


def test_install_writes_an_addin_that_runs_this_python(tmp_path, monkeypatch):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: True)
    folder = tmp_path / "XLSTART"
    [written] = install(platform="win32", folder=folder, interpreter=r"C:\venv\python.exe")
    assert written == folder / ADDIN_NAME
    config = read_config(written.read_bytes())
    assert config["Interpreter_Win"] == r"C:\venv\python.exe"
    assert config["Interpreter_Mac"] == ""
    assert [p.name for p in folder.iterdir()] == [ADDIN_NAME]  # no temp file left

    state = status(platform="win32", folder=folder)
    assert state.installed and state.interpreter == r"C:\venv\python.exe"
    assert not state.current
    assert any("xl-ameyo addin install" in line for line in state.lines())

    assert uninstall(platform="win32", folder=folder) == folder / ADDIN_NAME
    assert not (folder / ADDIN_NAME).exists()
    assert uninstall(platform="win32", folder=folder) is None
    assert not status(platform="win32", folder=folder).installed


def test_install_on_a_mac_also_copies_xlwings_applescript(tmp_path, monkeypatch):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: True)
    written = install(platform="darwin", folder=tmp_path / "Excel",
                      scripts_folder=tmp_path / "scripts")
    assert written[0].name == ADDIN_NAME
    assert read_config(written[0].read_bytes())["Interpreter_Mac"] == sys.executable
    assert written[1].parent == tmp_path / "scripts"
    assert written[1].name.startswith("xlwings-") and written[1].suffix == ".applescript"
    state = status(platform="darwin", folder=tmp_path / "Excel")
    assert state.current


def test_install_without_excel_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: False)
    with pytest.raises(ExcelNotAvailable, match="not seem to be installed"):
        install(platform="win32", folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_status_of_a_damaged_addin(tmp_path):
    (tmp_path / ADDIN_NAME).write_bytes(b"not a zip")
    state = status(platform="win32", folder=tmp_path)
    assert state.installed and state.interpreter is None
    assert "reinstall" in state.lines()[-1]
