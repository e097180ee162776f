"""Envelope parsing: every answer shape in reference/ameyo-api-notes.md, no network."""

from __future__ import annotations

import io
import json
import os
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xl_ameyo.client import AmeyoClient, UploadResult, excerpt, parse_upload_response
from xl_ameyo.client.bodies import open_csv
from xl_ameyo.client.scrub import Scrubber
from xl_ameyo.errors import (
    AmeyoBadRequest,
    AmeyoError,
    AmeyoForbidden,
    AmeyoHTTPError,
    AmeyoNotFound,
    AmeyoPayloadTooLarge,
    AmeyoServerError,
    AmeyoUnauthorized,
    AmeyoUnexpectedResponse,
    SettingsError,
)

SUCCESS = (
    b'{"metadata": null, "method": "POST", "response": [{"data": {"task_id": 4231888909951751},'
    b' "http_code": 200, "error_data": null}], "http_code": 200, "request_id": null}'
)


def object_envelope(status: int, code: str, message: str, description: str = "") -> bytes:
    return json.dumps(
        {
            "http_code": status,
            "method": "POST",
            "request_id": "req-42",
            "response": {
                "http_code": status,
                "error_data": {"error_code": code, "message": message, "description": description},
                "data": None,
            },
        }
    ).encode()


def failure(status: int, body: bytes, **kw) -> AmeyoError:
    with pytest.raises(AmeyoError) as info:
        parse_upload_response(status, body, **kw)
    return info.value


# --- success -------------------------------------------------------------------------------


def test_documented_success_envelope():
    result = parse_upload_response(200, SUCCESS, content_type="application/json")
    assert result == UploadResult(
        task_id="4231888909951751", http_code=200, request_id=None, body=json.loads(SUCCESS)
    )


def test_success_served_as_text_plain():
    result = parse_upload_response(200, SUCCESS, content_type="text/plain")
    assert result.task_id == "4231888909951751"


def test_success_with_byte_order_mark_and_request_id():
    body = SUCCESS.replace(b'"request_id": null', b'"request_id": "abc-1"')
    result = parse_upload_response(200, b"\xef\xbb\xbf" + body)
    assert (result.task_id, result.request_id) == ("4231888909951751", "abc-1")


def test_request_id_falls_back_to_the_header_value():
    assert parse_upload_response(200, SUCCESS, request_id="hdr-7").request_id == "hdr-7"


@pytest.mark.parametrize(
    "literal, expected",
    [
        ("42318889099517519", "42318889099517519"),  # 17 digits: float would round it
        ("123456789012345678901234567890", "123456789012345678901234567890"),
        ("4231888909951751.0", "4231888909951751"),
        ("4.2318889099517519E16", "42318889099517519"),
        ('"0042318889099517519"', "0042318889099517519"),  # a text id is kept as given
    ],
)
def test_task_id_is_exact_text(literal, expected):
    body = f'{{"response": [{{"data": {{"task_id": {literal}}}, "http_code": 200}}]}}'
    assert parse_upload_response(200, body.encode()).task_id == expected


@given(st.integers(min_value=2**53, max_value=10**40))
def test_random_big_task_ids_survive_exactly(task_id):
    body = SUCCESS.replace(b"4231888909951751", str(task_id).encode())
    assert parse_upload_response(200, body).task_id == str(task_id)


@given(st.integers(min_value=10**15, max_value=10**30), st.integers(min_value=0, max_value=3))
def test_random_big_task_ids_written_as_floats_survive_exactly(task_id, zeros):
    literal = f"{task_id}.{'0' * (zeros + 1)}"
    body = SUCCESS.replace(b"4231888909951751", literal.encode())
    assert parse_upload_response(200, body).task_id == str(task_id)


