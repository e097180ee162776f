"""A discard endpoint for the benchmark: Ameyo's upload URL, answering success, keeping nothing.

    .venv/bin/python benchmarks/discard_server.py [--port 0]

Why not the simulator: it keeps each upload in memory, stores the CSV twice (request log and
task) and applies the rows to SQLite, which at a million rows measures the simulator, not the
client. This server is built on the same framework (Starlette + uvicorn, python-multipart) and
runs in its own process; for every POST to
``/v1/cc-list/{cc}/process-list/{p}/leads/{l}/contact-upload-tasks`` it

- requires a Basic ``authorization`` header (any user; the benchmark is not about auth),
- streams the multipart body through python-multipart's push parser without storing it, and
  records the ``file`` part's size, SHA-256 and line count, and the text fields (HTTP parsed
  by httptools, as uvicorn's standard install has it: a Python HTTP parser, h11, would be
  most of the upload's time; an Ameyo server, Java, takes a body faster than either),
- answers the vendor's success envelope with a new 16-digit task id.

``GET /_stats`` lists what was received (oldest first), ``POST /_reset`` forgets it. It prints
``listening on URL`` on its first line of output once its socket listens.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import socket
import sys

import uvicorn
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

UPLOAD = "/v1/cc-list/{cc}/process-list/{p}/leads/{lead}/contact-upload-tasks"
_task_ids = itertools.count(4_503_599_627_370_497, 2)  # odd, above 2**52, 16 digits
_received: list[dict] = []


class _Part:
    """Collects one multipart part: its name, and either its text or its file digest."""

    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.filename: str | None = None
        self.text = bytearray()
        self.sha = hashlib.sha256()
        self.size = 0
        self.lines = 0
        self._field = b""

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        key = self._field.lower()
        self.headers[key] = self.headers.get(key, b"") + data[start:end]

    def header_end(self) -> None:
        self._field = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode()
        if b"filename" in options:
            self.filename = options[b"filename"].decode()

    def data(self, data: bytes, start: int, end: int) -> None:
        if self.filename is None:
            self.text += data[start:end]
            return
        chunk = data[start:end]
        self.sha.update(chunk)
        self.size += len(chunk)
        self.lines += chunk.count(b"\n")


async def upload(request: Request) -> JSONResponse:
    if not request.headers.get("authorization", "").startswith("Basic "):
        return JSONResponse({"error": "no credentials"}, status_code=401)
    _, options = parse_options_header(request.headers.get("content-type", ""))
    parts: list[_Part] = []
    callbacks = {
        "on_part_begin": lambda: parts.append(_Part()),
        "on_header_field": lambda d, s, e: parts[-1].header_field(d, s, e),
        "on_header_value": lambda d, s, e: parts[-1].header_value(d, s, e),
        "on_header_end": lambda: parts[-1].header_end(),
        "on_headers_finished": lambda: parts[-1].headers_finished(),
        "on_part_data": lambda d, s, e: parts[-1].data(d, s, e),
    }
    parser = MultipartParser(options[b"boundary"], callbacks)  # type: ignore[arg-type]
    body = 0
    async for chunk in request.stream():
        body += len(chunk)
        parser.write(chunk)
    parser.finalize()
    task_id = next(_task_ids)
    files = [p for p in parts if p.filename is not None]
    _received.append({
        "path": request.url.path,
        "body_bytes": body,
        "fields": {p.name: p.text.decode("utf-8", "replace") for p in parts if p.filename is None},
        "files": [{"name": p.name, "filename": p.filename, "size": p.size,
                   "sha256": p.sha.hexdigest(), "lines": p.lines} for p in files],
        "task_id": str(task_id),
    })
    return JSONResponse({
        "metadata": None,
        "method": "POST",
        "response": [{"data": {"task_id": task_id}, "http_code": 200, "error_data": None}],
        "http_code": 200,
        "request_id": None,
    })


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(_received)


async def reset(request: Request) -> JSONResponse:
    _received.clear()
    return JSONResponse({"ok": True})


app = Starlette(routes=[
    Route(UPLOAD, upload, methods=["POST"]),
    Route("/_stats", stats, methods=["GET"]),
    Route("/_reset", reset, methods=["POST"]),
])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(64)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           http="httptools"))
    # the socket listens already: a client connecting now waits in its backlog
    print(f"listening on http://{host}:{port}", flush=True)
    server.run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
