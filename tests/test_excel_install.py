"""``xl-ameyo addin install|uninstall|status``: what can be checked without Excel — the
startup folder per platform (a pure function), the "no Excel" answer, and the file written."""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from click.testing import CliRunner

from tests.test_excel_addin_vba import check_udf_module, vba_code
from xl_ameyo.cli import cli
from xl_ameyo.excel import install as install_module
from xl_ameyo.excel.install import (
    ExcelNotAvailable,
    InstallError,
    applescript_dir,
    install,
    python_config,
    startup_dir,
    status,
    uninstall,
)
from xl_ameyo.excel.xlam import ADDIN_NAME, RIBBON_MODULE, read_config, template_path


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


# --- the Python the add-in runs ----------------------------------------------------------------


def test_install_for_windows_and_macos_writes_the_functions_and_the_buttons(tmp_path, monkeypatch):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: True)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for platform, python in (("win32", r"C:\Users\asha\leads env\Scripts\python.exe"),
                             ("darwin", "/Users/asha/venvs/leads/bin/python")):
        written = install(platform=platform, folder=tmp_path / platform, interpreter=python,
                          prefix=str(venv), scripts_folder=tmp_path / "scripts")
        code = vba_code(written[0])
        check_udf_module(code)
        assert "RunPython" in code[RIBBON_MODULE]
        config = read_config(written[0].read_bytes())
        assert config["UDF Modules"] == "xl_ameyo.excel.udfs"
        assert config["ADD_WORKBOOK_TO_PYTHONPATH"] == "0"
        key = "Interpreter_Win" if platform == "win32" else "Interpreter_Mac"
        assert config[key] == python
        assert config["Conda Path"] == config["Conda Env"] == ""


def conda_install(root: Path) -> Path:
    """A conda installation's folders: what install looks at."""
    (root / "condabin").mkdir(parents=True)
    (root / "conda-meta").mkdir()
    return root


def test_a_virtualenv_on_windows_gets_its_interpreter(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    config = python_config("win32", executable=r"C:\venv\Scripts\python.exe",
                           prefix=str(venv), env={})
    assert config == {"Interpreter_Win": r"C:\venv\Scripts\python.exe"}


def test_a_conda_environment_on_windows_gets_conda_path_and_env(tmp_path):
    root = conda_install(tmp_path / "miniconda3")
    env = root / "envs" / "leads"
    (env / "conda-meta").mkdir(parents=True)
    assert python_config("win32", executable=str(env / "python.exe"), prefix=str(env),
                         env={}) == {"Conda Path": str(root), "Conda Env": "leads"}
    # the installation itself
    assert python_config("win32", executable=str(root / "python.exe"), prefix=str(root),
                         env={}) == {"Conda Path": str(root), "Conda Env": "base"}
    # an environment made elsewhere (conda create -p): its path, conda from CONDA_EXE
    other = tmp_path / "projects" / "env"
    (other / "conda-meta").mkdir(parents=True)
    assert python_config("win32", executable=str(other / "python.exe"), prefix=str(other),
                         env={"CONDA_EXE": str(root / "Scripts" / "conda.exe")}) == {
        "Conda Path": str(root), "Conda Env": str(other)}


def test_a_conda_environment_whose_conda_is_not_found_is_refused_in_one_line(tmp_path):
    other = tmp_path / "env"
    (other / "conda-meta").mkdir(parents=True)
    with pytest.raises(InstallError) as info:
        python_config("win32", executable=str(other / "python.exe"), prefix=str(other), env={})
    assert "conda installation it belongs to was not found" in str(info.value)
    assert "Anaconda Prompt" in str(info.value)
    assert "\n" not in str(info.value)


def test_the_conda_addin_leaves_the_interpreter_empty(tmp_path, monkeypatch):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: True)
    root = conda_install(tmp_path / "Anaconda3")
    [written] = install(platform="win32", folder=tmp_path / "XLSTART",
                        interpreter=str(root / "python.exe"), prefix=str(root))
    config = read_config(written.read_bytes())
    assert config["Interpreter_Win"] == ""
    assert (config["Conda Path"], config["Conda Env"]) == (str(root), "base")
    check_udf_module(vba_code(written))
    assert "conda environment 'base'" in status(platform="win32",
                                                folder=tmp_path / "XLSTART").interpreter


def test_on_macos_conda_is_run_by_its_interpreter(tmp_path):
    root = conda_install(tmp_path / "miniconda3")
    python = str(root / "bin" / "python")
    assert python_config("darwin", executable=python, prefix=str(root), env={}) == {
        "Interpreter_Mac": python}


def test_a_windows_path_with_spaces_is_kept_as_it_is(tmp_path):
    python = r"C:\Users\Asha Rao\My Envs\leads\Scripts\python.exe"
    assert python_config("win32", executable=python, prefix=str(tmp_path), env={}) == {
        "Interpreter_Win": python}


@pytest.mark.parametrize("python", ["/Users/asha/My Envs/leads/bin/python",
                                    "/Users/asha/envs/it's/bin/python",
                                    "/Users/asha/a|b/bin/python"])
def test_a_macos_path_that_xlwings_cannot_pass_to_the_shell_is_refused(tmp_path, monkeypatch,
                                                                      python):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: True)
    with pytest.raises(InstallError) as info:
        install(platform="darwin", folder=tmp_path / "Excel", interpreter=python,
                prefix=str(tmp_path), scripts_folder=tmp_path / "scripts")
    message = str(info.value)
    assert python in message and "unquoted" in message
    assert "python3 -m venv" in message and "\n" not in message
    assert not (tmp_path / "Excel").exists()


def test_without_xlwings_install_says_which_command_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: True)
    monkeypatch.setitem(sys.modules, "xlwings", None)  # import xlwings raises ImportError
    with pytest.raises(InstallError) as info:
        install(platform="win32", folder=tmp_path, interpreter=r"C:\venv\python.exe")
    assert str(info.value).splitlines() == [
        'xlwings is not installed in this Python: the Excel add-in needs it. '
        'Run: python -m pip install "xl_ameyo[excel]"']
    assert list(tmp_path.iterdir()) == []


def test_the_cli_shows_an_install_error_as_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: True)
    monkeypatch.setattr(install_module, "startup_dir", lambda platform=None: tmp_path)
    monkeypatch.setitem(sys.modules, "xlwings", None)
    result = CliRunner().invoke(cli, ["addin", "install"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        'error: xlwings is not installed in this Python: the Excel add-in needs it. '
        'Run: python -m pip install "xl_ameyo[excel]"']


def test_an_xlwings_outside_the_known_range_is_refused(monkeypatch):
    import xlwings

    monkeypatch.setattr(xlwings, "__version__", "1.2.0")
    with pytest.raises(InstallError, match=r"xlwings 1\.2\.0 is installed"):
        template_path()


def test_without_pyopenvba_install_says_which_command_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(install_module, "excel_installed", lambda platform=None: True)
    monkeypatch.setitem(sys.modules, "pyopenvba", None)
    with pytest.raises(InstallError) as info:
        install(platform="win32", folder=tmp_path, interpreter=r"C:\venv\python.exe")
    assert str(info.value) == ('pyopenvba is not installed in this Python: the Excel add-in '
                               'needs it. Run: python -m pip install "xl_ameyo[excel]"')
    assert list(tmp_path.iterdir()) == []