@pytest.mark.parametrize("status", [201, 202, 204])
def test_other_2xx_with_a_task_id_fail_and_carry_the_task_id(status):
    """SPEC §3: success is HTTP 200 and a task id. The task may exist all the same: its id
    travels with the error (to the Log) and the message says to check before sending again."""
    with pytest.raises(AmeyoUnexpectedResponse) as info:
        parse_upload_response(status, SUCCESS)
    error = info.value
    assert error.task_id == "4231888909951751" and error.http_code == status
    assert f"answered {status}, not 200, with task id 4231888909951751" in str(error)
    assert "Check task 4231888909951751 in Ameyo" in str(error)


# --- errors in Ameyo's object envelope -------------------------------------------------------


@pytest.mark.parametrize(
    "status, code, cls",
    [
        (401, "AUTH-1001", AmeyoUnauthorized),
        (403, "AUTH-1002", AmeyoForbidden),
        (404, "CONF-1001", AmeyoNotFound),
        (404, "CONF-1002", AmeyoNotFound),
        (400, "VAL-1", AmeyoBadRequest),
        (413, "SIZE", AmeyoPayloadTooLarge),
        (500, "IS-1002", AmeyoServerError),
        (418, "TEA", AmeyoHTTPError),
        (599, "X", AmeyoServerError),
    ],
)
def test_object_envelope_errors(status, code, cls):
    error = failure(status, object_envelope(status, code, "Something failed", "in detail"))
    assert type(error) is cls
    assert (error.http_code, error.error_code, error.request_id) == (status, code, "req-42")
    assert error.server_message == "Something failed (in detail)"
    assert f"Ameyo answered {status} {code}: Something failed" in str(error)
    assert error.may_have_arrived is True
    assert error.exit_code == 1


def test_message_quotes_the_server_code_and_text_then_the_hint():
    error = failure(404, object_envelope(404, "CONF-1002", "Process not found"))
    assert str(error) == (
        "Ameyo answered 404 CONF-1002: Process not found. "
        "Check process_id in Settings: no such process in that contact center"
    )
    # a code with no advice of its own keeps the class's hint
    error = failure(404, object_envelope(404, "X-1", "Gone"))
    assert str(error) == (
        "Ameyo answered 404 X-1: Gone. Check cc_list_id, process_id and lead_id in Settings"
    )


def test_error_envelope_served_as_text_plain():
    error = failure(
        404, object_envelope(404, "CONF-1001", "CC not found"), content_type="text/plain"
    )
    assert isinstance(error, AmeyoNotFound)
    assert error.error_code == "CONF-1001"


def test_list_envelope_with_error_data():
    body = json.dumps(
        {
            "http_code": 400,
            "response": [
                {
                    "data": None,
                    "http_code": 400,
                    "error_data": {"error_code": "E1", "message": "bad"},
                }
            ],
        }
    ).encode()
    error = failure(400, body)
    assert isinstance(error, AmeyoBadRequest)
    assert "Ameyo answered 400 E1: bad" in str(error)


# --- HTTP 200 that says error ---------------------------------------------------------------


def test_http_200_whose_inner_http_code_says_error():
    body = json.dumps(
        {"http_code": 200, "response": [{"http_code": 404, "data": None, "error_data": None}]}
    ).encode()
    error = failure(200, body)
    assert isinstance(error, AmeyoNotFound)
    assert error.http_code == 200
    assert "Ameyo answered 200 but reported error 404" in str(error)


def test_http_200_with_error_data():
    body = json.dumps(
        {
            "http_code": 200,
            "response": [
                {
                    "http_code": 403,
                    "data": None,
                    "error_data": {"error_code": "AUTH-1002", "message": "No access"},
                }
            ],
        }
    ).encode()
    error = failure(200, body)
    assert isinstance(error, AmeyoForbidden)
    assert "AUTH-1002: No access" in str(error)


def test_http_200_with_error_data_and_no_status():
    body = b'{"response": [{"data": null, "error_data": {"error_code": "X-1", "message": "m"}}]}'
    error = failure(200, body)
    assert type(error) is AmeyoHTTPError
    assert "X-1: m" in str(error)


