"""Where the user name and password come from: never the workbook.

Lookup order for the password: the environment's ``AMEYO_PASSWORD``, then the operating
system's credential store (keyring), under the service name ``xl-ameyo <base_url>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from xl_ameyo.errors import CredentialsError

SERVICE_PREFIX = "xl-ameyo"


def service_name(base_url: str) -> str:
    """The credential-store service for one server: passwords are per server and user.

    Scheme and host are compared ignoring case and a trailing ``/`` is ignored, as the Settings
    sheet's ``base_url`` is, so ``xl-ameyo login`` and an upload find the same entry.
    """
    parts = urlsplit(base_url.strip())
    url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
    return f"{SERVICE_PREFIX} {url.rstrip('/')}"


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


#: keyring backends that keep passwords readable by anyone who can read one file (base64
#: or nothing at all): keyrings.alt's PlaintextKeyring (the only backend a headless Linux
#: often has), and its old unencrypted Windows registry and file backends
PLAINTEXT_BACKENDS = frozenset({
    "keyrings.alt.file.PlaintextKeyring",
    "keyrings.alt.Windows.RegistryKeyring",
    "keyrings.alt.Gnome.Keyring",
})


def _backend_path(backend: object) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def writing_backend(backend: object) -> object:
    """The backend a password is written to: a chain writes to its first member."""
    members = getattr(backend, "backends", None)
    if members:
        return members[0]
    return backend


def plaintext_backend() -> str | None:
    """The dotted name of the credential store ``login`` would write to when it keeps
    passwords as plain text (see :data:`PLAINTEXT_BACKENDS`), else None."""
    import keyring

    target = writing_backend(keyring.get_keyring())
    path = _backend_path(target)
    return path if path in PLAINTEXT_BACKENDS else None


def check_store(*, allow_plaintext: bool = False) -> None:
    """Raise :class:`CredentialsError` when the store ``login`` would write to keeps
    passwords as plain text (unless ``allow_plaintext``), saying what to use instead."""
    found = plaintext_backend()
    if found and not allow_plaintext:
        raise CredentialsError(
            f"The credential store here is {found}, which keeps passwords as plain "
            "text in a file; nothing was stored",
            hint="Install a real store (Linux: the Secret Service, e.g. gnome-keyring, with "
            "the secretstorage package; or keyrings.alt's EncryptedKeyring with pycryptodome "
            "and PYTHON_KEYRING_BACKEND=keyrings.alt.file.EncryptedKeyring), or set "
            "AMEYO_PASSWORD from your scheduler's secret store; --allow-plaintext-keyring "
            "stores it anyway",
        )


def store_password(base_url: str, username: str, password: str, *,
                   allow_plaintext: bool = False) -> str:
    """Keep the password in the OS credential store; returns the store's name for messages.

    A store that keeps it as plain text is refused unless ``allow_plaintext``."""
    import keyring
    from keyring.errors import KeyringError

    check_store(allow_plaintext=allow_plaintext)
    try:
        keyring.set_password(service_name(base_url), username, password)
    except KeyringError as exc:
        raise CredentialsError(
            f"This machine has no usable credential store ({type(exc).__name__})",
            hint="Set the environment variable AMEYO_PASSWORD instead (e.g. from your "
            "scheduler's secret store)",
        ) from None
    return _store_name()


def delete_password(base_url: str, username: str) -> bool:
    """Remove a stored password; False when there was none."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(service_name(base_url), username)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise CredentialsError(
            f"This machine has no usable credential store ({type(exc).__name__})"
        ) from None
    return True


def _store_name() -> str:
    import keyring

    backend = keyring.get_keyring()
    return getattr(backend, "name", type(backend).__name__)


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
