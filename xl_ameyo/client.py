"""The HTTP client for Ameyo's contact-upload endpoint (and the simulator's extensions).

Two rules shape this module (SPEC §3, §5):

* The upload is POSTed exactly once. Only failures that happen before any byte of the upload
  left this machine (refused, unknown host, connect timeout, TLS handshake) may be retried,
  and urllib3 does that for us: its ``Retry`` counts ``connect`` errors separately and raises
  every other error untouched (``read=False``). A read timeout or a broken connection after
  sending raises :class:`AmeyoTimeout` / :class:`AmeyoConnectionLost` and is never re-sent:
  re-sending could create the lead list twice.
* The password never leaves in a message. Exceptions are raised outside the ``except`` block
  that caught the ``requests`` exception (so no chained exception can carry the prepared request
  and its Authorization header into a traceback), and every text quoted from the server is
  scrubbed of the password and the Basic token before it is quoted.

Every known answer shape (``reference/ameyo-api-notes.md``) is parsed by
:func:`parse_upload_response`; what it cannot recognise becomes
:class:`AmeyoUnexpectedResponse` quoting a short, safe excerpt.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import ssl
import stat
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import requests
import requests.adapters
import requests.auth
import urllib3.exceptions
from requests_toolbelt.multipart.encoder import MultipartEncoder, MultipartEncoderMonitor
from urllib3.util.retry import Retry

from xl_ameyo import __version__
from xl_ameyo.errors import (
    AmeyoConnectionError,
    AmeyoConnectionLost,
    AmeyoError,
    AmeyoHTTPError,
    AmeyoTimeout,
    AmeyoTLSError,
    AmeyoUnauthorized,
    AmeyoUnexpectedResponse,
    SettingsError,
    XlAmeyoError,
    error_class_for_status,
)
from xl_ameyo.urls import default_origin, is_loopback

#: What ``csv`` may be: a path, a binary file object, or an iterable of ``bytes`` chunks.
CsvSource = str | os.PathLike | IO[bytes] | Iterable[bytes]
#: ``progress(sent_bytes, total_bytes)``, called as the request body goes out.
ProgressCallback = Callable[[int, int], None]

#: Longest wait for the server's answer (``timeout_s``): a day.
MAX_TIMEOUT = 86400.0
#: Longest connect timeout: an unreachable server should fail in seconds, not minutes.
MAX_CONNECT_TIMEOUT = 15.0
#: How many bytes of an answer are read at most (an error page or envelope is small; a
#: misbehaving server must not fill the memory).
MAX_ANSWER_BYTES = 1 << 20
#: How many bytes of an error file are read at most.
MAX_ERROR_FILE_BYTES = 256 << 20
#: Length of a quoted excerpt of an answer.
EXCERPT_CHARS = 120
#: Spool chunk size for iterables and unsized streams.
_COPY_CHUNK = 1 << 20
#: How many bytes urllib3 reads from the body per send (its default is 16 KiB).
_SEND_BLOCK = 1 << 16


@dataclass(frozen=True)
class UploadResult:
    """A successful upload: the task Ameyo created to process the CSV."""

    #: Ameyo's task id, exactly as the server wrote it (16+ digits: always text)
    task_id: str
    http_code: int
    request_id: str | None
    #: the parsed answer (JSON numbers with a fraction are ``Decimal``); left out of repr:
    #: it is the server's text, unscrubbed, and a repr may end up in a log
    body: object = field(repr=False)


# --- small helpers ---------------------------------------------------------------------------


class _BasicAuth(requests.auth.AuthBase):
    """Basic auth whose repr names the user only (requests' own keeps the password in vars)."""

    __slots__ = ("_header", "username")

    def __init__(self, username: str, password: str):
        self.username = username
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["authorization"] = self._header
        return r

    def __repr__(self) -> str:
        return f"<basic auth for {self.username!r}>"


_AUTH_VALUE = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(basic|bearer)\s+[^\s\"'<>,;]+")


class _Scrubber:
    """Removes the password and the Basic token from any text before it is quoted."""

    __slots__ = ("_secrets",)

    def __init__(self, *secrets: str):
        # longest first, so a token is removed whole before its parts
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return _AUTH_VALUE.sub(r"\1\2 ***", text)

    def __repr__(self) -> str:
        return "<scrubber>"


def _no_secrets(text: str) -> str:
    """The default scrubber: only values after ``Authorization:``."""
    return _Scrubber()(text)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One short printable line of ``text``: whitespace collapsed, control characters replaced."""
    text = "".join(ch if ch.isprintable() or ch.isspace() else "?" for ch in text[: limit * 8])
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _quoted(text: str) -> str:
    return f'"{excerpt(text)}"'


def _path_id(name: str, value: object) -> str:
    """A path id as digits; anything else would build a different URL than meant."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SettingsError(f"{name} must be a whole number, not {excerpt(repr(value), 40)}")
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise SettingsError(f"{name} must be a whole number, not {excerpt(repr(value), 40)}")
    return text


def _host_port(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{host}:{port}"


#: ``proxies`` for a request that must not use any proxy (None removes the environment's)
_NO_PROXIES = {"http": None, "https": None, "all": None}






def _flag(value: bool) -> str:
    return "true" if value else "false"


# --- the answer ------------------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ValueError(f"not JSON: {name}")


def _load_json(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is JSON. Floats become Decimal: a 17-digit id stays exact."""
    try:
        return True, json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False, None


def _decode(body: bytes, charset: str | None) -> str:
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode(charset or "latin-1", errors="replace")
    except LookupError:
        return body.decode("latin-1")


_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_HEADING = re.compile(r"<h1[^>]*>(.*?)</h1\s*>", re.I | re.S)
_INVISIBLE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def _looks_like_html(text: str, content_type: str) -> bool:
    if "html" in content_type.lower():
        return True
    head = text.lstrip()[:512].lower()
    return head.startswith("<") and any(
        mark in head for mark in ("<!doctype", "<html", "<head", "<body", "<title", "<h1")
    )


def _html_summary(text: str) -> str:
    """The page's title (or first heading, or first words): what a person would read first."""
    for pattern in (_TITLE, _HEADING):
        match = pattern.search(text)
        if match:
            found = html.unescape(_TAG.sub(" ", match.group(1))).strip()
            if found:
                return found
    return html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", text)))


def _task_id_text(value: object) -> str | None:
    """Ameyo's task id as exact text; None when it is not an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, Decimal):
        try:
            if value.is_finite() and value == value.to_integral_value() and value >= 0:
                return str(int(value))
        except (InvalidOperation, ValueError, OverflowError):
            return None
        return None
    if isinstance(value, str):
        value = value.strip()
        if value and len(value) <= 100 and value.isprintable():
            return value
    return None


def _text(value: object) -> str | None:
    """A server-given scalar (code, message) as text; None for null/empty/structures."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


@dataclass
class _Complaint:
    """An error the server stated in its own words."""

    status: int | None = None  # the status the body claims (inner http_code, statusCode)
    code: str | None = None
    message: str | None = None
    description: str | None = None


def _complaint_from_error_data(data: dict, status: int | None) -> _Complaint:
    return _Complaint(
        status=status,
        code=_text(data.get("error_code") or data.get("errorCode") or data.get("code")),
        message=_text(data.get("message") or data.get("error_message")),
        description=_text(data.get("description")),
    )


def _legacy_complaint(doc: dict) -> _Complaint | None:
    """The older shapes: ``{statusCode, status, errorCode, errorMessage}`` and
    ``{message, code, info, status}``."""
    if "errorCode" in doc or "errorMessage" in doc:
        return _Complaint(
            status=_int_or_none(doc.get("statusCode")) or _int_or_none(doc.get("status")),
            code=_text(doc.get("errorCode")),
            message=_text(doc.get("errorMessage")) or _text(doc.get("status")),
        )
    if "message" in doc and ("code" in doc or "info" in doc):
        return _Complaint(
            status=_int_or_none(doc.get("status")),
            code=_text(doc.get("code")),
            message=_text(doc.get("message")),
            description=_text(doc.get("info")),
        )
    return None


def _generic_complaint(doc: dict) -> _Complaint | None:
    """Other Java servers' error bodies, e.g. ``{status, error, message, path}``."""
    message = _text(doc.get("message")) or _text(doc.get("error"))
    if message is None:
        return None
    code = _text(doc.get("error")) if doc.get("message") else None
    return _Complaint(
        status=_int_or_none(doc.get("status")),
        code=None,
        message=message if code is None else f"{code}: {message}",
    )


def _is_error_status(code: int | None) -> bool:
    return code is not None and code >= 400


def _read_envelope(doc: dict) -> tuple[str | None, _Complaint | None]:
    """(task_id, complaint) from Ameyo's envelope: ``response`` a list (upload success) or an
    object (errors in sibling services); an entry says error by ``error_data`` or its own
    ``http_code``."""
    outer = _int_or_none(doc.get("http_code"))
    response = doc.get("response")
    entries = response if isinstance(response, list) else [response]
    entries = [e for e in entries if isinstance(e, dict)]
    task_id = None
    for entry in entries:
        inner = _int_or_none(entry.get("http_code"))
        error_data = entry.get("error_data")
        if isinstance(error_data, dict) and error_data:
            status = inner if _is_error_status(inner) else outer
            return None, _complaint_from_error_data(error_data, status)
        if error_data not in (None, {}, []):
            # an error given as plain text, or some other non-null value
            status = inner if _is_error_status(inner) else outer
            return None, _Complaint(status=status, message=_text(error_data))
        if _is_error_status(inner):
            return None, _Complaint(status=inner)
        data = entry.get("data")
        if task_id is None and isinstance(data, dict):
            task_id = _task_id_text(data.get("task_id"))
    if _is_error_status(outer):
        return None, _Complaint(status=outer)
    return task_id, None


def _describe(complaint: _Complaint) -> str:
    """``CONF-1002: Process not found (details)`` from the server's own words."""
    text = complaint.code or ""
    if complaint.message:
        text = f"{text}: {complaint.message}" if text else complaint.message
    if complaint.description and complaint.description != complaint.message:
        text = f"{text} ({complaint.description})" if text else complaint.description
    return text


def parse_upload_response(
    status: int,
    body: bytes,
    *,
    content_type: str = "",
    charset: str | None = None,
    request_id: str | None = None,
    scrub: Callable[[str], str] = _no_secrets,
) -> UploadResult:
    """Turn the server's answer to an upload into an :class:`UploadResult` or raise the
    :class:`AmeyoError` subclass that says what went wrong, in the server's own words.

    ``request_id`` is a fallback (e.g. from an ``X-Request-Id`` header) for envelopes
    without one; ``scrub`` removes secrets from any text quoted from the server.
    """
    text = _decode(body, charset)
    is_json, doc = _load_json(text) if text.strip() else (False, None)

    if is_json and isinstance(doc, dict):
        rid = _text(doc.get("request_id")) or _text(doc.get("requestId"))
        if rid is not None:
            request_id = excerpt(scrub(rid), 80)

    def fail(
        cls: type[AmeyoError],
        message: str,
        complaint: _Complaint | None = None,
        hint: str | None = None,
        task_id: str | None = None,
    ) -> AmeyoError:
        c = complaint or _Complaint()
        return cls(
            scrub(message),
            hint=hint,
            http_code=status,
            error_code=scrub(excerpt(c.code, 60)) if c.code else None,
            server_message=scrub(
                excerpt(_describe(_Complaint(message=c.message, description=c.description)), 300)
            )
            if (c.message or c.description)
            else None,
            request_id=request_id,
            task_id=task_id,
        )

    ok_status = 200 <= status < 300
    if is_json:
        complaint: _Complaint | None = None
        task_id: str | None = None
        if isinstance(doc, dict):
            if "response" in doc:
                task_id, complaint = _read_envelope(doc)
            else:
                complaint = _legacy_complaint(doc) or (
                    None if ok_status else _generic_complaint(doc)
                )
        if complaint is not None:
            # scrubbed before any excerpt can cut a secret in half
            complaint = _Complaint(
                status=complaint.status,
                code=scrub(complaint.code) if complaint.code else None,
                message=scrub(complaint.message) if complaint.message else None,
                description=scrub(complaint.description) if complaint.description else None,
            )
            raise _complaint_error(status, complaint, fail)
        if ok_status and task_id is not None:
            # a text id goes to the Log as it is: scrubbed like any text from the server
            if status == 200:
                return UploadResult(
                    task_id=scrub(task_id), http_code=status, request_id=request_id, body=doc
                )
            # SPEC §3: success is HTTP 200 and a task id. Another 2xx with one is a failure,
            # but the task may exist: its id goes to the Log, and a later identical upload
            # asks first (logrecord.find_previous_upload)
            tid = scrub(task_id)
            raise fail(
                AmeyoUnexpectedResponse,
                f"Ameyo answered {status}, not 200, with task id {tid}: the upload may have "
                "been accepted",
                hint=f"Check task {tid} in Ameyo before uploading these rows again",
                task_id=tid,
            )
        if doc is None and ok_status:
            raise fail(
                AmeyoUnauthorized,
                f"Ameyo answered {status} with the body null, which older Ameyo servers "
                "send when the login failed",
            )
        if ok_status:
            raise fail(
                AmeyoUnexpectedResponse,
                f"Ameyo answered {status} without a task id: {_quoted(scrub(text))}",
                hint="The upload may have been accepted: check the lead list in Ameyo before "
                "trying again",
            )
        raise fail(
            error_class_for_status(status) if status >= 400 else AmeyoUnexpectedResponse,
            f"The server answered {status} with an unexpected body: {_quoted(scrub(text))}",
        )

    # not JSON
    if not text.strip():
        what = "with an empty body"
    elif _looks_like_html(text, content_type):
        what = f"with an HTML page: {_quoted(scrub(_html_summary(text)))}"
    else:
        what = f"with a body that is not JSON: {_quoted(scrub(text))}"
    if status >= 400:
        raise fail(error_class_for_status(status), f"The server answered {status} {what}")
    hint = None
    if ok_status:
        hint = (
            "Check that base_url points at the Ameyo server (not a proxy or login page); the "
            "upload may have been accepted: check the lead list in Ameyo before trying again"
        )
    raise fail(AmeyoUnexpectedResponse, f"The server answered {status} {what}", hint=hint)


def _complaint_error(
    status: int, complaint: _Complaint, fail: Callable[..., AmeyoError]
) -> AmeyoError:
    """The exception for an error the server stated: class by the HTTP status (or, in an HTTP
    2xx answer, by the status the body claims), message quoting the server's code and text."""
    said = excerpt(_describe(complaint), 200)
    claimed = complaint.status if _is_error_status(complaint.status) else None
    if 200 <= status < 300:
        cls: type[AmeyoError] = (
            error_class_for_status(claimed) if claimed is not None else AmeyoHTTPError
        )
        message = f"Ameyo answered {status} but reported error" + (
            f" {claimed}" if claimed is not None else ""
        )
    else:
        cls = error_class_for_status(status) if status >= 400 else AmeyoUnexpectedResponse
        message = f"Ameyo answered {status}"
    if said:
        message = f"{message} {said}" if complaint.code else f"{message}: {said}"
    elif status >= 300:
        message = f"{message} with no error details"
    return fail(cls, message, complaint, hint=CODE_HINTS.get((complaint.code or "").upper()))


#: Advice for the error codes that point at one setting (else the class's own hint).
CODE_HINTS = {
    "CONF-1001": "Check cc_list_id in Settings: no such contact center on this server",
    "CONF-1002": "Check process_id in Settings: no such process in that contact center",
    "CONF-1003": "Check lead_id in Settings: no such lead list in that process",
}


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


def _transport_error(
    exc: BaseException,
    *,
    where: str,
    connect_timeout: float,
    read_timeout: float,
    sent: int | None,
    total: int | None,
    proxy: str | None = None,
) -> AmeyoError:
    """Classify a requests/urllib3 failure: did the request possibly reach the server?

    ``proxy`` is the proxy the request went through (from the environment), if any."""
    progress = ""
    if sent is not None and total:
        progress = f" after {sent:,} of {total:,} bytes of the upload were sent"

    if isinstance(exc, requests.exceptions.ProxyError) or _first(
        exc, urllib3.exceptions.ProxyError
    ):
        # urllib3 raises ProxyError only before it is connected through the proxy (the
        # tunnel included): nothing of the request has left. The proxy's own user name and
        # password (in HTTPS_PROXY) are never shown: host and port only.
        via = f"the proxy {_host_port(proxy)}" if proxy else "the proxy"
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


# --- request bodies --------------------------------------------------------------------------


def _is_regular_file(obj: Any) -> bool:
    try:
        return stat.S_ISREG(os.fstat(obj.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


@contextmanager
def _open_csv(source: CsvSource) -> Iterator[IO[bytes]]:
    """A binary file object with a known length for ``source``; iterables and unsized streams
    are spooled to a temporary file first (never joined in memory)."""
    with ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            try:
                file = stack.enter_context(open(source, "rb"))
            except OSError as e:
                raise XlAmeyoError(
                    f"Cannot read the CSV file {os.fspath(source)}: {e.strerror or e}"
                ) from None
            yield file
            return
        if isinstance(source, (bytes, bytearray, memoryview)):
            yield io.BytesIO(bytes(source))
            return
        if isinstance(source, io.TextIOBase):
            raise TypeError("csv must be opened in binary mode ('rb')")
        if hasattr(source, "read"):
            if _is_regular_file(source) or isinstance(source, io.BytesIO):
                yield source  # type: ignore[misc]
                return
            chunks: Iterable[bytes] = iter(lambda: source.read(_COPY_CHUNK), b"")  # type: ignore[union-attr]
        else:
            chunks = source  # type: ignore[assignment]
        spool = stack.enter_context(tempfile.TemporaryFile(prefix="xl_ameyo-", suffix=".csv"))
        for chunk in chunks:
            if isinstance(chunk, str):
                raise TypeError("csv chunks must be bytes, not str")
            spool.write(chunk)
        spool.seek(0)
        yield spool


# --- the client ------------------------------------------------------------------------------


class AmeyoClient:
    """Talks to one Ameyo server (or the simulator) as one user.

    ``verify`` is True, False or the path of a CA bundle; ``timeout`` is how long to wait for
    the server's answer once the upload is sent; connecting gets at most 15 s and is retried
    ``connect_retries`` times (nothing was sent then). The session may be injected (tests,
    proxies); the client mounts its own adapter on it for ``base_url``'s host only.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        session: requests.Session | None = None,
        verify: bool | str = True,
        timeout: float = 300.0,
        origin: str | None = None,
        connect_retries: int = 2,
    ):
        parts = urllib.parse.urlsplit(str(base_url).strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(
                "base_url must start with https:// (or http:// for this machine) and name the "
                f"server, not {excerpt(repr(_strip_userinfo(str(base_url))), 80)}"
            )
        if parts.username is not None or parts.password is not None:
            raise SettingsError(
                "base_url must not hold a user name or password: put the user name in "
                "Settings (username) and the password in the credential store (xl-ameyo login)"
            )
        if not 0 < timeout <= MAX_TIMEOUT:  # also NaN; the socket layer overflows on 1e300
            raise SettingsError(
                f"timeout_s must be more than 0 and at most {MAX_TIMEOUT:g} seconds (a day), "
                f"not {timeout:g}",
                hint="Type timeout_s in Settings as a number of seconds, e.g. 300",
            )
        self.base_url = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, parts.path.rstrip("/"), "", "")
        )
        self.username = username
        # a proxy cannot reach this machine's loopback (it would ask its own), and http:// is
        # allowed for loopback only: the password must not travel in clear text to a proxy
        self._proxies = _NO_PROXIES if is_loopback(parts.hostname) else None
        self._auth = _BasicAuth(username, password)
        self._scrub = _Scrubber(password, self._auth._header.split(" ", 1)[1])
        self.verify = verify
        self.timeout = float(timeout)
        self.connect_timeout = min(self.timeout, MAX_CONNECT_TIMEOUT)
        self.origin = origin or default_origin(self.base_url)
        self.connect_retries = connect_retries
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.session.mount(f"{parts.scheme}://{parts.netloc}/", _adapter(connect_retries))

    def __repr__(self) -> str:
        return f"AmeyoClient(base_url={self.base_url!r}, username={self.username!r})"

    def close(self) -> None:
        """Close the session's connections if this client created the session."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> AmeyoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- URLs --

    def upload_url(self, cc_list_id: int | str, process_id: int | str, lead_id: int | str) -> str:
        """The contact-upload endpoint of one lead list (SPEC §3)."""
        return (
            f"{self.base_url}/v1/cc-list/{_path_id('cc_list_id', cc_list_id)}"
            f"/process-list/{_path_id('process_id', process_id)}"
            f"/leads/{_path_id('lead_id', lead_id)}/contact-upload-tasks"
        )

    def task_url(
        self, cc_list_id: int | str, process_id: int | str, lead_id: int | str, task_id: int | str
    ) -> str:
        """One upload task (a simulator extension; no Ameyo source documents it)."""
        return f"{self.upload_url(cc_list_id, process_id, lead_id)}/{_path_id('task_id', task_id)}"

    # -- the upload --

    def upload_contacts(
        self,
        *,
        cc_list_id: int | str,
        process_id: int | str,
        lead_id: int | str,
        csv: CsvSource,
        user_id: str,
        header_mapping: dict[str, str],
        update_duplicate: bool = False,
        churn_updated_records: bool = False,
        migrate: bool = False,
        filename: str = "leads.csv",
        progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """POST the CSV once, streamed; return Ameyo's task or raise an :class:`AmeyoError`.

        Never re-sent after a byte of it may have left: a timeout or a broken connection is
        reported (``may_have_arrived``) for a person to check the lead list first.
        """
        url = self.upload_url(cc_list_id, process_id, lead_id)
        if not filename.lower().endswith(".csv"):
            filename = f"{filename}.csv"
        mapping = json.dumps(header_mapping, separators=(",", ":"), ensure_ascii=False)
        with _open_csv(csv) as stream:
            encoder = MultipartEncoder(
                fields=[
                    ("file", (filename, stream, "text/csv")),
                    ("user_id", str(user_id)),
                    ("update_duplicate", _flag(update_duplicate)),
                    ("churn_updated_records", _flag(churn_updated_records)),
                    ("migrate", _flag(migrate)),
                    ("header_mapping", mapping),
                ]
            )
            callback = None
            if progress is not None:

                def callback(m: MultipartEncoderMonitor) -> None:
                    progress(m.bytes_read, m.len)

            monitor = MultipartEncoderMonitor(encoder, callback)
            headers = {"content-type": monitor.content_type}
            status, body, content_type, charset, rid = self._send(
                "POST",
                url,
                data=monitor,
                headers=headers,
                limit=MAX_ANSWER_BYTES,
                monitor=monitor,
            )
        return parse_upload_response(
            status,
            body,
            content_type=content_type,
            charset=charset,
            request_id=rid,
            scrub=self._scrub,
        )

    # -- simulator extensions --

    def get_task(
        self, cc_list_id: int | str, process_id: int | str, lead_id: int | str, task_id: int | str
    ) -> dict:
        """An upload task's state (simulator extension): the ``data`` of Ameyo's envelope."""
        url = self.task_url(cc_list_id, process_id, lead_id, task_id)
        status, body, content_type, charset, rid = self._send(
            "GET", url, headers={}, limit=MAX_ANSWER_BYTES
        )
        return _parse_data_answer(status, body, content_type, charset, rid, self._scrub)

    def get_error_file(
        self, cc_list_id: int | str, process_id: int | str, lead_id: int | str, task_id: int | str
    ) -> str:
        """The CSV of rows the server rejected in a task (simulator extension)."""
        url = self.task_url(cc_list_id, process_id, lead_id, task_id) + "/error-file"
        status, body, content_type, charset, rid = self._send(
            "GET", url, headers={}, limit=MAX_ERROR_FILE_BYTES
        )
        if status != 200:
            _parse_data_answer(status, body, content_type, charset, rid, self._scrub)
        if len(body) > MAX_ERROR_FILE_BYTES:
            raise AmeyoUnexpectedResponse(
                f"The error file is larger than {MAX_ERROR_FILE_BYTES // (1 << 20)} MB",
                hint="Download it from Ameyo's web console",
                http_code=status,
            )
        return _decode(body, charset)

    # -- the wire --

    def _proxy_for(self, url: str) -> str | None:
        """The proxy requests uses for ``url`` (the session's, else HTTPS_PROXY/HTTP_PROXY/
        ALL_PROXY unless NO_PROXY lists the host; none for loopback), or None."""
        try:
            proxies = dict(self._proxies or {})
            settings = self.session.merge_environment_settings(url, proxies, None, None, None)
            return requests.utils.select_proxy(url, settings.get("proxies") or {})
        except Exception:  # only for a message: never let it hide the real failure
            return None

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        limit: int,
        data: Any = None,
        monitor: MultipartEncoderMonitor | None = None,
    ) -> tuple[int, bytes, str, str | None, str | None]:
        """One request, no redirects; (status, body, content type, charset, request id header).

        The failure is raised after leaving the ``except`` block: nothing chains the requests
        exception (which holds the prepared request and its Authorization header).
        """
        headers = {
            "accept": "*/*",
            "origin": self.origin,
            "user-agent": f"xl-ameyo/{__version__} {requests.utils.default_user_agent()}",
            **headers,
        }
        failure: AmeyoError | None = None
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                headers=headers,
                auth=self._auth,
                verify=self.verify,
                timeout=(self.connect_timeout, self.timeout),
                allow_redirects=False,
                proxies=self._proxies,
                stream=True,
            )
            try:
                body = _read_limited(response, limit)
                status = response.status_code
                content_type = response.headers.get("content-type", "")
                charset = requests.utils.get_encoding_from_headers(response.headers)
                rid = response.headers.get("x-request-id")
                # server text like any other: it goes to the Log's request_id
                rid = excerpt(self._scrub(rid), 80) if rid else None
            finally:
                response.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            failure = _transport_error(
                exc,
                where=_host_port(url),
                connect_timeout=self.connect_timeout,
                read_timeout=self.timeout,
                sent=monitor.bytes_read if monitor is not None else None,
                total=monitor.len if monitor is not None else None,
                proxy=self._proxy_for(url),
            )
            failure.message = self._scrub(failure.message)
            failure.args = (failure.message,)
        if failure is not None:
            raise failure
        if 300 <= status < 400:
            location = self._scrub(excerpt(response.headers.get("location", "?"), 100))
            raise AmeyoUnexpectedResponse(
                f"The server answered {status} and redirects to {location}",
                hint="Set base_url in Settings to the Ameyo server's address itself",
                http_code=status,
            )
        return status, body, content_type, charset, rid


def _strip_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    return urllib.parse.urlunsplit(parts)


def _adapter(connect_retries: int) -> requests.adapters.HTTPAdapter:
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
    return _BlockAdapter(max_retries=retry)


class _BlockAdapter(requests.adapters.HTTPAdapter):
    """Sends the body in 64 KiB blocks (urllib3 reads 16 KiB by default): fewer system calls
    for a 200 MB upload, memory still constant."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blocksize", _SEND_BLOCK)
        super().init_poolmanager(*args, **kwargs)


def _read_limited(response: requests.Response, limit: int) -> bytes:
    out = bytearray()
    for chunk in response.iter_content(65536):
        out += chunk
        if len(out) > limit:
            break
    return bytes(out[: limit + 1])


def _parse_data_answer(
    status: int,
    body: bytes,
    content_type: str,
    charset: str | None,
    rid: str | None,
    scrub: Callable[[str], str],
) -> dict:
    """A GET answer: the envelope's ``response[0].data`` (or a bare JSON object)."""
    text = _decode(body, charset)
    is_json, doc = _load_json(text)
    if 200 <= status < 300 and is_json and isinstance(doc, dict):
        if "response" not in doc:
            return doc
        _, complaint = _read_envelope(doc)
        response = doc["response"]
        entry = response[0] if isinstance(response, list) and response else response
        data = entry.get("data") if isinstance(entry, dict) else None
        if complaint is None and isinstance(data, dict):
            return data
    if not 200 <= status < 300 or (is_json and isinstance(doc, dict)):
        # an error status, or an envelope that says error: the upload's rules apply
        parse_upload_response(
            status, body, content_type=content_type, charset=charset, request_id=rid, scrub=scrub
        )
    raise AmeyoUnexpectedResponse(
        scrub(f"The server answered {status} without the task: {_quoted(text)}"),
        http_code=status,
        request_id=rid,
    )


__all__ = [
    "AmeyoClient",
    "CsvSource",
    "ProgressCallback",
    "UploadResult",
    "excerpt",
    "parse_upload_response",
]