def test_http_200_with_outer_error_code():
    error = failure(200, b'{"http_code": 500, "response": null}')
    assert isinstance(error, AmeyoServerError)


@pytest.mark.parametrize(
    "body",
    [
        b'{"response": []}',
        b'{"response": [{"data": {}, "http_code": 200, "error_data": null}]}',
        b'{"response": [{"data": {"task_id": null}, "http_code": 200}]}',
        b'{"response": [{"data": {"task_id": true}, "http_code": 200}]}',
        b'{"response": [{"data": {"task_id": 1.5}, "http_code": 200}]}',
        b'{"response": [{"data": {"task_id": ""}, "http_code": 200}]}',
        b'{"ok": true}',
        b"[]",
        b"42",
    ],
)
def test_http_200_without_a_task_id(body):
    error = failure(200, body)
    assert isinstance(error, AmeyoUnexpectedResponse)
    assert "200" in str(error)
    # the upload might have been accepted: the advice says to check before re-sending
    assert "check the lead list" in str(error)


# --- legacy shapes --------------------------------------------------------------------------


def test_legacy_status_code_shape():
    body = (
        b'{"statusCode": 400, "status": "BAD_REQUEST", "errorCode": "INVALID_HEADER_MAPPING",'
        b' "errorMessage": "phone1 is not mapped"}'
    )
    error = failure(400, body)
    assert isinstance(error, AmeyoBadRequest)
    assert error.error_code == "INVALID_HEADER_MAPPING"
    assert "Ameyo answered 400 INVALID_HEADER_MAPPING: phone1 is not mapped" in str(error)


def test_legacy_message_shape():
    body = (
        b'{"message": "Lead list not found", "code": 2004, "info": "leadId=99",'
        b' "status": "FAILURE"}'
    )
    error = failure(404, body)
    assert isinstance(error, AmeyoNotFound)
    assert error.error_code == "2004"
    assert error.server_message == "Lead list not found (leadId=99)"
    assert "Ameyo answered 404 2004: Lead list not found" in str(error)


def test_legacy_shape_with_http_200():
    body = b'{"statusCode": 401, "status": "UNAUTHORIZED", "errorCode": "A1", "errorMessage": "no"}'
    error = failure(200, body)
    assert isinstance(error, AmeyoUnauthorized)
    assert "A1: no" in str(error)


def test_java_default_error_body():
    body = (
        b'{"timestamp": "2024-01-01", "status": 500, "error": "Internal Server Error",'
        b' "message": "NPE", "path": "/v1"}'
    )
    error = failure(500, body)
    assert isinstance(error, AmeyoServerError)
    assert "NPE" in str(error)


# --- null, HTML, garbage --------------------------------------------------------------------


def test_http_200_null_is_a_failed_login():
    error = failure(200, b"null")
    assert isinstance(error, AmeyoUnauthorized)
    assert "null" in str(error) and "login" in str(error)
    assert "password" in str(error)  # the hint: check the credentials


@pytest.mark.parametrize(
    "status, cls",
    [
        (413, AmeyoPayloadTooLarge),
        (500, AmeyoServerError),
        (502, AmeyoServerError),
        (503, AmeyoServerError),
        (404, AmeyoNotFound),
    ],
)
def test_html_error_pages_quote_the_title(status, cls):
    page = (
        b"<!DOCTYPE html>\n<html><head><title>\n  413 Request   Entity Too Large\n</title>"
        b"<style>body{}</style></head><body><h1>nginx</h1></body></html>"
    )
    error = failure(status, page, content_type="text/html")
    assert type(error) is cls
    assert f'{status} with an HTML page: "413 Request Entity Too Large"' in str(error)


def test_html_without_title_quotes_the_heading_or_text():
    error = failure(500, b"<html><body><h1>Apache Tomcat &ndash; Error</h1></body></html>")
    assert '"Apache Tomcat – Error"' in str(error)
    error = failure(500, b"<html><body><p>Oops <b>broken</b></p></body></html>")
    assert '"Oops broken"' in str(error)


