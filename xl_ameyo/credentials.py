"""Where the user name and password come from: never the workbook.

Lookup order for the password: the environment's ``AMEYO_PASSWORD``, then the operating
system's credential store (keyring), under the service name ``xl-ameyo <base_url>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from xl_ameyo.errors import CredentialsError

SERVICE_PREFIX = "xl-ameyo"


def service_name(base_url: str) -> str:
    """The credential-store service for one server: passwords are per server and user."""
    return f"{SERVICE_PREFIX} {base_url.rstrip('/')}"


def resolve_username(configured: str | None, env: Mapping[str, str] | None = None) -> str:
    """Settings' ``username`` wins; else ``AMEYO_USERNAME``."""
    env = os.environ if env is None else env
    username = (configured or "").strip() or env.get("AMEYO_USERNAME", "").strip()
    if not username:
        raise CredentialsError(
            "No Ameyo user name",
            hint="Set username in the Settings sheet, or the environment variable AMEYO_USERNAME",
        )
    return username


def stored_password(base_url: str, username: str) -> str | None:
    """The password kept in the OS credential store, or None when there is none (or no store)."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        return keyring.get_password(service_name(base_url), username)
    except KeyringError:
        return None


def resolve_password(
    base_url: str, username: str, env: Mapping[str, str] | None = None
) -> str:
    """``AMEYO_PASSWORD`` first, then the credential store; else say which command to run."""
    env = os.environ if env is None else env
    password = env.get("AMEYO_PASSWORD")
    if password:
        return password
    password = stored_password(base_url, username)
    if password:
        return password
    raise CredentialsError(
        f"No password for user '{username}' on {base_url}",
        hint=(
            f"Run: xl-ameyo login --base-url {base_url} --username {username} "
            "(or set the environment variable AMEYO_PASSWORD)"
        ),
    )
