"""Who may call the simulator: users, passwords, and which contact centers they may not use.

Users live in memory only (never in the database or the request log), so no password is
ever written anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimUser:
    username: str
    password: str = field(repr=False)
    #: contact centers this user may not use (403 AUTH-1002)
    denied_cc_lists: frozenset[int] = frozenset()


#: The README's seed users.
SEED_USERS = (
    SimUser("demo", "demo-pass"),
    SimUser("viewer", "viewer-pass", frozenset({1})),
)


def build_users(users: Mapping[str, str] | Iterable[SimUser] | None) -> dict[str, SimUser]:
    """The configured users: the seed users when ``users`` is None, else exactly those given
    (a mapping of user name to password gives users with access to every contact center).
    """
    if users is None:
        chosen: Iterable[SimUser] = SEED_USERS
    elif isinstance(users, Mapping):
        chosen = [SimUser(str(name), str(pw)) for name, pw in users.items()]
    else:
        chosen = list(users)
    out = {u.username: u for u in chosen}
    if not out:
        raise ValueError("the simulator needs at least one user")
    return out


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic ...`` header, or None if malformed."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


def authenticate(users: Mapping[str, SimUser], authorization: str | None) -> SimUser | None:
    """The user whose credentials the header carries, or None (missing or wrong)."""
    creds = basic_credentials(authorization)
    if creds is None:
        return None
    user = users.get(creds[0])
    if user is None or not hmac.compare_digest(
        user.password.encode("utf-8"), creds[1].encode("utf-8")
    ):
        return None
    return user