def test_html_at_200_is_unexpected():
    error = failure(
        200, b"<html><head><title>Sign in</title></head></html>", content_type="text/html"
    )
    assert isinstance(error, AmeyoUnexpectedResponse)
    assert '"Sign in"' in str(error)


def test_garbage_is_quoted_short_and_on_one_line():
    junk = b"\x00\x01 not\r\n json \t" + b"x" * 5000
    error = failure(200, junk, content_type="text/html")
    assert isinstance(error, AmeyoUnexpectedResponse)
    text = str(error)
    assert "\n" not in text and "\r" not in text and "\x00" not in text
    assert "not json" in text
    assert len(text) < 400


def test_empty_body():
    error = failure(502, b"")
    assert isinstance(error, AmeyoServerError)
    assert "empty body" in str(error)


def test_unknown_json_at_error_status_keeps_the_status_class():
    error = failure(403, b'{"weird": [1, 2, 3]}')
    assert isinstance(error, AmeyoForbidden)
    assert '{"weird": [1, 2, 3]}' in str(error)


def test_deeply_nested_json_is_not_a_crash():
    error = failure(200, b"[" * 100_000)
    assert isinstance(error, AmeyoUnexpectedResponse)


def test_scrub_removes_secrets_echoed_by_the_server():
    page = b"<html><title>Bad header Authorization: Basic ZGVtbzpzM2NyZXQ= pw s3cret</title></html>"
    error = failure(500, page, scrub=Scrubber("s3cret"))
    assert "s3cret" not in str(error)
    assert "ZGVtbzpzM2NyZXQ=" not in str(error)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "response",
                    "data",
                    "task_id",
                    "http_code",
                    "error_data",
                    "error_code",
                    "message",
                    "statusCode",
                    "errorCode",
                    "errorMessage",
                    "code",
                    "info",
                    "status",
                    "request_id",
                    "description",
                    "error",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(
    status=st.integers(min_value=100, max_value=599),
    body=st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()),
    content_type=st.sampled_from(["", "application/json", "text/plain", "text/html"]),
)
def test_random_bodies_give_a_result_or_an_ameyo_error(status, body, content_type):
    try:
        result = parse_upload_response(status, body, content_type=content_type)
    except AmeyoError as error:
        text = str(error)
        assert text and "\n" not in text and len(text) < 900
        assert error.http_code == status
    else:
        assert 200 <= status < 300
        assert isinstance(result.task_id, str) and result.task_id


# --- client construction, URLs, sources ------------------------------------------------------


def test_upload_url_with_and_without_trailing_slash():
    for base in ("https://ameyo.example.com:8443", "https://ameyo.example.com:8443/"):
        client = AmeyoClient(base, "demo", "pw")
        assert client.upload_url(1, 13, 17) == (
            "https://ameyo.example.com:8443/v1/cc-list/1/process-list/13/leads/17"
            "/contact-upload-tasks"
        )


def test_upload_url_keeps_a_path_prefix():
    client = AmeyoClient("https://h.example/ameyo/", "demo", "pw")
    assert client.upload_url("1", "13", "17").startswith("https://h.example/ameyo/v1/cc-list/1/")


@pytest.mark.parametrize("bad", [-1, 1.5, "1/2", "../x", True, None, "١٢"])
def test_upload_url_refuses_ids_that_are_not_whole_numbers(bad):
    with pytest.raises(SettingsError):
        AmeyoClient("https://h.example", "demo", "pw").upload_url(1, bad, 17)


@pytest.mark.parametrize(
    "base, origin",
    [
        ("https://ameyo.example.com:8443/", "https://ameyo.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1"),
        ("http://[::1]:8080/x", "http://[::1]"),
    ],
)
def test_default_origin_is_scheme_and_host(base, origin):
    assert AmeyoClient(base, "demo", "pw").origin == origin


def test_explicit_origin():
    assert (
        AmeyoClient("https://h", "u", "p", origin="https://o.example").origin == "https://o.example"
    )


