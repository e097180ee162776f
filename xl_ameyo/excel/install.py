"""``xl-ameyo addin install|uninstall|status``: the add-in in Excel's startup folder.

Like ``xlwings addin install``, installing copies the add-in into the current user's
``XLSTART`` folder, which Excel opens at every start: the "Ameyo" tab then shows in every
workbook. Unlike it, the folder is computed without starting Excel (:func:`startup_dir`), and
the copy is built for *this* Python: the add-in is made from the installed xlwings' own ribbon
template (so its VBA matches the xlwings version that Python will run) with this Python
written into its config sheet (:func:`python_config`: the interpreter, or on Windows a conda
environment's ``Conda Path``/``Conda Env``). On macOS, xlwings' AppleScript (which
``RunPython`` needs there, ``xlwings runpython install``) is copied too. Every failure is an
:class:`InstallError` or :class:`ExcelNotAvailable`: one line and what to do.

| platform | startup folder |
|---|---|
| Windows | ``%APPDATA%\\Microsoft\\Excel\\XLSTART`` |
| macOS (Excel 2016 and later) | ``~/Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel`` |

Other systems have no Excel: every command says so in one line (exit status 2).
"""  # noqa: E501

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from xl_ameyo.errors import XlAmeyoError
from xl_ameyo.excel.xlam import (
    ADDIN_NAME,
    InstallError,
    build_xlam,
    read_config,
    require_xlwings,
    template_path,
)

__all__ = [
    "ExcelNotAvailable",
    "InstallError",
    "Status",
    "applescript_dir",
    "install",
    "python_config",
    "startup_dir",
    "status",
    "uninstall",
]

MAC_STARTUP = (
    "Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel"
)
MAC_SCRIPTS = "Library/Application Scripts/com.microsoft.Excel"
MAC_EXCEL = Path("/Applications/Microsoft Excel.app")


class ExcelNotAvailable(XlAmeyoError):
    """This system has no Excel the add-in could go into."""

    exit_code = 2


def _platform_name(platform: str) -> str:
    if platform.startswith("win"):
        return "windows"
    if platform == "darwin":
        return "macos"
    return platform


def startup_dir(
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
    home: PurePath | None = None,
) -> PurePath:
    """The current user's Excel startup folder (XLSTART) on ``platform`` (default: this
    system), as a path of that platform's kind. Pure: nothing is looked at on disk."""
    platform = sys.platform if platform is None else platform
    env = os.environ if env is None else env
    kind = _platform_name(platform)
    if kind == "windows":
        appdata = env.get("APPDATA")
        base = (PureWindowsPath(appdata) if appdata
                else PureWindowsPath(home or Path.home()) / "AppData" / "Roaming")
        return base / "Microsoft" / "Excel" / "XLSTART"
    if kind == "macos":
        return PurePosixPath(home or Path.home()) / MAC_STARTUP
    raise ExcelNotAvailable(
        f"Excel is not available on this system ({platform}): the add-in needs Excel for "
        "Windows or macOS",
        hint="Use xl-ameyo upload BOOK.xlsx instead",
    )


def applescript_dir(home: PurePath | None = None) -> PurePosixPath:
    """Where Excel for Mac looks for AppleScripts (xlwings' ``RunPython`` needs its own)."""
    return PurePosixPath(home or Path.home()) / MAC_SCRIPTS


def excel_installed(platform: str | None = None) -> bool:
    """Best effort: is Excel installed for this user?"""
    kind = _platform_name(sys.platform if platform is None else platform)
    if kind == "macos":
        return MAC_EXCEL.exists()
    if kind == "windows":
        try:
            import winreg
        except ImportError:  # pragma: no cover - not Windows
            return False
        try:
            winreg.CloseKey(winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, r"Excel.Application"))
        except OSError:
            return False
        return True
    return False


def _folder(platform: str | None, folder: Path | None) -> Path:
    """The startup folder to use: ``folder`` when given (tests), else :func:`startup_dir`."""
    return Path(folder) if folder is not None else Path(startup_dir(platform))


