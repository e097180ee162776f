"""Credentials: environment first, then a real (file-backed) keyring; login/logout commands."""

from __future__ import annotations

import keyring
import pytest
from click.testing import CliRunner
from keyrings.alt.file import PlaintextKeyring

from xl_ameyo.cli import cli
from xl_ameyo.credentials import resolve_password, resolve_username, service_name
from xl_ameyo.errors import CredentialsError

URL = "https://ameyo.example.com:8443"
CLEAN_ENV = {"AMEYO_PASSWORD": "", "AMEYO_USERNAME": ""}


@pytest.fixture
def store(tmp_path):
    """A real keyring backend that works headless: a file in a temporary folder."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_environment_password_wins_over_the_store(store):
    store.set_password(service_name(URL), "ana", "from-store")
    assert resolve_password(URL, "ana", env={"AMEYO_PASSWORD": "from-env"}) == "from-env"
    assert resolve_password(URL, "ana", env={}) == "from-store"


def test_missing_password_says_which_command_to_run(store):
    with pytest.raises(CredentialsError) as err:
        resolve_password(URL, "ana", env={})
    text = str(err.value)
    assert f"xl-ameyo login --base-url {URL} --username ana" in text
    assert "AMEYO_PASSWORD" in text and "\n" not in text


def test_username_from_settings_then_environment():
    assert resolve_username(" ana ", env={"AMEYO_USERNAME": "bob"}) == "ana"
    assert resolve_username(None, env={"AMEYO_USERNAME": "bob"}) == "bob"
    with pytest.raises(CredentialsError, match="AMEYO_USERNAME"):
        resolve_username("", env={})


def test_service_name_ignores_case_and_trailing_slash():
    assert service_name("HTTPS://Ameyo.Example.com:8443/") == service_name(URL)


def test_login_stores_and_logout_removes(store):
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["login", "--base-url", URL + "/", "--username", "ana", "--password-stdin",
         "--allow-plaintext-keyring"],
        input="s3cret-Pw\n",
        env=CLEAN_ENV,
    )
    assert result.exit_code == 0, result.output
    assert "s3cret-Pw" not in result.output
    assert store.get_password(service_name(URL), "ana") == "s3cret-Pw"
    # what an upload would look up
    assert resolve_password(URL, "ana", env={}) == "s3cret-Pw"

    result = runner.invoke(cli, ["logout", "--base-url", URL, "--username", "ana"], env=CLEAN_ENV)
    assert result.exit_code == 0 and "Removed" in result.output
    assert store.get_password(service_name(URL), "ana") is None
    result = runner.invoke(cli, ["logout", "--base-url", URL, "--username", "ana"], env=CLEAN_ENV)
    assert result.exit_code == 0 and "No password was stored" in result.output


def test_login_prompt_is_masked(store):
    result = CliRunner().invoke(
        cli, ["login", "--base-url", URL, "--username", "ana", "--allow-plaintext-keyring"],
        input="typed-Pw\n", env=CLEAN_ENV,
    )
    assert result.exit_code == 0, result.output
    assert "typed-Pw" not in result.output
    assert store.get_password(service_name(URL), "ana") == "typed-Pw"


def test_login_reads_server_and_user_from_a_workbook(store, tmp_path):
    from xl_ameyo.template import write_template

    book = write_template(
        tmp_path / "b.xlsx",
        settings={"base_url": URL, "cc_list_id": 1, "process_id": 2, "lead_id": 3,
                  "user_id": "sup", "username": "carla"},
    )
    result = CliRunner().invoke(
        cli, ["login", "--book", str(book), "--password-stdin", "--allow-plaintext-keyring"],
        input="pw-Carla\n", env=CLEAN_ENV,
    )
    assert result.exit_code == 0, result.output
    assert store.get_password(service_name(URL), "carla") == "pw-Carla"


def test_no_credential_store_gives_one_line_and_exit_2():
    from keyring.backends.fail import Keyring as NoKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        result = CliRunner().invoke(
            cli,
            ["login", "--base-url", URL, "--username", "ana", "--password-stdin"],
            input="pw\n",
            env=CLEAN_ENV,
        )
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 2
    assert "no usable credential store" in result.output and "AMEYO_PASSWORD" in result.output
    assert "Traceback" not in result.output


def test_login_refuses_a_plaintext_store(store):
    result = CliRunner().invoke(
        cli, ["login", "--base-url", URL, "--username", "ana", "--password-stdin"],
        input="s3cret-Pw\n", env=CLEAN_ENV,
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "keyrings.alt.file.PlaintextKeyring" in lines[0]  # which store it found
    assert "Secret Service" in lines[0] and "EncryptedKeyring" in lines[0]  # what instead
    assert "AMEYO_PASSWORD" in lines[0] and "--allow-plaintext-keyring" in lines[0]
    assert "s3cret-Pw" not in result.output
    assert store.get_password(service_name(URL), "ana") is None


def test_login_refuses_a_plaintext_store_behind_a_chain(store):
    from keyring.backends.chainer import ChainerBackend

    chain = type("Chain", (ChainerBackend,), {"backends": [store]})()
    previous = keyring.get_keyring()
    keyring.set_keyring(chain)
    try:
        result = CliRunner().invoke(
            cli, ["login", "--base-url", URL, "--username", "ana", "--password-stdin"],
            input="pw\n", env=CLEAN_ENV,
        )
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 2 and "PlaintextKeyring" in result.output
    assert store.get_password(service_name(URL), "ana") is None
