"""Loopback detection and the default origin, shared by Settings and the client."""

import pytest

from xl_ameyo.urls import default_origin, is_loopback


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST.", "127.0.0.1", "127.9.8.7", "::1", "[::1]"]
)
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["", None, "example.com", "127.0.0.1.example.com", "10.0.0.1", "::2", "localhost.x"]
)
def test_other_hosts_are_not_loopback(host):
    assert not is_loopback(host)


@pytest.mark.parametrize(
    ("base", "origin"),
    [
        ("https://Ameyo.example.com:8443/app", "https://ameyo.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1"),
        ("https://[::1]:8443", "https://[::1]"),
    ],
)
def test_default_origin_is_scheme_and_host(base, origin):
    assert default_origin(base) == origin
