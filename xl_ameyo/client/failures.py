"""A failed request -> the :class:`AmeyoError` that says whether it may have reached the
server (SPEC §5): only failures before any byte of the upload left may be retried or called
"nothing was sent"."""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import Iterator

import requests
import urllib3.exceptions

from xl_ameyo.client.answers import excerpt
from xl_ameyo.errors import (
    AmeyoConnectionError,
    AmeyoConnectionLost,
    AmeyoError,
    AmeyoTimeout,
    AmeyoTLSError,
)


def host_port(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{host}:{port}"



# --- transport failures ----------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: requests and urllib3 nest errors in args/reason."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        nested = [
            getattr(e, "reason", None),
            getattr(e, "original_error", None),
            e.__cause__,
            e.__context__,
            *getattr(e, "args", ()),
        ]
        todo.extend(n for n in nested if isinstance(n, BaseException))


def _first(exc: BaseException, kinds: type | tuple[type, ...]) -> BaseException | None:
    return next((e for e in _causes(exc) if isinstance(e, kinds)), None)


def _os_reason(exc: BaseException) -> str | None:
    """The operating system's words for the innermost socket error ("connection refused")."""
    for e in _causes(exc):
        if isinstance(e, OSError) and e.strerror:
            return e.strerror[0].lower() + e.strerror[1:]
    return None


def _tls_reason(exc: BaseException) -> str:
    for e in _causes(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {e.verify_message}"
        if isinstance(e, ssl.SSLError):
            return e.reason or str(e)
        if isinstance(e, ssl.CertificateError):
            return str(e)
    return "TLS handshake failed"


#: what to do when the proxy (from the environment) failed
PROXY_HINT = (
    "Check the proxy in the HTTPS_PROXY / HTTP_PROXY environment variables (or list the server "
    "in NO_PROXY), or ask the network team"
)


def _proxy_reason(exc: BaseException, connect_timeout: float) -> str:
    """Why the proxy failed: TLS, a timeout, the system's words, or the proxy's answer to the
    tunnel request ("Tunnel connection failed: 403 Forbidden")."""
    if _first(exc, (urllib3.exceptions.SSLError, ssl.SSLError)):
        return _tls_reason(exc)
    reason = _os_reason(exc)  # "connection refused"
    if reason:
        return reason
    if _first(exc, TimeoutError) or any(
        type(e) is urllib3.exceptions.ConnectTimeoutError for e in _causes(exc)
    ):
        return f"no connection within {connect_timeout:g} s"
    said = [str(e) for e in _causes(exc) if type(e) is OSError and str(e)]
    if said:
        return excerpt(said[-1][:1].lower() + said[-1][1:], 100)
    return "the proxy failed"


def transport_error(
    exc: BaseException,
    *,
    where: str,
    connect_timeout: float,
    read_timeout: float,
    sent: int | None,
    total: int | None,
    proxy: str | None = None,
    deadline_passed: bool = False,
) -> AmeyoError:
    """Classify a requests/urllib3 failure: did the request possibly reach the server?

    ``proxy`` is the proxy the request went through (from the environment), if any;
    ``deadline_passed``: the answer took longer than ``read_timeout`` in all, so the
    connection was cut (:class:`~xl_ameyo.client.transport.Deadline`)."""
    if deadline_passed:
        return AmeyoTimeout(
            f"The upload went to {where} but no answer came within {read_timeout:g} s"
        )
    progress = ""
    if sent is not None and total:
        progress = f" after {sent:,} of {total:,} bytes of the upload were sent"

    if isinstance(exc, requests.exceptions.ProxyError) or _first(
        exc, urllib3.exceptions.ProxyError
    ):
        # urllib3 raises ProxyError only before it is connected through the proxy (the
        # tunnel included): nothing of the request has left. The proxy's own user name and
        # password (in HTTPS_PROXY) are never shown: host and port only.
        via = f"the proxy {host_port(proxy)}" if proxy else "the proxy"
        return AmeyoConnectionError(
            f"Could not connect to {where} through {via}: "
            f"{_proxy_reason(exc, connect_timeout)} (nothing was sent)",
            hint=PROXY_HINT,
        )
    if isinstance(exc, OSError) and not isinstance(exc, requests.RequestException):
        # requests raises a bare OSError for a missing CA bundle, before connecting
        return AmeyoTLSError(
            f"Cannot use the CA bundle: {excerpt(str(exc), 200)} (nothing was sent)"
        )
    if isinstance(exc, requests.exceptions.SSLError) or _first(exc, urllib3.exceptions.SSLError):
        return AmeyoTLSError(
            f"Could not set up a secure (TLS) connection to {where}: {_tls_reason(exc)} "
            "(nothing was sent)"
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return AmeyoConnectionError(
            f"Could not connect to {where} within {connect_timeout:g} s (nothing was sent)"
        )
    if _first(exc, urllib3.exceptions.NameResolutionError):
        host = where.rsplit(":", 1)[0]
        return AmeyoConnectionError(
            f"Could not find the server {host}: unknown host name (nothing was sent)"
        )
    if _first(exc, urllib3.exceptions.NewConnectionError):
        reason = _os_reason(exc) or "connection failed"
        return AmeyoConnectionError(f"Could not connect to {where}: {reason} (nothing was sent)")
    if isinstance(exc, requests.exceptions.ReadTimeout) or _first(
        exc, urllib3.exceptions.ReadTimeoutError
    ):
        return AmeyoTimeout(
            f"The upload went to {where} but no answer came within {read_timeout:g} s"
        )
    if sent == 0:
        # Not one byte of the body was read from the encoder: the upload cannot have arrived.
        reason = _os_reason(exc) or "the connection broke"
        return AmeyoConnectionError(
            f"The connection to {where} failed before the upload was sent: {reason} "
            "(nothing was sent)"
        )
    reason = _os_reason(exc)
    if _first(exc, TimeoutError) and not _first(exc, ConnectionError):
        reason = f"the server stopped reading for {connect_timeout:g} s"
    return AmeyoConnectionLost(
        f"The connection to {where} broke{progress}" + (f": {reason}" if reason else "")
    )

