"""Answer bodies: Ameyo's JSON envelopes, older servers' shapes, and the HTML error pages that
the reverse proxy (nginx) or the servlet container (Tomcat) in front of Ameyo sends.
"""

from __future__ import annotations

import uuid

from starlette.responses import HTMLResponse, JSONResponse, Response


def success_envelope(task_id: int, *, method: str = "POST") -> dict:
    """Exactly the vendor page's success envelope (``response`` is a list)."""
    return {
        "metadata": None,
        "method": method,
        "response": [{"data": {"task_id": task_id}, "http_code": 200, "error_data": None}],
        "http_code": 200,
        "request_id": None,
    }


def data_envelope(data: object, *, method: str = "GET") -> dict:
    """The success envelope around other data (the simulator's own GET extensions)."""
    return {
        "metadata": None,
        "method": method,
        "response": [{"data": data, "http_code": 200, "error_data": None}],
        "http_code": 200,
        "request_id": None,
    }


def error_envelope(
    status: int, code: str, message: str, description: str, *, method: str = "POST"
) -> dict:
    """The sibling services' error envelope (``response`` is an object)."""
    return {
        "http_code": status,
        "method": method,
        "request_id": str(uuid.uuid4()),
        "response": {
            "http_code": status,
            "error_data": {"error_code": code, "message": message, "description": description},
            "data": None,
        },
    }


def error_response(
    status: int,
    code: str,
    message: str,
    description: str,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_envelope(status, code, message, description, method=method),
        status_code=status,
        headers=headers,
    )


def _nginx_page(status: int, reason: str) -> HTMLResponse:
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n"
        "<hr><center>nginx/1.18.0 (Ubuntu)</center>\r\n</body>\r\n</html>\r\n"
    )
    return HTMLResponse(body, status_code=status, headers={"server": "nginx/1.18.0 (Ubuntu)"})


def nginx_too_large() -> HTMLResponse:
    """nginx's page for a body over ``client_max_body_size``."""
    return _nginx_page(413, "Request Entity Too Large")


def nginx_not_found() -> HTMLResponse:
    return _nginx_page(404, "Not Found")


def nginx_not_allowed() -> HTMLResponse:
    page = _nginx_page(405, "Not Allowed")
    page.headers["allow"] = "POST"
    return page


def nginx_bad_gateway() -> HTMLResponse:
    return _nginx_page(502, "Bad Gateway")


def nginx_unavailable() -> HTMLResponse:
    return _nginx_page(503, "Service Temporarily Unavailable")


_TOMCAT_STYLE = (
    "body {font-family:Tahoma,Arial,sans-serif;} h1, h2, h3, b {color:white;"
    "background-color:#525D76;} h1 {font-size:22px;} h2 {font-size:16px;} h3 {font-size:14px;}"
    " p {font-size:12px;} a {color:black;} .line {height:1px;background-color:#525D76;"
    "border:none;}"
)


def tomcat_server_error() -> Response:
    """Tomcat's report page for an exception nobody caught."""
    body = (
        '<!doctype html><html lang="en"><head><title>HTTP Status 500 – Internal Server Error'
        f'</title><style type="text/css">{_TOMCAT_STYLE}</style></head><body>'
        '<h1>HTTP Status 500 – Internal Server Error</h1><hr class="line" />'
        "<p><b>Type</b> Exception Report</p>"
        "<p><b>Message</b> Request processing failed; nested exception is "
        "java.lang.NullPointerException</p>"
        "<p><b>Description</b> The server encountered an unexpected condition that prevented it"
        " from fulfilling the request.</p>"
        "<p><b>Exception</b></p><pre>org.springframework.web.util.NestedServletException: "
        "Request processing failed; nested exception is java.lang.NullPointerException\n"
        "\torg.springframework.web.servlet.FrameworkServlet.processRequest("
        "FrameworkServlet.java:1014)\n"
        "\torg.springframework.web.servlet.FrameworkServlet.doPost(FrameworkServlet.java:909)\n"
        "\tjavax.servlet.http.HttpServlet.service(HttpServlet.java:681)\n"
        "</pre><p><b>Note</b> The full stack trace of the root cause is available in the server"
        ' logs.</p><hr class="line" /><h3>Apache Tomcat/9.0.65</h3></body></html>'
    )
    return Response(
        body,
        status_code=500,
        media_type="text/html;charset=utf-8",
        headers={"content-language": "en"},
    )


def login_page() -> HTMLResponse:
    """A 200 HTML page that is not JSON: what a single-sign-on gateway answers."""
    body = (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>Ameyo | Login</title>'
        '</head>\n<body>\n<form method="post" action="/ameyowebaccess/login">\n'
        '<input name="username"><input name="password" type="password">\n'
        "<button>Sign in</button>\n</form>\n</body>\n</html>\n"
    )
    return HTMLResponse(body, status_code=200)
