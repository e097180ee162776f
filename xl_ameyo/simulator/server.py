"""Running the simulator: uvicorn in a background thread, for tests (``SimulatorServer``) and
for ``xl-ameyo simulator`` (``run_forever``), which is the same code plus signal handling.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from xl_ameyo.simulator.app import UPLOAD_PATH, SimState, create_app
from xl_ameyo.simulator.connections import ConnectionRegistry, protocol_class
from xl_ameyo.simulator.faults import FaultBook, check_fault
from xl_ameyo.simulator.store import Store
from xl_ameyo.simulator.tasks import TaskRunner
from xl_ameyo.simulator.users import SimUser, build_users

FINISHED_STATES = ("COMPLETED", "FAILED")


def _url_host(host: str) -> str:
    """The host part of a URL a client can use (wildcards become loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class SimulatorServer:
    """A running simulator on a real port, with methods for tests to look inside.

    The same code serves ``xl-ameyo simulator``. Use as a context manager or call
    ``start()``/``stop()``.
    """

    username: str = "demo"
    password: str = "demo-pass"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | None = None,
        tls: bool = False,
        seed: bool = True,
        users: Mapping[str, str] | Iterable[SimUser] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.db_path = str(db_path) if db_path is not None else None
        self.tls = tls
        self.seed = seed
        self.users = build_users(users)
        if "demo" not in self.users:
            first = next(iter(self.users.values()))
            self.username, self.password = first.username, first.password
        self.url = ""
        self.ca_path: str | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._runner: TaskRunner | None = None
        self._faults = FaultBook()

    # --- life cycle ------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._store = Store(self.db_path)
        if self.seed:
            self._store.seed()
        self._runner = TaskRunner(self._store)
        self._runner.start()
        connections = ConnectionRegistry()
        state = SimState(
            store=self._store,
            runner=self._runner,
            faults=self._faults,
            users=self.users,
            connections=connections,
            seed=self.seed,
        )
        self._sock = _bind(self.host, self.port)
        bound_port = self._sock.getsockname()[1]
        ssl: dict[str, Any] = {}
        scheme = "http"
        if self.tls:
            ssl = self._make_certificates()
            scheme = "https"
        config = uvicorn.Config(
            create_app(state),
            http=protocol_class(connections),
            lifespan="off",
            log_config=None,
            log_level="warning",
            server_header=False,
            timeout_graceful_shutdown=2,
            **ssl,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="ameyo-sim-http",
            daemon=True,
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the simulator's web server did not start")
            time.sleep(0.005)
        self.port = bound_port
        self.url = f"{scheme}://{_url_host(self.host)}:{bound_port}"

    def _make_certificates(self) -> dict[str, Any]:
        """A CA made for this run and a server certificate for the loopback names."""
        import trustme

        self._tmp = tempfile.TemporaryDirectory(prefix="ameyo-sim-")
        folder = Path(self._tmp.name)
        names = ["127.0.0.1", "localhost", "::1"]
        if self.host not in (*names, "", "0.0.0.0", "::"):
            names.append(self.host)
        ca = trustme.CA(organization_name="xl_ameyo simulator")
        cert = ca.issue_cert(*names)
        ca.cert_pem.write_to_path(str(folder / "ca.pem"))
        cert.private_key_pem.write_to_path(str(folder / "server.key"))
        (folder / "server.pem").write_bytes(b"".join(b.bytes() for b in cert.cert_chain_pems))
        self.ca_path = str(folder / "ca.pem")
        return {
            "ssl_certfile": str(folder / "server.pem"),
            "ssl_keyfile": str(folder / "server.key"),
        }

    def stop(self) -> None:
        """Stop serving, finish the task under way, close the database (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        self._server = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._runner is not None:
            self._runner.stop()
            self._runner = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.ca_path = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- looking inside and steering (tests, the demo) -----------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the simulator is not running")
        return self._store

    def upload_url(
        self, cc_list_id: int | str = 1, process_id: int | str = 13, lead_id: int | str = 17
    ) -> str:
        """The full upload URL for a lead list (default: the seed's lead list 17)."""
        path = UPLOAD_PATH.format(cc_list_id=cc_list_id, process_id=process_id, lead_id=lead_id)
        return self.url + path

    def reset(self) -> None:
        """Forget contacts, tasks, the request log and faults; keep (restore) the seed."""
        self.store.reset(seed=self.seed)
        self._faults.clear()

    def set_fault(
        self, lead_id: int, fault: str, *, delay: float | None = None, times: int | None = None
    ) -> None:
        """Give the lead list's next uploads (all, or ``times`` of them) this fault."""
        self._faults.set(lead_id, check_fault(fault, delay, times))

    def clear_faults(self) -> None:
        self._faults.clear()

    def hide_task_status(self, answer: int | None = 404) -> None:
        """Make the task GET extensions answer ``answer`` (404 or 405) as a server without
        them does; None serves them again (so do reset and clear_faults)."""
        if answer not in (None, 404, 405):
            raise ValueError("answer must be 404, 405 or None")
        self._faults.no_task_status = answer

    def faults(self) -> dict[int, dict]:
        """The faults set per lead list: {lead_id: {"name", "delay", "times"}}."""
        return {lead: f.as_dict() for lead, f in sorted(self._faults.all().items())}

    def upload_requests(self) -> list[dict]:
        """Every upload POST received, oldest first (no Authorization header, no password)."""
        return self.store.upload_requests()

    def contacts(self, lead_id: int) -> list[dict]:
        return self.store.contacts(lead_id)

    def tasks(self) -> list[dict]:
        return self.store.tasks()

    def task(self, task_id: str | int) -> dict | None:
        return self.store.task(int(task_id))

    def wait_for_task(self, task_id: str | int, timeout: float = 10.0) -> dict:
        """The task once COMPLETED or FAILED; LookupError if unknown, TimeoutError if slow."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.store.task(int(task_id))
            if task is None:
                raise LookupError(f"no contact upload task {task_id}")
            if task["status"] in FINISHED_STATES:
                return task
            if time.monotonic() >= deadline:
                raise TimeoutError(f"task {task_id} is still {task['status']} after {timeout} s")
            time.sleep(0.01)

    def add_lead_list(
        self, cc_list_id: int, process_id: int, lead_id: int, *, name: str | None = None
    ) -> None:
        """Add a lead list (and its process and contact center when new); reset removes it."""
        self.store.add_lead_list(cc_list_id, process_id, lead_id, lead_name=name)

    def mark_dialed(self, lead_id: int, phone1s: list[str] | None = None) -> int:
        """Play the dialer: the lead list's contacts (or those phone1s) were called once."""
        return self.store.mark_dialed(lead_id, phone1s)


def run_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8443,
    db_path: str | None = None,
    tls: bool = False,
    echo: Callable[[str], Any] = print,
) -> None:
    """Serve until Ctrl-C or SIGTERM, then stop cleanly (``xl-ameyo simulator``)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(name)s: %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    wanted = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGBREAK"):  # Ctrl-Break on Windows
        wanted.append(signal.SIGBREAK)
    previous = {sig: signal.signal(sig, on_signal) for sig in wanted}
    server = SimulatorServer(host=host, port=port, db_path=db_path, tls=tls)
    try:
        try:
            server.start()
        except OSError as exc:
            raise SystemExit(
                f"xl-ameyo simulator: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        except sqlite3.Error as exc:
            raise SystemExit(
                f"xl-ameyo simulator: cannot use the database {db_path}: {exc}"
            ) from None
        echo(f"Ameyo simulator listening on {server.url}")
        if server.ca_path:
            echo(f"CA certificate (set ca_bundle to it): {server.ca_path}")
        echo(f"Demo user: {server.username} / {server.password}")
        echo(f"Database: {db_path if db_path else 'temporary (in memory, gone at exit)'}")
        echo("Press Ctrl-C to stop.")
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        while not stop.wait(0.2):
            if not server.running:
                raise SystemExit("xl-ameyo simulator: the web server stopped unexpectedly")
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
