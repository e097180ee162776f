"""One exception root for everything an analyst can cause or meet.

Every error renders as one line: what is wrong, where (sheet, cell, row) and what to do.
Fronts (CLI, ribbon) print ``str(error)`` and use ``error.exit_code``; they never show a
traceback. Server and network errors (exit 1) live under :class:`AmeyoError`; problems in the
workbook or the local setup that stop an upload before anything is sent (exit 2) live under
:class:`WorkbookError`.
"""

from __future__ import annotations


class XlAmeyoError(Exception):
    """Root of all xl_ameyo errors."""

    exit_code: int = 2
    #: default advice, used when the raiser gives none
    hint: str = ""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text = f"{text.rstrip('.')}. {self.hint}"
        # one line, always
        return " ".join(text.split())


# --- stopped before anything was sent (exit 2) -------------------------------------------


class WorkbookError(XlAmeyoError):
    """The workbook's settings, mapping or data stopped the upload."""

    exit_code = 2


class SettingsError(WorkbookError):
    """A problem in the Settings sheet."""


class MappingError(WorkbookError):
    """A problem in the Mapping sheet or with the data sheet's headers."""


class DataError(WorkbookError):
    """The data sheet's rows stopped the upload (e.g. invalid rows with on_invalid_rows=block)."""


class UnsavedFormulaError(DataError):
    """Mapped formula cells have no saved result (the file was written by a program that does
    not calculate): what the analyst would see is unknown, so nothing is sent."""

    hint = ("Open the workbook in Excel or LibreOffice, let it calculate, save it and run "
            "again")


class WorkbookFileError(WorkbookError):
    """The workbook file cannot be read or written (missing, locked, read-only, damaged)."""


class TempFileError(WorkbookError):
    """The CSV could not be written to the temporary folder (missing, full, not writable)."""

    hint = (
        "Free some disk space, or point the TMPDIR (Windows: TEMP) environment variable at a "
        "writable folder with space, and run again"
    )


class ReuploadRefused(WorkbookError):
    """The same CSV already went to the same lead list; the user must confirm a re-upload."""


class RunInterrupted(XlAmeyoError):
    """A signal (Ctrl-C, SIGTERM, a closed terminal) ended the run before anything was sent."""

    exit_code = 1
    hint = "Nothing was sent"


class CredentialsError(WorkbookError):
    """No password (or user name) is available; nothing was sent."""


# --- the server or the network failed (exit 1) -------------------------------------------


class AmeyoError(XlAmeyoError):
    """The Ameyo server or the network failed.

    ``may_have_arrived`` tells whether the request could have reached the server: such a
    request is never re-sent automatically (no duplicate lead lists).
    """

    exit_code = 1
    may_have_arrived: bool = True

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        http_code: int | None = None,
        error_code: str | None = None,
        server_message: str | None = None,
        request_id: str | None = None,
        task_id: str | None = None,
    ):
        super().__init__(message, where=where, hint=hint)
        self.http_code = http_code
        self.error_code = error_code
        self.server_message = server_message
        self.request_id = request_id
        #: a task id the server gave in an answer that is still a failure (not HTTP 200)
        self.task_id = task_id


class AmeyoConnectionError(AmeyoError):
    """Could not connect (refused, unknown host, connect timeout): nothing was sent."""

    may_have_arrived = False
    hint = "Check base_url in Settings and that the server is reachable from this machine"


class AmeyoTLSError(AmeyoConnectionError):
    """The TLS handshake failed: nothing was sent."""

    hint = (
        "If the server uses a private certificate authority, set ca_bundle in Settings to the "
        "path of its CA certificate (PEM)"
    )


class AmeyoTimeout(AmeyoError):
    """No answer in time after the request was sent: it may have arrived."""

    hint = (
        "The upload may have reached the server: check the lead list in Ameyo before trying "
        "again; raise timeout_s in Settings for large lists"
    )


class AmeyoConnectionLost(AmeyoError):
    """The connection broke after bytes were sent: the request may have arrived."""

    hint = (
        "The upload may have reached the server: check the lead list in Ameyo before trying "
        "again"
    )


class UploadInterrupted(AmeyoError):
    """A signal ended the run while the server's answer was awaited: it may have arrived."""

    hint = (
        "The upload may have reached the server: check the lead list in Ameyo before sending "
        "again"
    )


class AmeyoUnexpectedResponse(AmeyoError):
    """The server answered something that is not a known Ameyo envelope."""

    hint = "Check that base_url points at the Ameyo server (not a proxy or login page)"


class AmeyoHTTPError(AmeyoError):
    """The server answered with an error status."""


class AmeyoBadRequest(AmeyoHTTPError):
    hint = "Check the Mapping sheet and the data against the lead list's fields in Ameyo"


class AmeyoUnauthorized(AmeyoHTTPError):
    hint = "Check the user name and password (xl-ameyo login, or AMEYO_USERNAME/AMEYO_PASSWORD)"


class AmeyoForbidden(AmeyoHTTPError):
    hint = "Ask the Ameyo administrator to give this user access to the contact center and process"


class AmeyoNotFound(AmeyoHTTPError):
    hint = "Check cc_list_id, process_id and lead_id in Settings"


class AmeyoPayloadTooLarge(AmeyoHTTPError):
    hint = "Upload fewer rows at a time (set max_rows_per_upload in Settings)"


class AmeyoServerError(AmeyoHTTPError):
    hint = (
        "The Ameyo server failed; a gateway error can come after the server took the upload, so "
        "check the lead list in Ameyo before trying again later, or ask its administrator"
    )


#: The one table from HTTP status to exception class; 5xx not listed -> AmeyoServerError,
#: other 4xx not listed -> AmeyoHTTPError.
STATUS_ERRORS: dict[int, type[AmeyoHTTPError]] = {
    400: AmeyoBadRequest,
    401: AmeyoUnauthorized,
    403: AmeyoForbidden,
    404: AmeyoNotFound,
    413: AmeyoPayloadTooLarge,
    500: AmeyoServerError,
    502: AmeyoServerError,
    503: AmeyoServerError,
    504: AmeyoServerError,
}


def error_class_for_status(status: int) -> type[AmeyoHTTPError]:
    """The exception class for an HTTP error status."""
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    return AmeyoServerError if status >= 500 else AmeyoHTTPError
