"""TLS and proxies through the command line, against the simulator serving HTTPS with a
certificate from a private CA (``SimulatorServer(tls=True)``, CA file at ``.ca_path``).

- default settings (the system's CAs): refused with one line that names ``ca_bundle`` and
  says nothing was sent; the same workbook with ``ca_bundle`` = the CA file uploads;
- ``verify_tls`` FALSE uploads and warns, once, on every run (and nothing else on stderr);
- a ``ca_bundle`` that is missing or holds no certificate: exit 2 naming ``ca_bundle``;
- proxies come from the standard environment variables (``requests`` reads them):
  ``HTTPS_PROXY`` is used for an https base_url (the CONNECT tunnel carries TLS, so the proxy
  never sees the password), ``NO_PROXY`` lists hosts reached directly, this machine
  (loopback) is always reached directly, and a failing proxy is named as such.

Every server here is on 127.0.0.1; the proxy tunnels to listed loopback ports only, and the
one server reached through it has a ``.invalid`` name that never resolves.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from tests.test_failure_matrix import (
    NETWORK_VARS,
    SECRET,
    USER,
    USERS,
    assert_only_log_changed,
    cli_env,
    free_port,
    make_book,
    one_line_error,
    read_log,
    run_upload,
    zip_members,
)
from xl_ameyo.simulator.server import SimulatorServer

TOKEN = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()


@pytest.fixture(scope="module")
def tls_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(host="127.0.0.1", port=0, tls=True, users=USERS) as server:
        yield server


@pytest.fixture
def tls_sim(tls_server: SimulatorServer) -> SimulatorServer:
    tls_server.reset()
    return tls_server


# --- certificates ----------------------------------------------------------------------------


def test_private_ca_fails_by_default_and_ca_bundle_fixes_it(tls_sim, tmp_path):
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url)
    before = zip_members(book)
    result = run_upload(book)
    assert result.exit_code == 1, result.output
    message = one_line_error(result)
    assert "certificate verify failed" in message
    assert "(nothing was sent)" in message
    assert "set ca_bundle in Settings" in message
    assert tls_sim.upload_requests() == []
    [row] = read_log(book)
    assert row["status"] == "FAILED" and "ca_bundle" in row["message"]
    assert_only_log_changed(before, zip_members(book))

    # what the message says to do works
    fixed = make_book(tmp_path / "fixed.xlsx", tls_sim.url, ca_bundle=tls_sim.ca_path)
    result = run_upload(fixed)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    [got] = tls_sim.upload_requests()
    assert got["headers"]["origin"] == "https://127.0.0.1"
    [row] = read_log(fixed)
    assert row["status"] == "OK" and row["task_id"] == str(got["task_id"])


def test_ca_bundle_as_copied_from_windows_explorer(tls_sim, tmp_path):
    """"Copy as path" puts the path in double quotes: they are not part of the path."""
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url, ca_bundle=f'"{tls_sim.ca_path}"')
    result = run_upload(book)
    assert result.exit_code == 0, result.output
    assert len(tls_sim.upload_requests()) == 1


def test_a_different_ca_is_refused(tls_sim, tmp_path):
    """A ca_bundle of another CA (the wrong file, or an impostor server): nothing sent."""
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url, ca_bundle=str(other))
    result = run_upload(book)
    assert result.exit_code == 1, result.output
    message = one_line_error(result)
    assert "certificate verify failed" in message and "ca_bundle" in message
    assert tls_sim.upload_requests() == []


def test_missing_ca_bundle_is_a_settings_error(tls_sim, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url, ca_bundle=str(missing))
    result = run_upload(book)
    assert result.exit_code == 2, result.output
    message = one_line_error(result)
    assert f"ca_bundle file '{missing}' does not exist" in message
    assert "Fix ca_bundle in the Settings sheet" in message
    assert tls_sim.upload_requests() == []
    [row] = read_log(book)
    assert row["status"] == "FAILED" and row["message"] == message


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a certificate\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
    ids=["empty", "text", "damaged PEM"],
)
def test_ca_bundle_without_a_certificate_is_a_settings_error(tls_sim, tmp_path, content):
    """A file that holds no CA certificate is the workbook's setting to fix (exit 2), not a
    server failure, and the message must not tell the person to set what is already set."""
    bad = tmp_path / "ca.pem"
    bad.write_bytes(content)
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url, ca_bundle=str(bad))
    result = run_upload(book)
    assert result.exit_code == 2, result.output
    message = one_line_error(result)
    assert f"ca_bundle file '{bad}'" in message
    assert "PEM" in message
    assert tls_sim.upload_requests() == []


def test_ca_bundle_that_is_a_folder(tls_sim, tmp_path):
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url, ca_bundle=str(tmp_path))
    result = run_upload(book)
    assert result.exit_code == 2, result.output
    assert "ca_bundle" in one_line_error(result)
    assert tls_sim.upload_requests() == []


def test_requests_ca_bundle_variable_is_honoured(tls_sim, tmp_path):
    """Without ca_bundle, requests takes a CA bundle from REQUESTS_CA_BUNDLE (a corporate
    CA set up once per machine): documented in README "Security notes"."""
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url)
    result = run_upload(book, env=cli_env(REQUESTS_CA_BUNDLE=tls_sim.ca_path))
    assert result.exit_code == 0, result.output
    assert len(tls_sim.upload_requests()) == 1


def _subprocess_env(**more: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("AMEYO_") and k.upper() not in NETWORK_VARS
        and k.upper() != "PYTHONWARNINGS"
    }
    env.update(AMEYO_USERNAME=USER, AMEYO_PASSWORD=SECRET, **more)
    return env


def test_verify_tls_false_uploads_and_warns_on_every_run(tls_sim, tmp_path):
    """Run as a real process (Python's warnings are shown once per process): each run
    uploads and prints exactly one warning line, the product's own, nothing else."""
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url, verify_tls=False)
    for run in (1, 2):
        done = subprocess.run(
            [sys.executable, "-m", "xl_ameyo", "upload", str(book), "--allow-reupload"],
            env=_subprocess_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("warning: verify_tls is FALSE")
        assert "Set ca_bundle instead" in lines[0]
        assert len(tls_sim.upload_requests()) == run
    assert [r["status"] for r in read_log(book)] == ["OK", "OK"]


def test_verify_tls_false_warns_in_a_dry_run_too(tls_sim, tmp_path):
    book = make_book(tmp_path / "leads.xlsx", tls_sim.url, verify_tls=False)
    result = run_upload(book, "--dry-run")
    assert result.exit_code == 0
    assert "warning: verify_tls is FALSE" in result.stderr
    assert tls_sim.upload_requests() == []


# --- proxies ---------------------------------------------------------------------------------

#: a name that never resolves: the client cannot reach it directly, only the proxy "knows" it
PROXIED_NAME = "ameyo.proxied.invalid"


class TunnelProxy:
    """A tiny HTTP CONNECT proxy on 127.0.0.1 that records what it saw: the request heads and
    every byte it relayed from the client. It tunnels only to the targets in ``routes``
    (``"host:port"`` -> a loopback port) and answers 403 to anything else."""

    def __init__(self, routes: dict[str, int] | None = None) -> None:
        self.routes = dict(routes or {})
        self.heads: list[str] = []
        self.relayed = bytearray()
        self._lock = threading.Lock()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TunnelProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _record(self, data: bytes) -> None:
        with self._lock:
            self.relayed += data

    def _handle(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        header, _, rest = head.partition(b"\r\n\r\n")
        self._record(head)
        with self._lock:
            self.heads.append(header.decode("latin-1"))
        method, target, _ = header.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        port = self.routes.get(target)
        if method != "CONNECT" or port is None:
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            return
        with socket.create_connection(("127.0.0.1", port)) as upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            back = threading.Thread(target=self._pump, args=(upstream, conn, False))
            back.start()
            self._pump(conn, upstream, True)
            back.join(30)

    def _pump(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if record:
                    self._record(data)
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxy() -> Iterator[TunnelProxy]:
    with TunnelProxy() as p:
        yield p


SUCCESS = {
    "metadata": None,
    "method": "POST",
    "response": [{"data": {"task_id": 4231888909951751}, "http_code": 200, "error_data": None}],
    "http_code": 200,
    "request_id": None,
}


@contextmanager
def named_tls_server(name: str, folder: Path) -> Iterator[tuple[int, str, list]]:
    """An HTTPS server on 127.0.0.1 with a certificate for ``name`` from a CA of its own,
    answering every POST with Ameyo's success envelope: (port, CA file, requests seen as
    (path, Authorization header))."""
    ca = trustme.CA()
    ca_path = folder / "proxied-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            seen.append((self.path, self.headers.get("authorization")))
            data = json.dumps(SUCCESS).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, str(ca_path), seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_https_proxy_from_the_environment_tunnels_and_never_sees_the_password(tmp_path):
    """HTTPS_PROXY is used for a server the client cannot reach itself; the proxy relays the
    upload inside TLS and sees neither the password nor the leads."""
    with named_tls_server(PROXIED_NAME, tmp_path) as (port, ca_path, seen):
        target = f"{PROXIED_NAME}:{port}"
        with TunnelProxy({target: port}) as proxy:
            book = make_book(tmp_path / "leads.xlsx", f"https://{target}", ca_bundle=ca_path)
            result = run_upload(book, env=cli_env(HTTPS_PROXY=proxy.url))
    assert result.exit_code == 0, result.output
    assert len(proxy.heads) == 1
    assert proxy.heads[0].startswith(f"CONNECT {target} HTTP/")
    assert "authorization" not in proxy.heads[0].lower()
    [(path, authorization)] = seen
    assert path == "/v1/cc-list/1/process-list/13/leads/17/contact-upload-tasks"
    assert authorization == f"Basic {TOKEN}"  # it arrived, inside the tunnel
    assert len(proxy.relayed) > 1000
    for secret in (SECRET, TOKEN, "authorization", "9876543210", "Asha Rao"):
        assert secret.encode() not in proxy.relayed, secret
    assert read_log(book)[0]["task_id"] == "4231888909951751"


def test_no_proxy_lists_hosts_reached_directly(tmp_path, proxy):
    book = make_book(tmp_path / "leads.xlsx", "https://ameyo.invalid:8443")
    env = cli_env(HTTPS_PROXY=proxy.url, NO_PROXY="ameyo.invalid")
    result = run_upload(book, env=env)
    assert result.exit_code == 1, result.output
    assert "Could not find the server ameyo.invalid" in one_line_error(result)  # directly
    assert proxy.heads == []


def test_loopback_never_goes_through_a_proxy(tls_sim, tmp_path, proxy):
    """This machine is reached directly whatever the proxy variables say: a proxy would ask
    its own loopback, and http:// (loopback only) would hand it the password in clear."""
    env = cli_env(HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url, ALL_PROXY=proxy.url)
    book = make_book(tmp_path / "tls.xlsx", tls_sim.url, ca_bundle=tls_sim.ca_path)
    assert run_upload(book, env=env).exit_code == 0
    assert len(tls_sim.upload_requests()) == 1
    with SimulatorServer(host="127.0.0.1", port=0, users=USERS) as sim:
        for url in (sim.url, sim.url.replace("127.0.0.1", "localhost")):
            book = make_book(tmp_path / "plain.xlsx", url)
            result = run_upload(book, "--allow-reupload", env=env)
            assert result.exit_code == 0, result.output
        assert len(sim.upload_requests()) == 2
    assert proxy.heads == [] and proxy.relayed == b""


def test_proxy_refusing_the_tunnel_is_named(tmp_path, proxy):
    """A proxy that refuses the CONNECT (403): one line about the proxy, nothing sent."""
    book = make_book(tmp_path / "leads.xlsx", "https://ameyo.invalid:8443")
    result = run_upload(book, env=cli_env(HTTPS_PROXY=proxy.url))
    assert result.exit_code == 1, result.output
    message = one_line_error(result)
    assert f"through the proxy {proxy.url.removeprefix('http://')}" in message
    assert "403" in message
    assert "HTTPS_PROXY" in message and "(nothing was sent)" in message
    assert proxy.heads[0].startswith("CONNECT ameyo.invalid:8443 ")


def test_unreachable_proxy_is_named_not_the_server(tmp_path):
    """When the proxy is down, the message must point at the proxy (the server may be fine),
    and never repeat the proxy's own password from the variable."""
    port = free_port()
    book = make_book(tmp_path / "leads.xlsx", "https://ameyo.invalid:8443")
    env = cli_env(HTTPS_PROXY=f"http://proxyuser:Px-Secret-42@127.0.0.1:{port}")
    result = run_upload(book, env=env)
    assert result.exit_code == 1, result.output
    message = one_line_error(result)
    assert f"Could not connect to ameyo.invalid:8443 through the proxy 127.0.0.1:{port}" in (
        message
    )
    assert "connection refused" in message
    assert "HTTPS_PROXY" in message and "(nothing was sent)" in message
    assert "Px-Secret-42" not in result.output and "proxyuser" not in result.output
    assert "Px-Secret-42" not in read_log(book)[0]["message"]
