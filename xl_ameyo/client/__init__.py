"""The HTTP client for Ameyo's contact-upload endpoint (and the simulator's extensions).

Cut by what it holds:

- :mod:`.ameyo`: ``AmeyoClient``, one server and one user: URLs, the upload, the task GETs;
- :mod:`.transport`: the adapter on the (injectable) session, retries on connect only, the
  deadline that bounds the whole answer;
- :mod:`.answers` and :mod:`.envelopes`: the server's answer -> ``UploadResult`` or the
  ``AmeyoError`` in the server's own words (classes from ``errors.STATUS_ERRORS``);
- :mod:`.failures`: a failed request -> the error that says whether it may have arrived;
- :mod:`.scrub`: the password and the Basic token out of every server text, in every form;
- :mod:`.bodies`: the CSV as a streamable file object.
"""

from xl_ameyo.client.ameyo import AmeyoClient, ProgressCallback
from xl_ameyo.client.answers import UploadResult, excerpt, parse_upload_response
from xl_ameyo.client.bodies import CsvSource

__all__ = [
    "AmeyoClient",
    "CsvSource",
    "ProgressCallback",
    "UploadResult",
    "excerpt",
    "parse_upload_response",
]
