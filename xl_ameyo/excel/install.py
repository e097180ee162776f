"""``xl-ameyo addin install|uninstall|status``: the add-in in Excel's startup folder.

Like ``xlwings addin install``, installing copies the add-in into the current user's
``XLSTART`` folder, which Excel opens at every start: the "Ameyo" tab then shows in every
workbook. Unlike it, the folder is computed without starting Excel (:func:`startup_dir`), and
the copy is built for *this* Python: the add-in is made from the installed xlwings' own ribbon
template (so its VBA matches the xlwings version that Python will run) with this interpreter
written into its config sheet (``Interpreter_Win``/``Interpreter_Mac``). On macOS, xlwings'
AppleScript (which ``RunPython`` needs there, ``xlwings runpython install``) is copied too.

| platform | startup folder |
|---|---|
| Windows | ``%APPDATA%\\Microsoft\\Excel\\XLSTART`` |
| macOS (Excel 2016 and later) | ``~/Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel`` |

Other systems have no Excel: every command says so in one line (exit status 2).
"""  # noqa: E501

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from xl_ameyo.errors import XlAmeyoError
from xl_ameyo.excel.xlam import ADDIN_NAME, build_xlam, read_config, template_path

__all__ = [
    "ExcelNotAvailable",
    "InstallError",
    "Status",
    "applescript_dir",
    "install",
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


class InstallError(XlAmeyoError):
    """The add-in file could not be written or removed."""

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


def addin_bytes(interpreter: str, platform: str | None = None) -> bytes:
    """The add-in, from the installed xlwings' template, set to run ``interpreter``."""
    template = template_path().read_bytes()
    if _platform_name(sys.platform if platform is None else platform) == "windows":
        return build_xlam(template, interpreter_win=interpreter)
    return build_xlam(template, interpreter_mac=interpreter)


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
    folder: Path | None = None,
    scripts_folder: Path | None = None,
) -> list[Path]:
    """Install the add-in for the current user; returns the files written. ``folder`` and
    ``scripts_folder`` replace the startup and AppleScript folders (tests)."""
    platform = sys.platform if platform is None else platform
    interpreter = sys.executable if interpreter is None else interpreter
    folder = _require_excel(platform, folder)
    target = folder / ADDIN_NAME
    written = []
    try:
        _write_atomically(target, addin_bytes(interpreter, platform))
        written.append(target)
        if _platform_name(platform) == "macos":
            import xlwings

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


@dataclass(frozen=True)
class Status:
    path: Path
    installed: bool
    interpreter: str | None  # the interpreter the installed copy runs ("" = python on PATH)
    current: bool  # it runs this Python

    def lines(self) -> list[str]:
        if not self.installed:
            return [f"The add-in is not installed (it would go to {self.path}).",
                    "Install it with: xl-ameyo addin install"]
        out = [f"The add-in is installed: {self.path}"]
        if self.interpreter is None:
            return [*out, "Its settings cannot be read: reinstall it with xl-ameyo addin install"]
        out.append(f"It runs: {self.interpreter or 'python (the first one on the PATH)'}")
        if not self.current:
            out.append(f"This Python is {sys.executable}: run xl-ameyo addin install with it "
                       "to switch")
        return out


def status(*, platform: str | None = None, folder: Path | None = None) -> Status:
    """Where the add-in is (or would go), and which Python the installed copy runs."""
    platform = sys.platform if platform is None else platform
    target = _folder(platform, folder) / ADDIN_NAME
    if not target.is_file():
        return Status(target, False, None, False)
    key = "Interpreter_Win" if _platform_name(platform) == "windows" else "Interpreter_Mac"
    try:
        interpreter = read_config(target.read_bytes()).get(key, "")
    except Exception:  # not our add-in, or damaged: say what is there
        interpreter = None
    current = bool(interpreter) and (
        os.path.normcase(os.path.abspath(interpreter))
        == os.path.normcase(os.path.abspath(sys.executable))
    )
    return Status(target, True, interpreter, current)
