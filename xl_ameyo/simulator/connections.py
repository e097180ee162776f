"""Really dropping a connection, for the ``drop`` fault.

ASGI gives an application no way to reset its connection: raising after
``http.response.start`` makes uvicorn write the status line first, and clients then see an
HTTP answer with a cut body (``requests`` raises ChunkedEncodingError, not ConnectionError).
So the server runs uvicorn's h11 protocol with one addition: it files each connection's
transport under (server address, client address), which the ASGI scope also carries. The
``drop`` fault looks the transport up, sets SO_LINGER to zero and aborts it: the kernel sends
a TCP reset, and the client sees "connection reset" whether it is still sending or already
waiting for the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import threading
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

Address = tuple[str, int]
#: struct linger {on, 0 seconds}: two u_shorts on Windows, two ints elsewhere
_LINGER_ZERO = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)


def _address(info: Any) -> Address | None:
    if isinstance(info, (tuple, list)) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None


class ConnectionRegistry:
    """Open connections of one server, by (server address, client address)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._transports: dict[tuple[Address, Address], asyncio.BaseTransport] = {}

    def add(self, transport: asyncio.BaseTransport) -> tuple[Address, Address] | None:
        local = _address(transport.get_extra_info("sockname"))
        remote = _address(transport.get_extra_info("peername"))
        if local is None or remote is None:
            return None
        with self._lock:
            self._transports[(local, remote)] = transport
        return (local, remote)

    def remove(self, key: tuple[Address, Address] | None) -> None:
        if key is not None:
            with self._lock:
                self._transports.pop(key, None)

    def find(self, scope: dict) -> asyncio.BaseTransport | None:
        local, remote = _address(scope.get("server")), _address(scope.get("client"))
        if local is None or remote is None:
            return None
        with self._lock:
            return self._transports.get((local, remote))


def reset_connection(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP reset (RST), not an orderly FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: abort() is enough
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    transport.abort()  # type: ignore[attr-defined]


def protocol_class(registry: ConnectionRegistry) -> type[H11Protocol]:
    """uvicorn's h11 protocol, filing its transports in ``registry``."""

    class RegisteredH11Protocol(H11Protocol):
        _registry_key: tuple[Address, Address] | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._registry_key = registry.add(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            registry.remove(self._registry_key)
            super().connection_lost(exc)

        def shutdown(self) -> None:
            # An idle TLS keep-alive connection would wait for the client's close_notify,
            # which an idle client never sends: stopping took the whole graceful timeout.
            super().shutdown()
            transport = self.transport
            if transport.is_closing() and transport.get_extra_info("sslcontext") is not None:
                transport.abort()

    return RegisteredH11Protocol
