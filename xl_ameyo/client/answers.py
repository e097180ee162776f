"""The server's answer -> :class:`UploadResult` or the :class:`AmeyoError` that says what went
wrong, in the server's own words (every quoted text scrubbed first, :mod:`.scrub`).

What cannot be recognised becomes :class:`AmeyoUnexpectedResponse` quoting a short, safe
excerpt. The one table from HTTP status to exception class is ``errors.STATUS_ERRORS``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xl_ameyo.client.envelopes import (
    Complaint,
    describe,
    generic_complaint,
    is_error_status,
    legacy_complaint,
    read_envelope,
    scalar_text,
)
from xl_ameyo.client.scrub import no_secrets
from xl_ameyo.errors import (
    AmeyoError,
    AmeyoHTTPError,
    AmeyoUnauthorized,
    AmeyoUnexpectedResponse,
    error_class_for_status,
)

#: Length of a quoted excerpt of an answer.
EXCERPT_CHARS = 120


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



def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One short printable line of ``text``: whitespace collapsed, control characters replaced."""
    text = "".join(ch if ch.isprintable() or ch.isspace() else "?" for ch in text[: limit * 8])
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _quoted(text: str) -> str:
    return f'"{excerpt(text)}"'



def _reject_constant(name: str) -> object:
    raise ValueError(f"not JSON: {name}")


def _load_json(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is JSON. Floats become Decimal: a 17-digit id stays exact."""
    try:
        return True, json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False, None


def decode(body: bytes, charset: str | None) -> str:
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



def parse_upload_response(
    status: int,
    body: bytes,
    *,
    content_type: str = "",
    charset: str | None = None,
    request_id: str | None = None,
    scrub: Callable[[str], str] = no_secrets,
) -> UploadResult:
    """Turn the server's answer to an upload into an :class:`UploadResult` or raise the
    :class:`AmeyoError` subclass that says what went wrong, in the server's own words.

    ``request_id`` is a fallback (e.g. from an ``X-Request-Id`` header) for envelopes
    without one; ``scrub`` removes secrets from any text quoted from the server.
    """
    text = decode(body, charset)
    is_json, doc = _load_json(text) if text.strip() else (False, None)

    if is_json and isinstance(doc, dict):
        rid = scalar_text(doc.get("request_id")) or scalar_text(doc.get("requestId"))
        if rid is not None:
            request_id = excerpt(scrub(rid), 80)

    def fail(
        cls: type[AmeyoError],
        message: str,
        complaint: Complaint | None = None,
        hint: str | None = None,
        task_id: str | None = None,
    ) -> AmeyoError:
        c = complaint or Complaint()
        return cls(
            scrub(message),
            hint=hint,
            http_code=status,
            error_code=scrub(excerpt(c.code, 60)) if c.code else None,
            server_message=scrub(
                excerpt(describe(Complaint(message=c.message, description=c.description)), 300)
            )
            if (c.message or c.description)
            else None,
            request_id=request_id,
            task_id=task_id,
        )

    ok_status = 200 <= status < 300
    if is_json:
        complaint: Complaint | None = None
        task_id: str | None = None
        if isinstance(doc, dict):
            if "response" in doc:
                task_id, complaint = read_envelope(doc)
            else:
                complaint = legacy_complaint(doc) or (
                    None if ok_status else generic_complaint(doc)
                )
        if complaint is not None:
            # scrubbed before any excerpt can cut a secret in half
            complaint = Complaint(
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
    status: int, complaint: Complaint, fail: Callable[..., AmeyoError]
) -> AmeyoError:
    """The exception for an error the server stated: class by the HTTP status (or, in an HTTP
    2xx answer, by the status the body claims), message quoting the server's code and text."""
    said = excerpt(describe(complaint), 200)
    claimed = complaint.status if is_error_status(complaint.status) else None
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



def parse_data_answer(
    status: int,
    body: bytes,
    content_type: str,
    charset: str | None,
    rid: str | None,
    scrub: Callable[[str], str],
) -> dict:
    """A GET answer: the envelope's ``response[0].data`` (or a bare JSON object)."""
    text = decode(body, charset)
    is_json, doc = _load_json(text)
    if 200 <= status < 300 and is_json and isinstance(doc, dict):
        if "response" not in doc:
            return doc
        _, complaint = read_envelope(doc)
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


