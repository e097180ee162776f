"""SPEC §2 "Settings sheet", end to end: `xl-ameyo upload` against the simulator over loopback
HTTP, checked by what the simulator received and what the workbook holds afterwards.

Row numbers: :func:`tests.books.settings_rows` writes the header in row 1, base_url, cc_list_id,
process_id, lead_id, user_id in rows 2-6, then the extra keys from row 7 on.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.books import (
    LEAD,
    PASSWORD,
    cli_env,
    lead_book,
    log_dicts,
    one_line_error,
    only_request,
    upload,
)


@pytest.fixture
def book(tmp_path):
    return tmp_path / "leads.xlsx"


def refused(result, sim, *needles: str) -> str:
    """Exit 2, one line on stderr holding every needle, and nothing sent."""
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    for needle in needles:
        assert needle in line, line
    assert sim.upload_requests() == []
    return line


# --- the header row and key spelling ----------------------------------------------------------


@pytest.mark.parametrize("header", ["Setting", "Key", "KEY", " setting "])
def test_header_row_is_skipped(sim, book, header):
    rows = [
        [header, "Value", "Notes"],
        ["base_url", sim.url],
        ["cc_list_id", 1],
        ["process_id", 13],
        ["lead_id", 17],
        ["user_id", "john"],
    ]
    result = upload(lead_book(book, sim.url, settings_sheet=rows))
    assert result.exit_code == 0, result.output
    path = only_request(sim)["path"]
    assert path == "/v1/cc-list/1/process-list/13/leads/17/contact-upload-tasks"


def test_settings_without_header_row(sim, book):
    rows = [["base_url", sim.url], ["cc_list_id", 1], ["process_id", 13], ["lead_id", 17],
            ["user_id", "john"]]
    result = upload(lead_book(book, sim.url, settings_sheet=rows))
    assert result.exit_code == 0, result.output
    only_request(sim)


def test_a_setting_header_below_the_first_row_is_an_unknown_key(sim, book):
    rows = [["base_url", sim.url], ["cc_list_id", 1], ["Setting", "Value"], ["process_id", 13],
            ["lead_id", 17], ["user_id", "john"]]
    result = upload(lead_book(book, sim.url, settings_sheet=rows))
    refused(result, sim, "Settings!A3", "Setting")


def test_keys_match_ignoring_case_spaces_and_underscores(sim, book):
    rows = [
        ["Key", "Value"],
        ["Base URL", sim.url],
        ["CC_LIST_ID", 1],
        ["Process Id", 13],
        ["lead id", 18],
        ["  User_ID ", "mary"],
        ["Update Duplicate", True],
        ["CHURN updated_records", "yes"],
        ["Migrate", "FALSE"],
        ["Timeout S", 30],
        ["On Invalid Rows", "skip"],
    ]
    result = upload(lead_book(book, sim.url, settings_sheet=rows))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    assert req["path"] == "/v1/cc-list/1/process-list/13/leads/18/contact-upload-tasks"
    assert req["fields"]["user_id"] == "mary"
    assert req["fields"]["update_duplicate"] == "true"
    assert req["fields"]["churn_updated_records"] == "true"
    assert req["fields"]["migrate"] == "false"


@pytest.mark.parametrize("key", ["lead_idd", "base url2", "leadlist", "Setting"])
def test_unknown_key_is_refused_naming_the_cell(sim, book, key):
    result = upload(lead_book(book, sim.url, settings={key: "x"}))
    refused(result, sim, "Settings!A7")


def test_unknown_key_in_a_lower_case_settings_sheet_names_that_sheet(sim, book):
    from tests.books import mapping_rows, settings_rows, write_book

    write_book(book, {
        "Leads": [["Name", "Mobile"], ["Asha", "9876543210"]],
        "settings": settings_rows(sim.url, colour="blue"),
        "Mapping": mapping_rows({"name": "Name", "phone1": "Mobile"}),
    })
    refused(upload(book), sim, "settings!A7", "colour")


# --- the password never belongs in the workbook ------------------------------------------------


@pytest.mark.parametrize("key", ["password", "Password", "AMEYO PASSWORD", "pwd"])
def test_password_key_is_refused_and_its_value_never_shown(sim, book, key):
    secret = "Hunter2-Sekrit-9931"
    result = upload(lead_book(book, sim.url, settings={key: secret}))
    line = refused(result, sim, "Settings!A7")
    assert "AMEYO_PASSWORD" in line
    assert "xl-ameyo login" in line
    assert secret not in result.output
    for row in log_dicts(book):
        assert all(secret not in str(v) for v in row.values())


def test_password_inside_base_url_is_refused_without_echo(sim, book):
    secret = "Hunter2-Sekrit-9931"
    url = sim.url.replace("http://", f"http://demo:{secret}@")
    result = upload(lead_book(book, sim.url, settings={"base_url": url}))
    refused(result, sim, "Settings!B2")
    assert secret not in result.output


# --- booleans --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "no"),
    [(True, False), ("TRUE", "FALSE"), ("true", "false"), ("yes", "no"), ("Yes", "NO"),
     (1, 0), ("1", "0"), (1.0, 0.0), (" True ", " no ")],
    ids=["cells", "TRUE", "true", "yes", "Yes", "ints", "1-text", "floats", "padded"],
)
@pytest.mark.parametrize("pattern", [(1, 0, 1), (0, 1, 0)], ids=["T-F-T", "F-T-F"])
def test_boolean_spellings_reach_the_server_as_true_false(sim, book, yes, no, pattern):
    keys = ("update_duplicate", "churn_updated_records", "migrate")
    values = {k: (yes if bit else no) for k, bit in zip(keys, pattern, strict=True)}
    result = upload(lead_book(book, sim.url, settings=values))
    assert result.exit_code == 0, result.output
    fields = only_request(sim)["fields"]
    for key, bit in zip(keys, pattern, strict=True):
        assert fields[key] == ("true" if bit else "false")
    logged = log_dicts(book)[-1]
    for key, bit in zip(keys, pattern, strict=True):
        assert logged[key] is bool(bit)


def test_flags_default_to_false(sim, book):
    assert upload(lead_book(book, sim.url)).exit_code == 0
    fields = only_request(sim)["fields"]
    assert [fields[k] for k in ("update_duplicate", "churn_updated_records", "migrate")] == [
        "false", "false", "false"]


@pytest.mark.parametrize("value", ["maybe", "Y", 2, 0.5, "TRUE!", dt.date(2024, 1, 1), "#N/A"])
def test_invalid_boolean_is_refused_naming_the_cell(sim, book, value):
    result = upload(lead_book(book, sim.url, settings={"update_duplicate": False,
                                                      "migrate": value}))
    refused(result, sim, "Settings!B8")


# --- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cc", "process", "lead"),
    [(1.0, 13.0, 18.0), ("1", "13", "18"), (" 1 ", "13 ", " 18"), (1, 13.0, "18")],
)
def test_ids_as_floats_or_text_give_the_request_path(sim, book, cc, process, lead):
    settings = {"cc_list_id": cc, "process_id": process, "lead_id": lead}
    result = upload(lead_book(book, sim.url, settings=settings))
    assert result.exit_code == 0, result.output
    assert only_request(sim)["path"] == (
        "/v1/cc-list/1/process-list/13/leads/18/contact-upload-tasks")
    logged = log_dicts(book)[-1]
    assert (logged["cc_list_id"], logged["process_id"], logged["lead_id"]) == (1, 13, 18)


@pytest.mark.parametrize("value", [17.5, 0, -17, "17a", "1e3", True, "", None])
def test_bad_lead_id_is_refused(sim, book, value):
    # "" and None: the key is there without a value (None leaves it out: missing)
    settings = {"lead_id": value} if value is not None else {"lead_id": None}
    result = upload(lead_book(book, sim.url, settings=settings))
    line = refused(result, sim, "lead_id")
    if value is not None:
        assert "Settings!B5" in line


# --- base_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://ameyo.example.com", "http://ameyo.example.com:8443", "HTTP://ameyo.example.com/",
     "http://10.1.2.3:8443", "http://127.0.0.1.example.com", "http://localhost.example.com",
     "ftp://127.0.0.1", "ameyo.example.com", "http://[::2]:8443"],
)
def test_base_url_refused(sim, book, url):
    refused(upload(lead_book(book, sim.url, settings={"base_url": url})), sim, "Settings!B2")


@pytest.mark.parametrize(
    "url", ["http://localhost:9", "http://LOCALHOST:9", "http://127.8.9.10:9", "http://[::1]:9",
            "https://ameyo.example.com:8443"],
)
def test_base_url_accepted_dry_run(sim, book, url):
    # --dry-run: the settings are accepted and nothing is contacted at all
    result = upload(lead_book(book, sim.url, settings={"base_url": url}), "--dry-run")
    assert result.exit_code == 0, result.output
    assert log_dicts(book)[-1]["status"] == "DRY RUN"


def test_http_localhost_reaches_the_simulator(sim, book):
    url = sim.url.replace("127.0.0.1", "localhost")
    result = upload(lead_book(book, sim.url, settings={"base_url": url}))
    assert result.exit_code == 0, result.output
    assert only_request(sim)["headers"]["origin"] == "http://localhost"


# --- username and origin ----------------------------------------------------------------------


def test_username_from_environment(sim, book):
    result = upload(lead_book(book, sim.url), env=cli_env(username="demo"))
    assert result.exit_code == 0, result.output
    assert only_request(sim)["auth_user"] == "demo"


def test_username_in_settings_wins_over_environment(sim, book):
    # the seed user "viewer" may not use contact center 1: 403, but its credentials were used
    result = upload(lead_book(book, sim.url, settings={"username": "viewer"}),
                    env=cli_env(username="demo", password="viewer-pass"))
    assert result.exit_code == 1, result.output
    assert only_request(sim)["auth_user"] == "viewer"
    assert "403" in one_line_error(result)


def test_username_in_settings_without_environment(sim, book):
    result = upload(lead_book(book, sim.url, settings={"username": "demo"}),
                    env=cli_env(username=None))
    assert result.exit_code == 0, result.output
    assert only_request(sim)["auth_user"] == "demo"


def test_no_username_anywhere(sim, book):
    result = upload(lead_book(book, sim.url), env=cli_env(username=None))
    refused(result, sim, "AMEYO_USERNAME")


def test_no_password_anywhere(sim, book):
    result = upload(lead_book(book, sim.url), env=cli_env(password=None))
    refused(result, sim, "AMEYO_PASSWORD")


def test_origin_default_is_scheme_and_host_without_port(sim, book):
    assert ":" in sim.url.split("//")[1]  # the simulator listens on a port
    assert upload(lead_book(book, sim.url)).exit_code == 0
    assert only_request(sim)["headers"]["origin"] == "http://127.0.0.1"


@pytest.mark.parametrize(
    ("given", "sent"),
    [("https://crm.example.com", "https://crm.example.com"),
     ("https://crm.example.com:8443/", "https://crm.example.com:8443")],
)
def test_custom_origin_is_sent(sim, book, given, sent):
    result = upload(lead_book(book, sim.url, settings={"origin": given}))
    assert result.exit_code == 0, result.output
    assert only_request(sim)["headers"]["origin"] == sent


def test_origin_with_a_path_is_refused(sim, book):
    result = upload(lead_book(book, sim.url, settings={"origin": "https://crm.example.com/x"}))
    refused(result, sim, "Settings!B7")


# --- data_sheet, timeout_s, on_invalid_rows, verify_tls, ca_bundle ---------------------------


def two_sheet_book(book, url, **settings):
    return lead_book(
        book, url, data_sheet="January", rows=[["Jan One", "9000000001", "Pune"]],
        settings=settings,
        extra={"February": [["Name", "Mobile", "City"], ["Feb One", "9000000002", "Goa"],
                            ["Feb Two", "9000000003", "Goa"]]},
    )


@pytest.mark.parametrize("name", ["February", "february", " FEBRUARY "])
def test_data_sheet_picks_the_sheet(sim, book, name):
    result = upload(two_sheet_book(book, sim.url, data_sheet=name))
    assert result.exit_code == 0, result.output
    req = only_request(sim)
    assert "Feb One" in req["csv"] and "Jan One" not in req["csv"]
    assert log_dicts(book)[-1]["sheet"] == "February"
    assert req["filename"] == "February.csv"


def test_two_candidate_sheets_without_data_sheet_is_refused(sim, book):
    refused(upload(two_sheet_book(book, sim.url)), sim, "January", "February", "data_sheet")


def test_data_sheet_naming_a_missing_sheet_is_refused(sim, book):
    refused(upload(two_sheet_book(book, sim.url, data_sheet="March")), sim, "March")


def test_timeout_with_a_slow_server_fails_once(sim, book):
    sim.set_fault(LEAD, "slow", delay=5)
    result = upload(lead_book(book, sim.url, settings={"timeout_s": 0.3}))
    assert result.exit_code == 1, result.output
    line = one_line_error(result)
    assert "timeout_s" in line
    assert len(sim.upload_requests()) == 1  # the upload may have arrived: never re-sent
    assert log_dicts(book)[-1]["status"] == "FAILED"


@pytest.mark.parametrize("value", [0, -1, "soon", True])
def test_bad_timeout_is_refused(sim, book, value):
    refused(upload(lead_book(book, sim.url, settings={"timeout_s": value})), sim, "Settings!B7")


BAD_ROWS = [["Asha", "9876543210", "Pune"], ["Nobody", "", "Goa"], ["Ravi", "9123456780", "X"]]


@pytest.mark.parametrize("value", ["block", "BLOCK", " Block "])
def test_block_with_an_invalid_row_sends_nothing(sim, book, value):
    result = upload(lead_book(book, sim.url, rows=BAD_ROWS, settings={"on_invalid_rows": value}))
    line = refused(result, sim, "row 3")
    assert "block" in line
    logged = log_dicts(book)[-1]
    assert (logged["status"], logged["rows_sent"], logged["rows_skipped"]) == ("FAILED", 0, 1)


def test_block_with_only_valid_rows_uploads(sim, book):
    result = upload(lead_book(book, sim.url, settings={"on_invalid_rows": "block"}))
    assert result.exit_code == 0, result.output
    only_request(sim)


@pytest.mark.parametrize("value", [None, "skip", "SKIP"])
def test_skip_uploads_the_valid_rows(sim, book, value):
    result = upload(lead_book(book, sim.url, rows=BAD_ROWS, settings={"on_invalid_rows": value}))
    assert result.exit_code == 0, result.output
    assert only_request(sim)["csv"].count("\r\n") == 3  # header + 2 rows


def test_bad_on_invalid_rows_is_refused(sim, book):
    refused(upload(lead_book(book, sim.url, settings={"on_invalid_rows": "ignore"})), sim,
            "Settings!B7")


def test_verify_tls_false_is_warned_about(sim, book):
    result = upload(lead_book(book, sim.url, settings={"verify_tls": False}))
    assert result.exit_code == 0, result.output
    assert "verify_tls" in result.stderr
    only_request(sim)


def test_missing_ca_bundle_file_is_refused(sim, book, tmp_path):
    missing = tmp_path / "nope.pem"
    result = upload(lead_book(book, sim.url, settings={"ca_bundle": str(missing)}))
    refused(result, sim, "ca_bundle")


# --- required keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["base_url", "cc_list_id", "process_id", "lead_id", "user_id"])
def test_missing_required_key_is_refused_naming_it(sim, book, key):
    result = upload(lead_book(book, sim.url, settings={key: None}))
    refused(result, sim, key, "missing")


@pytest.mark.parametrize("key", ["cc_list_id", "user_id"])
def test_required_key_without_value_is_refused_naming_the_cell(sim, book, key):
    row = {"cc_list_id": 3, "user_id": 6}[key]
    result = upload(lead_book(book, sim.url, settings={key: "  "}))
    refused(result, sim, key, f"Settings!B{row}")


def test_no_settings_sheet(sim, book):
    from tests.books import mapping_rows, write_book

    write_book(book, {"Leads": [["Name", "Mobile"], ["A", "9876543210"]],
                      "Mapping": mapping_rows({"phone1": "Mobile"})})
    refused(upload(book), sim, "Settings")


def test_user_id_number_is_sent_as_the_analyst_sees_it(sim, book):
    result = upload(lead_book(book, sim.url, settings={"user_id": 1001.0}))
    assert result.exit_code == 0, result.output
    assert only_request(sim)["fields"]["user_id"] == "1001"
    assert json.loads(only_request(sim)["fields"]["header_mapping"])["phone1"] == "Mobile"


def test_password_from_environment_is_used(sim, book):
    result = upload(lead_book(book, sim.url), env=cli_env(password=PASSWORD + "-wrong"))
    assert result.exit_code == 1, result.output
    assert "401" in one_line_error(result)
    assert only_request(sim)["auth_user"] is None
