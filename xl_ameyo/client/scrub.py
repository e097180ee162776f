"""Secrets out of every text that came from the server, in every form a server may echo them.

A server (a debug page, a misconfigured proxy, a reflected header) can send the credentials
back in another shape than they were sent: percent-encoded (``quote``, ``quote_plus``, upper-
or lower-case hex), as the Basic token (Base64), as its UTF-8 bytes read as latin-1 (how
``http.client`` decodes a header) or cp1252, or JSON-escaped. No library scrubs such variants,
so :class:`Scrubber` builds one regular expression per secret in which every character may
appear in any of those forms, and replaces every match with ``***`` (SPEC §5).
"""

from __future__ import annotations

import base64
import contextlib
import re

import requests
import requests.auth

__all__ = ["BasicAuth", "Scrubber", "no_secrets"]


class BasicAuth(requests.auth.AuthBase):
    """Basic auth whose repr names the user only (requests' own keeps the password in vars)."""

    __slots__ = ("_header", "username")

    def __init__(self, username: str, password: str):
        self.username = username
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    @property
    def token(self) -> str:
        """The Base64 part of the header (a secret like the password)."""
        return self._header.split(" ", 1)[1]

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["authorization"] = self._header
        return r

    def __repr__(self) -> str:
        return f"<basic auth for {self.username!r}>"


_AUTH_VALUE = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(basic|bearer)\s+[^\s\"'<>,;]+")


def _hex_digits(value: int, width: int) -> str:
    """``value`` in hex, as a pattern matching upper- and lower-case digits."""
    return "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{value:0{width}X}")


def _hex(byte: int) -> str:
    """``%XX`` of one byte (percent-encoding), any case."""
    return "%" + _hex_digits(byte, 2)


def _char_forms(ch: str) -> list[str]:
    """Patterns for one character of a secret: itself and each way a server may echo it."""
    data = ch.encode("utf-8", "surrogatepass")
    forms = {re.escape(ch), "".join(_hex(b) for b in data)}
    if ch == " ":
        forms.add(r"\+")  # quote_plus, form encoding
    if ch in "\"\\/":
        forms.add(re.escape("\\" + ch))  # JSON-escaped
    if len(data) > 1:
        forms.add(re.escape(data.decode("latin-1")))  # UTF-8 bytes read as latin-1
        with contextlib.suppress(UnicodeDecodeError):
            forms.add(re.escape(data.decode("cp1252")))
    if not ch.isascii():
        utf16 = ch.encode("utf-16-be", "surrogatepass")
        units = [int.from_bytes(utf16[i : i + 2], "big") for i in range(0, len(utf16), 2)]
        forms.add("".join(r"\\u" + _hex_digits(u, 4) for u in units))  # JSON's \uXXXX
    return sorted(forms, key=len, reverse=True)


def _secret_pattern(secret: str) -> str:
    return "".join("(?:" + "|".join(_char_forms(ch)) + ")" for ch in secret)


class Scrubber:
    """Removes the given secrets, in every encoding above, and any value after
    ``Authorization:`` from a text before it is shown or stored."""

    __slots__ = ("_pattern",)

    def __init__(self, *secrets: str):
        # longest first, so a token is removed whole before its parts
        unique = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(_secret_pattern(s) for s in unique)) if unique else None

    @classmethod
    def for_credentials(cls, username: str, password: str) -> Scrubber:
        """The password, the Basic token and the password's own Base64."""
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        alone = base64.b64encode(password.encode()).decode("ascii") if password else ""
        urlsafe = token.replace("+", "-").replace("/", "_")
        return cls(password, token, urlsafe, alone.rstrip("="))

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub("***", text)
        return _AUTH_VALUE.sub(r"\1\2 ***", text)

    def __repr__(self) -> str:
        return "<scrubber>"


def no_secrets(text: str) -> str:
    """The default scrubber: only values after ``Authorization:``."""
    return _NO_SECRETS(text)


_NO_SECRETS = Scrubber()
