"""Facts about a server address that both the Settings check and the client need."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1`` (brackets and a trailing dot allowed): this
    machine, where plain ``http://`` is acceptable and no proxy can reach it for us."""
    host = (host or "").strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_origin(base_url: str) -> str:
    """The ``origin`` header Ameyo expects: scheme and host of ``base_url``, no port or path
    (an IPv6 host in brackets)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}"