def _require_excel(platform: str | None, folder: Path | None) -> Path:
    target = _folder(platform, folder)  # raises on systems without Excel
    if not excel_installed(platform):
        raise ExcelNotAvailable(
            "Excel does not seem to be installed for this user",
            hint="Install Excel, then run xl-ameyo addin install again",
        )
    return target


#: characters that xlwings' macOS RunPython cannot pass on: it puts the interpreter's path,
#: unquoted, into a shell command (its AppleScript), after splitting its parameters at "|"
_MAC_UNSAFE = re.compile(r"""[\s'"\\$`!&;|<>()*?\[\]{}#~:]""")


def conda_setup(prefix: Path, env: Mapping[str, str]) -> tuple[str, str] | None:
    """(``Conda Path``, ``Conda Env``) when ``prefix`` is a conda environment (it has
    ``conda-meta``), as xlwings' Windows RunPython wants them: the conda installation's folder
    (the one with ``condabin``), and the environment's name (``base`` for the installation
    itself) or, outside its ``envs`` folder, its path. None: not conda."""
    if not (prefix / "conda-meta").is_dir():
        return None
    if (prefix / "condabin").is_dir():
        return str(prefix), "base"
    if prefix.parent.name.casefold() == "envs" and (prefix.parent.parent / "condabin").is_dir():
        return str(prefix.parent.parent), prefix.name
    conda_exe = env.get("CONDA_EXE")
    if conda_exe:
        root = Path(conda_exe).parent.parent
        if (root / "condabin").is_dir():
            if re.search(r"\s", str(prefix)):
                raise InstallError(
                    f"The conda environment's folder '{prefix}' has a space: xlwings cannot "
                    "activate it from Excel",
                    hint="Create the environment by name (conda create -n NAME) or in a folder "
                    "without spaces, then run xl-ameyo addin install from it",
                )
            return str(root), str(prefix)
    raise InstallError(
        f"This Python is a conda environment ({prefix}), but the conda installation it "
        "belongs to was not found",
        hint="Run xl-ameyo addin install from an Anaconda Prompt with this environment "
        "activated (CONDA_EXE names conda there)",
    )


