"""The wire: the adapter mounted on the (possibly injected) session, retries on connect only,
and the deadline that bounds the whole answer.

* Only failures before any byte of the upload left this machine (refused, unknown host,
  connect timeout, TLS handshake) may be retried, and urllib3 does that: its ``Retry`` counts
  ``connect`` errors separately and raises every other error untouched (``read=False``).
* ``timeout_s`` bounds the whole wait for the answer (SPEC §5), not each read: a server that
  trickles a byte every few seconds never trips a per-read timeout. urllib3 has no total
  read deadline, so :class:`Deadline` arms a timer when the request has been sent (the
  connection's ``getresponse``) and, when it fires, shuts the socket down: the blocked read
  returns at once and the failure is reported as a timeout.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import requests
import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

#: How many bytes urllib3 reads from the body per send (its default is 16 KiB).
_SEND_BLOCK = 1 << 16
#: ``proxies`` for a request that must not use any proxy (None removes the environment's)
NO_PROXIES = {"http": None, "https": None, "all": None}


class Deadline:
    """At most ``seconds`` from the moment the request is sent to the end of the answer."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._sock: socket.socket | None = None
        self._done = False

    def arm(self, sock: socket.socket | None) -> None:
        """Start counting (the request is out); the first arming of a request counts."""
        with self._lock:
            if self._done or self._timer is not None or sock is None:
                return
            self._sock = sock
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._done or self._sock is None:
                return
            self.expired = True
            with contextlib.suppress(OSError):
                # the plain socket's shutdown, also for a TLS socket (whose own would first
                # try to end the TLS session): the reading thread's recv returns at once
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        with self._lock:
            self._done = True
            if self._timer is not None:
                self._timer.cancel()


_current = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """The deadline of the requests this thread makes inside the block."""
    d = Deadline(seconds)
    _current.deadline = d
    try:
        yield d
    finally:
        _current.deadline = None
        d.cancel()


def _arm(conn: HTTPConnection) -> None:
    d = getattr(_current, "deadline", None)
    if d is not None:
        d.arm(conn.sock)


class _Connection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        _arm(self)
        return super().getresponse(*args, **kwargs)


class _TLSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        _arm(self)
        return super().getresponse(*args, **kwargs)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


_POOLS = {"http": _Pool, "https": _TLSPool}


class _Adapter(requests.adapters.HTTPAdapter):
    """Sends the body in 64 KiB blocks (urllib3 reads 16 KiB by default: fewer system calls
    for a 200 MB upload, memory still constant), over connections that know the deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blocksize", _SEND_BLOCK)
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def adapter(connect_retries: int) -> requests.adapters.HTTPAdapter:
    """An adapter that retries connecting only (nothing sent yet) and raises everything else
    as it happened: ``read=False`` keeps a read timeout a ReadTimeout (``read=0`` would turn it
    into a MaxRetryError); ``respect_retry_after_header=False`` so a 503 is never re-sent."""
    retry = Retry(
        total=None,
        connect=connect_retries,
        read=False,
        status=0,
        other=0,
        redirect=0,
        allowed_methods=None,
        status_forcelist=None,
        backoff_factor=0.2,
        respect_retry_after_header=False,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    return _Adapter(max_retries=retry)


def read_limited(response: requests.Response, limit: int) -> bytes:
    """The body, at most ``limit + 1`` bytes (one more says "too long")."""
    out = bytearray()
    for chunk in response.iter_content(65536):
        out += chunk
        if len(out) > limit:
            break
    return bytes(out[: limit + 1])