@pytest.mark.parametrize("base", ["ameyo.example.com", "ftp://h", "https://", ""])
def test_bad_base_url(base):
    with pytest.raises(SettingsError):
        AmeyoClient(base, "demo", "pw")


def test_base_url_with_a_password_is_refused_without_quoting_it():
    with pytest.raises(SettingsError) as info:
        AmeyoClient("https://demo:hunter22@h.example", "demo", "pw")
    assert "hunter22" not in str(info.value)


def test_repr_shows_no_password():
    client = AmeyoClient("https://h.example", "demo", "hunter22")
    assert repr(client) == "AmeyoClient(base_url='https://h.example', username='demo')"
    assert "hunter22" not in repr(vars(client))


def test_session_is_created_per_client_not_at_import():
    a, b = AmeyoClient("https://h", "u", "p"), AmeyoClient("https://h", "u", "p")
    assert a.session is not b.session


def test_connect_timeout_is_short_and_read_timeout_is_timeout():
    client = AmeyoClient("https://h", "u", "p", timeout=300)
    assert (client.connect_timeout, client.timeout) == (15.0, 300.0)
    assert AmeyoClient("https://h", "u", "p", timeout=2).connect_timeout == 2


def test_sources_are_read_from_their_position(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"phone1\n123\n")
    with open_csv(path) as f:
        assert f.read() == b"phone1\n123\n"
    with open_csv(str(path)) as f:
        assert f.read() == b"phone1\n123\n"
    with open_csv(iter([b"a", bytearray(b"b"), memoryview(b"c")])) as f:
        assert f.read() == b"abc"
        spooled = f
    assert spooled.closed  # the spool is removed afterwards
    with open_csv(io.BytesIO(b"xyz")) as f:
        assert f.read() == b"xyz"


def test_unsized_stream_is_spooled():
    r, w = os.pipe()
    os.write(w, b"phone1\n1234567\n")
    os.close(w)
    with open(r, "rb") as pipe, open_csv(pipe) as f:
        assert f is not pipe
        assert f.read() == b"phone1\n1234567\n"


def test_text_sources_are_refused():
    with pytest.raises(TypeError), open_csv(io.StringIO("a")):
        pass
    with pytest.raises(TypeError), open_csv(iter(["a"])):
        pass


def test_excerpt():
    assert excerpt("  a \n\t b  ") == "a b"
    assert len(excerpt("x" * 500)) == 120
    assert excerpt("a\x00b") == "a?b"


def test_decimal_floats_in_the_body():
    body = b'{"response": [{"data": {"task_id": 7, "score": 0.1}, "http_code": 200}]}'
    assert parse_upload_response(200, body).body["response"][0]["data"]["score"] == Decimal("0.1")


def test_the_scrubber_removes_every_echoed_form_of_the_password():
    """SPEC §5: as sent, percent-encoded (quote, quote_plus, either hex case), Base64 (the
    Basic token, and its own percent-encoding), UTF-8 read as latin-1 or cp1252, JSON."""
    import base64
    import re
    import urllib.parse

    password = 'Pä ss/w+ö=rd%€😀"'
    token = base64.b64encode(f"ops:{password}".encode()).decode()
    scrub = Scrubber.for_credentials("ops", password)
    quoted = urllib.parse.quote(password, safe="")
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quoted)
    forms = [
        password,
        urllib.parse.quote(password),
        urllib.parse.quote(password, safe=""),
        urllib.parse.quote_plus(password),
        lower_hex,
        password.encode().decode("latin-1"),
        password.encode().decode("cp1252"),
        json.dumps(password)[1:-1],
        token,
        urllib.parse.quote(token, safe=""),
        f"Basic {token}",
    ]
    for form in forms:
        cleaned = scrub(f"<{form}>")
        assert "***" in cleaned, form
        assert password not in cleaned and token not in cleaned, cleaned
    assert scrub("nothing secret here") == "nothing secret here"