def python_config(
    platform: str | None = None,
    *,
    executable: str | None = None,
    prefix: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What the add-in's config sheet says about the Python to run (default: this one).

    - Windows, conda (``prefix/conda-meta`` exists): ``Conda Path`` and ``Conda Env``, the
      interpreter left empty, as xlwings' docs require (activating the environment is what
      lets NumPy's DLLs load);
    - Windows, a virtualenv or a system Python: ``Interpreter_Win``;
    - macOS, any of them: ``Interpreter_Mac`` (xlwings has no conda settings there). A path
      with a space or a shell character is refused: xlwings puts it unquoted into a shell
      command, so Excel could not start it.
    """
    kind = _platform_name(sys.platform if platform is None else platform)
    executable = sys.executable if executable is None else executable
    prefix = sys.prefix if prefix is None else prefix
    env = os.environ if env is None else env
    if kind == "windows":
        conda = conda_setup(Path(prefix), env)
        if conda is not None:
            return {"Conda Path": conda[0], "Conda Env": conda[1]}
        return {"Interpreter_Win": executable}
    bad = _MAC_UNSAFE.search(executable)
    if bad:
        what = "a space" if bad.group().isspace() else f"the character {bad.group()!r}"
        raise InstallError(
            f"This Python's path '{executable}' has {what}: on macOS xlwings passes it to the "
            "shell unquoted, so Excel could not start it",
            hint="Make a virtualenv in a folder without spaces (python3 -m venv "
            "~/xl-ameyo-env), install xl_ameyo[excel] there and run its xl-ameyo addin install",
        )
    return {"Interpreter_Mac": executable}


def addin_bytes(config: Mapping[str, str]) -> bytes:
    """The add-in, from the installed xlwings' template, with ``config`` in its config
    sheet (see :func:`python_config`)."""
    template = template_path()
    try:
        data = template.read_bytes()
    except OSError as exc:
        raise InstallError(f"Cannot read xlwings' add-in template '{template}': "
                           f"{exc.strerror or exc}", hint="Reinstall xlwings") from None
    return build_xlam(data, config)


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".xl_ameyo-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def install(
    *,
    platform: str | None = None,
    interpreter: str | None = None,
    prefix: str | None = None,
    folder: Path | None = None,
    scripts_folder: Path | None = None,
) -> list[Path]:
    """Install the add-in for the current user; returns the files written. ``interpreter``
    and ``prefix`` replace this Python's (``sys.executable``, ``sys.prefix``); ``folder`` and
    ``scripts_folder`` the startup and AppleScript folders (tests)."""
    platform = sys.platform if platform is None else platform
    folder = _require_excel(platform, folder)
    xlwings = require_xlwings()
    config = python_config(platform, executable=interpreter, prefix=prefix)
    data = addin_bytes(config)
    target = folder / ADDIN_NAME
    written = []
    try:
        _write_atomically(target, data)
        written.append(target)
        if _platform_name(platform) == "macos":
            script = Path(xlwings.__file__).parent / f"xlwings-{xlwings.__version__}.applescript"
            scripts = Path(scripts_folder or applescript_dir())
            scripts.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(script, scripts / script.name)
            written.append(scripts / script.name)
    except PermissionError as exc:
        raise InstallError(
            f"Cannot write '{exc.filename or target}': it is in use or not writable",
            hint="Quit Excel and run xl-ameyo addin install again",
        ) from None
    except OSError as exc:
        raise InstallError(f"Cannot write '{target}': {exc.strerror or exc}") from None
    return written


def uninstall(*, platform: str | None = None, folder: Path | None = None) -> Path | None:
    """Remove the add-in; returns the file removed (None: it was not installed)."""
    target = _folder(platform, folder) / ADDIN_NAME
    if not target.exists():
        return None
    try:
        target.unlink()
    except OSError as exc:
        raise InstallError(
            f"Cannot remove '{target}': {exc.strerror or exc}",
            hint="Quit Excel and run xl-ameyo addin uninstall again",
        ) from None
    return target


def _same(a: str, b: str) -> bool:
    """The same config value (paths compared as paths; "base" and env names as text)."""
    if not a or not b:
        return a == b
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _describe(config: Mapping[str, str], kind: str) -> str:
    """Which Python a config sheet runs, in words."""
    if config.get("Conda Path") and config.get("Conda Env"):
        return f"the conda environment '{config['Conda Env']}' of {config['Conda Path']}"
    key = "Interpreter_Win" if kind == "windows" else "Interpreter_Mac"
    return config.get(key) or "python (the first one on the PATH)"


@dataclass(frozen=True)
class Status:
    path: Path
    installed: bool
    interpreter: str | None  # which Python the installed copy runs, in words (None: unreadable)
    current: bool  # it runs this Python

    def lines(self) -> list[str]:
        if not self.installed:
            return [f"The add-in is not installed (it would go to {self.path}).",
                    "Install it with: xl-ameyo addin install"]
        out = [f"The add-in is installed: {self.path}"]
        if self.interpreter is None:
            return [*out, "Its settings cannot be read: reinstall it with xl-ameyo addin install"]
        out.append(f"It runs: {self.interpreter}")
        if not self.current:
            out.append(f"This Python is {sys.executable}: run xl-ameyo addin install with it "
                       "to switch")
        return out


def status(*, platform: str | None = None, folder: Path | None = None) -> Status:
    """Where the add-in is (or would go), and which Python the installed copy runs."""
    platform = sys.platform if platform is None else platform
    kind = _platform_name(platform)
    target = _folder(platform, folder) / ADDIN_NAME
    if not target.is_file():
        return Status(target, False, None, False)
    try:
        config = read_config(target.read_bytes())
    except Exception:  # not our add-in, or damaged: say what is there
        return Status(target, True, None, False)
    try:
        mine = python_config(platform)
    except InstallError:  # this Python could not be installed: it is not the one running
        mine = {}
    keys = ("Interpreter_Win", "Conda Path", "Conda Env") if kind == "windows" \
        else ("Interpreter_Mac",)
    current = bool(mine) and all(_same(config.get(k, ""), mine.get(k, "")) for k in keys)
    return Status(target, True, _describe(config, kind), current)
