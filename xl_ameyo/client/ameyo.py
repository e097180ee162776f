"""``AmeyoClient``: one Ameyo server (or the simulator) as one user: the upload and the
simulator's task GETs.

The upload is POSTed exactly once (never re-sent after a byte may have left, :mod:`.transport`),
and the password never leaves in a message: exceptions are raised outside the ``except``
block that caught the ``requests`` exception (so no chained exception can carry the prepared
request and its Authorization header into a traceback), and every text from the server is
scrubbed (:mod:`.scrub`) before it is quoted.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import requests
import urllib3.exceptions
from requests_toolbelt.multipart.encoder import MultipartEncoder, MultipartEncoderMonitor

from xl_ameyo import __version__
from xl_ameyo.client.answers import (
    UploadResult,
    decode,
    excerpt,
    parse_data_answer,
    parse_upload_response,
)
from xl_ameyo.client.bodies import CsvSource, open_csv
from xl_ameyo.client.failures import host_port, transport_error
from xl_ameyo.client.scrub import BasicAuth, Scrubber
from xl_ameyo.client.transport import NO_PROXIES, adapter, deadline, read_limited
from xl_ameyo.errors import AmeyoError, AmeyoUnexpectedResponse, SettingsError
from xl_ameyo.urls import default_origin, is_loopback

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


def _path_id(name: str, value: object) -> str:
    """A path id as digits; anything else would build a different URL than meant."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SettingsError(f"{name} must be a whole number, not {excerpt(repr(value), 40)}")
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise SettingsError(f"{name} must be a whole number, not {excerpt(repr(value), 40)}")
    return text



def _flag(value: bool) -> str:
    return "true" if value else "false"



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
        self._proxies = NO_PROXIES if is_loopback(parts.hostname) else None
        self._auth = BasicAuth(username, password)
        self._scrub = Scrubber.for_credentials(username, password)
        self.verify = verify
        self.timeout = float(timeout)
        self.connect_timeout = min(self.timeout, MAX_CONNECT_TIMEOUT)
        self.origin = origin or default_origin(self.base_url)
        self.connect_retries = connect_retries
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.session.mount(f"{parts.scheme}://{parts.netloc}/", adapter(connect_retries))

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
        with open_csv(csv) as stream:
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
        return parse_data_answer(status, body, content_type, charset, rid, self._scrub)

    def get_error_file(
        self, cc_list_id: int | str, process_id: int | str, lead_id: int | str, task_id: int | str
    ) -> str:
        """The CSV of rows the server rejected in a task (simulator extension)."""
        url = self.task_url(cc_list_id, process_id, lead_id, task_id) + "/error-file"
        status, body, content_type, charset, rid = self._send(
            "GET", url, headers={}, limit=MAX_ERROR_FILE_BYTES
        )
        if status != 200:
            parse_data_answer(status, body, content_type, charset, rid, self._scrub)
        if len(body) > MAX_ERROR_FILE_BYTES:
            raise AmeyoUnexpectedResponse(
                f"The error file is larger than {MAX_ERROR_FILE_BYTES // (1 << 20)} MB",
                hint="Download it from Ameyo's web console",
                http_code=status,
            )
        return decode(body, charset)

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
        # the whole answer within timeout_s, counted from when the request is out
        with deadline(self.timeout) as limit_time:
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
                    body = read_limited(response, limit)
                    status = response.status_code
                    content_type = response.headers.get("content-type", "")
                    charset = requests.utils.get_encoding_from_headers(response.headers)
                    rid = response.headers.get("x-request-id")
                    # server text like any other: it goes to the Log's request_id
                    rid = excerpt(self._scrub(rid), 80) if rid else None
                    location = response.headers.get("location", "?")
                finally:
                    response.close()
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                failure = transport_error(
                    exc,
                    where=host_port(url),
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.timeout,
                    sent=monitor.bytes_read if monitor is not None else None,
                    total=monitor.len if monitor is not None else None,
                    proxy=self._proxy_for(url),
                    deadline_passed=limit_time.expired,
                )
                failure.message = self._scrub(failure.message)
                failure.args = (failure.message,)
        if failure is not None:
            raise failure
        if 300 <= status < 400:
            location = excerpt(self._scrub(location), 100)
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


