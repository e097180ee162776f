"""The client a workbook's Settings ask for: the server, its TLS trust, the credentials.

Settings name the server and how to trust it (``ca_bundle``, ``verify_tls``); the password
comes from the environment or the operating system's store, never the workbook. Every front
(the upload, ``status``, the add-in's buttons, the UDFs) makes its client here, so all of them
check the CA bundle and warn about ``verify_tls`` the same way.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from xl_ameyo.client import AmeyoClient
from xl_ameyo.credentials import resolve_password, resolve_username
from xl_ameyo.errors import SettingsError
from xl_ameyo.settings import Settings

__all__ = ["make_client", "tls_verify", "tls_warnings"]


def tls_verify(settings: Settings) -> bool | str:
    """What ``requests`` needs for ``verify``: a CA bundle path, or True/False."""
    if not settings.verify_tls:
        return False
    if settings.ca_bundle:
        path = Path(settings.ca_bundle).expanduser()
        if not path.is_file():
            raise SettingsError(
                f"ca_bundle file '{settings.ca_bundle}' does not exist",
                hint="Fix ca_bundle in the Settings sheet (the PEM file of the server's CA)",
            )
        try:
            ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
            raise SettingsError(
                f"ca_bundle file '{settings.ca_bundle}' holds no usable CA certificate in PEM "
                f"format ({reason})",
                hint="Set ca_bundle to the PEM file of the server's CA (text that starts with "
                "-----BEGIN CERTIFICATE-----; Windows calls it 'Base-64 encoded X.509')",
            ) from None
        return str(path)
    return True


def tls_warnings(settings: Settings) -> list[str]:
    if settings.verify_tls:
        return []
    return [
        "verify_tls is FALSE: the server's certificate is not checked, so the password and the "
        "leads could reach an impostor. Set ca_bundle instead."
    ]


def make_client(settings: Settings, *, session=None) -> AmeyoClient:
    """The client for the configured server, with credentials from the environment or store."""
    username = resolve_username(settings.username)
    password = resolve_password(settings.base_url, username)
    return AmeyoClient(
        settings.base_url,
        username,
        password,
        session=session,
        verify=tls_verify(settings),
        timeout=settings.timeout_s,
        origin=settings.origin,
    )
