"""The Settings sheet (SPEC §2) -> a typed :class:`Settings`.

Column A holds a key, column B its value, column C free notes (ignored). Every error is a
:class:`~xl_ameyo.errors.SettingsError` that names the cell (``Settings!B4``, with the sheet's
actual name) and says what to do.

Decisions where SPEC is silent:

- The header row is the first *non-empty* row when its A cell is ``Setting`` or ``Key`` (any
  case, trimmed); a row with empty A and empty B is skipped wherever it is (notes in C alone do
  not matter); empty A with a value in B is an error naming the A cell.
- Keys are trimmed and case-insensitive; spaces, underscores and hyphens are alike and runs of
  them count as one (``Lead ID`` = ``lead-id`` = ``lead_id``).
- Unknown keys are errors suggesting the closest known key. A key that spells ``password``
  (also ``passwd``, ``pwd``, or any key containing ``password``) is refused without echoing its
  value. A key given twice is an error naming both cells.
- ``base_url`` must be ``https://host[:port][/path]`` (``http://`` only for loopback hosts:
  ``localhost``, 127.0.0.0/8, ``::1``); a user name/password, query or fragment in it is
  refused; a trailing ``/`` is dropped; the scheme is lower-cased, the rest kept as typed.
- ``origin`` defaults to ``scheme://host`` of base_url (no port, no path; an IPv6 host in
  brackets); a given origin must be ``http(s)://host[:port]`` (trailing ``/`` dropped).
- ids and ``max_rows_per_upload``: positive whole numbers as numbers (``17``, ``17.0``) or text
  of ASCII digits (``" 17 "``). Booleans and dates are refused.
- ``user_id``, ``username``, ``data_sheet``: text trimmed; a number cell is written as the
  analyst sees it (``1001.0`` -> ``1001``); booleans, dates and errors are refused.
- ``ca_bundle``: text trimmed, with surrounding double quotes removed (Windows' "Copy as path"
  adds them); the file is not checked here (the core does not touch the file system).
- ``timeout_s``: a positive finite number, or text of one (``"2.5"``).
- ``on_invalid_rows``: ``skip`` or ``block``, any case, trimmed.
- An Excel error cell (``#N/A``) as a value is an error naming the cell, even for optional keys.
- ``phone_country``: two letters, any case, a country libphonenumber has a plan for (``IN``,
  ``us``); ``phone_format``: ``national`` or ``international``, any case; a phone_format
  without phone_country is an error naming its cell (it would be ignored otherwise).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from xl_ameyo.columns import CellError, column_letter
from xl_ameyo.errors import SettingsError
from xl_ameyo.rules import broken_character, format_value, short
from xl_ameyo.urls import default_origin, is_loopback

__all__ = ["KEYS", "REQUIRED_KEYS", "Settings", "column_letter", "normalise_key", "parse_settings"]


@dataclass(frozen=True)
class Settings:
    base_url: str
    cc_list_id: int
    process_id: int
    lead_id: int
    user_id: str
    update_duplicate: bool = False
    churn_updated_records: bool = False
    migrate: bool = False
    username: str | None = None
    data_sheet: str | None = None
    origin: str = ""
    ca_bundle: str | None = None
    verify_tls: bool = True
    timeout_s: float = 300.0
    on_invalid_rows: str = "skip"  # "skip" | "block"
    max_rows_per_upload: int | None = None
    #: ISO 3166 country whose numbering plan phone fields follow (None: the 7-15 digit rule)
    phone_country: str | None = None
    phone_format: str = "national"  # "national" | "international", with phone_country


#: every known key, in the order the template lists them
KEYS = (
    "base_url",
    "cc_list_id",
    "process_id",
    "lead_id",
    "user_id",
    "update_duplicate",
    "churn_updated_records",
    "migrate",
    "username",
    "data_sheet",
    "origin",
    "ca_bundle",
    "verify_tls",
    "timeout_s",
    "on_invalid_rows",
    "max_rows_per_upload",
    "phone_country",
    "phone_format",
)
REQUIRED_KEYS = ("base_url", "cc_list_id", "process_id", "lead_id", "user_id")

_EXAMPLES = {
    "base_url": "the server's address, e.g. https://ameyo.example.com:8443",
    "cc_list_id": "the contact center's id (a whole number)",
    "process_id": "the process id (a whole number)",
    "lead_id": "the lead list's id (a whole number)",
    "user_id": "the Ameyo user id to upload as",
}
_HEADER_KEYS = ("setting", "key")
_SEPARATORS = re.compile(r"[\s_\-]+")
_DIGITS = re.compile(r"[0-9]+")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def normalise_key(text: str) -> str:
    """``' Lead ID '`` -> ``lead_id``."""
    return _SEPARATORS.sub("_", text.strip().casefold()).strip("_")


def _is_password_key(key: str) -> bool:
    flat = key.replace("_", "")
    return "password" in flat or flat in {"passwd", "pwd", "pass", "passcode"}


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(row: list, col: int):
    return row[col] if len(row) > col else None


class _Reader:
    """Turns one value cell into a typed value, or raises naming the cell."""

    def __init__(self, key: str, value, where: str):
        self.key, self.value, self.where = key, value, where

    def fail(self, message: str, hint: str) -> SettingsError:
        return SettingsError(message, where=self.where, hint=hint)

    def positive_int(self) -> int:
        v = self.value
        hint = f"Type {self.key} as a positive whole number, e.g. 17"
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise self.fail(f"{self.key} must be a positive whole number, not {short(v)}", hint)
        if isinstance(v, str):
            text = v.strip()
            if not _DIGITS.fullmatch(text):
                raise self.fail(
                    f"{self.key} must be a positive whole number, not '{short(v)}'", hint
                )
            n = int(text)
        elif isinstance(v, float):
            if not math.isfinite(v) or not v.is_integer():
                raise self.fail(f"{self.key} must be a positive whole number, not {short(v)}", hint)
            n = int(v)
        else:
            n = int(v)
        if n <= 0:
            raise self.fail(f"{self.key} must be a positive whole number, not {n}", hint)
        return n

    def boolean(self) -> bool:
        v = self.value
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)) and v in (0, 1):
            return bool(v)
        if isinstance(v, str):
            text = v.strip().casefold()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise self.fail(
            f"{self.key} must be TRUE or FALSE, not '{short(v)}'",
            "Type TRUE or FALSE (yes/no and 1/0 work too)",
        )

    def text(self) -> str:
        v = self.value
        if isinstance(v, str) and broken_character(v):
            raise self.fail(
                f"{self.key} holds a broken character ({broken_character(v)}) that cannot be "
                "sent", f"Retype {self.key}")
        if isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool)):
            try:
                return format_value(v)
            except ValueError:
                pass
        raise self.fail(f"{self.key} must be text, not {short(v)}", f"Type {self.key} as text")

    def positive_number(self) -> float:
        v = self.value
        x: float | None = None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            x = float(v)
        elif isinstance(v, str):
            try:
                x = float(v.strip())
            except ValueError:
                x = None
        if x is None or not math.isfinite(x) or x <= 0:
            raise self.fail(
                f"{self.key} must be a positive number of seconds, not '{short(v)}'",
                f"Type {self.key} as a number, e.g. 300",
            )
        return x

    def choice(self, options: tuple[str, ...]) -> str:
        v = self.value
        if isinstance(v, str) and v.strip().casefold() in options:
            return v.strip().casefold()
        raise self.fail(
            f"{self.key} must be {' or '.join(options)}, not '{short(v)}'",
            f"Type one of: {', '.join(options)}",
        )

    def country(self) -> str:
        from xl_ameyo.phones import is_country

        code = self.text().strip().upper()
        if not (len(code) == 2 and code.isascii() and code.isalpha() and is_country(code)):
            raise self.fail(
                f"phone_country must be a two-letter country code, not '{short(self.value)}'",
                "Type the country's ISO 3166 code, e.g. IN for India, US, GB, AE",
            )
        return code

    def url(self, *, origin: bool = False) -> str:
        text = self.text()
        what = "origin" if origin else "base_url"
        shape = "https://host[:port]" if origin else "https://host[:port][/path]"
        hint = f"Type {what} as {shape}, e.g. https://ameyo.example.com:8443"
        if any(c.isspace() for c in text):
            raise self.fail(f"{what} must not contain spaces", hint)
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise self.fail(f"{what} is not a valid address ({exc})", hint) from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.netloc:
            raise self.fail(
                f"{what} '{short(text, 60)}' must start with https:// and a host name", hint
            )
        if parts.username is not None or parts.password is not None:
            # never echo: the text may hold a password
            raise self.fail(
                f"{what} must not contain a user name or password",
                "Remove 'user:password@' from it; the user name goes in username, the password "
                "in AMEYO_PASSWORD or the credential store (xl-ameyo login)",
            )
        host = parts.hostname
        if not host:
            raise self.fail(f"{what} '{short(text, 60)}' has no host name", hint)
        if parts.query or parts.fragment or text.endswith(("?", "#")):
            raise self.fail(f"{what} must not contain '?' or '#'", hint)
        path = parts.path.rstrip("/")
        if origin and path:
            raise self.fail(f"origin must not contain a path ('{short(parts.path)}')", hint)
        if scheme == "http" and not is_loopback(host):
            raise self.fail(
                f"{what} uses http:// for '{host}': the password would travel unencrypted",
                "Use https:// (http:// is accepted only for localhost, 127.x.x.x and ::1)",
            )
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc = f"{netloc}:{port}"
        return f"{scheme}://{netloc}{path}"






def parse_settings(rows: list[list], sheet: str = "Settings") -> Settings:
    """The Settings sheet's rows (values per cell, row index 0 = sheet row 1) -> Settings.

    Raises :class:`SettingsError` naming the cell for every problem."""
    found: dict[str, tuple[object, int]] = {}  # key -> (value, sheet row)
    seen_content = False
    for index, row in enumerate(rows):
        number = index + 1
        row = list(row) if row is not None else []
        a, b = _cell(row, 0), _cell(row, 1)
        if _blank(a):
            if _blank(b):
                continue
            raise SettingsError(
                f"B{number} has a value but A{number} has no key",
                where=f"{sheet}!A{number}",
                hint=f"Type the setting's name in A{number}, or clear B{number}",
            )
        if isinstance(a, CellError):
            raise SettingsError(
                f"the key cell holds the Excel error {a.code}",
                where=f"{sheet}!A{number}",
                hint="Type the setting's name as text",
            )
        try:
            key_text = format_value(a)
        except (ValueError, TypeError):
            key_text = short(a)
        key = normalise_key(key_text)
        first = not seen_content
        seen_content = True
        if first and key in _HEADER_KEYS:
            continue
        if _is_password_key(key):
            raise SettingsError(
                "a password does not belong in the workbook",
                where=f"{sheet}!A{number}",
                hint=(
                    f"Delete row {number} of sheet '{sheet}', then put the password in the "
                    "AMEYO_PASSWORD environment variable or the credential store "
                    "(xl-ameyo login)"
                ),
            )
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
            hint = (
                f"Did you mean '{close[0]}'? Fix the key or delete the row"
                if close
                else f"Known keys: {', '.join(KEYS)}. Fix the key or delete the row"
            )
            raise SettingsError(
                f"unknown setting '{short(key_text)}'", where=f"{sheet}!A{number}", hint=hint
            )
        if key in found:
            earlier = found[key][1]
            raise SettingsError(
                f"{key} is set twice, in A{earlier} and A{number}",
                where=f"{sheet}!A{number}",
                hint="Keep one of the two rows",
            )
        found[key] = (b, number)

    def reader(key: str) -> _Reader | None:
        """The value's reader, or None when the key is absent or its value empty."""
        if key not in found:
            return None
        value, number = found[key]
        where = f"{sheet}!B{number}"
        if isinstance(value, CellError):
            raise SettingsError(
                f"{key} holds the Excel error {value.code}",
                where=where,
                hint="Fix the formula or type the value",
            )
        if _blank(value):
            return None
        return _Reader(key, value, where)

    def required(key: str) -> _Reader:
        r = reader(key)
        if r is not None:
            return r
        if key in found:
            number = found[key][1]
            raise SettingsError(
                f"{key} has no value",
                where=f"{sheet}!B{number}",
                hint=f"Fill in {_EXAMPLES[key]} in B{number}",
            )
        raise SettingsError(
            f"{key} is missing",
            where=f"sheet '{sheet}'",
            hint=f"Add a row with {key} in column A and {_EXAMPLES[key]} in column B",
        )

    def optional(key: str, convert, default):
        r = reader(key)
        return default if r is None else convert(r)

    base_url = required("base_url").url()
    values = dict(
        base_url=base_url,
        cc_list_id=required("cc_list_id").positive_int(),
        process_id=required("process_id").positive_int(),
        lead_id=required("lead_id").positive_int(),
        user_id=required("user_id").text(),
        update_duplicate=optional("update_duplicate", _Reader.boolean, False),
        churn_updated_records=optional("churn_updated_records", _Reader.boolean, False),
        migrate=optional("migrate", _Reader.boolean, False),
        username=optional("username", _Reader.text, None),
        data_sheet=optional("data_sheet", _Reader.text, None),
        origin=optional("origin", lambda r: r.url(origin=True), None) or default_origin(base_url),
        ca_bundle=optional("ca_bundle", lambda r: r.text().strip('"').strip() or None, None),
        verify_tls=optional("verify_tls", _Reader.boolean, True),
        timeout_s=optional("timeout_s", _Reader.positive_number, 300.0),
        on_invalid_rows=optional("on_invalid_rows", lambda r: r.choice(("skip", "block")), "skip"),
        max_rows_per_upload=optional("max_rows_per_upload", _Reader.positive_int, None),
        phone_country=optional("phone_country", _Reader.country, None),
    )
    phone_format = reader("phone_format")
    if phone_format is not None:
        if values["phone_country"] is None:
            raise phone_format.fail(
                "phone_format is set but phone_country is not",
                "Set phone_country (e.g. IN), or clear phone_format",
            )
        values["phone_format"] = phone_format.choice(("national", "international"))
    return Settings(**values)
