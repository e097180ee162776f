"""The simulator's upload endpoint over real HTTP: envelopes, auth, ids, form checks, its own
GET extensions, the request log and the /_sim control API.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import uuid

import pytest
import requests

from tests.conftest import DEFAULT_MAPPING, OMIT, queue_task
from xl_ameyo.simulator.server import SimulatorServer

AUTH = ("demo", "demo-pass")


def error_data(response: requests.Response, status: int) -> dict:
    """Check the object error envelope and return its error_data."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"http_code", "method", "request_id", "response"}
    assert body["http_code"] == status
    assert body["method"] == "POST" or body["method"] == "GET"
    uuid.UUID(body["request_id"])
    assert body["response"]["http_code"] == status
    assert body["response"]["data"] is None
    data = body["response"]["error_data"]
    assert set(data) == {"error_code", "message", "description"}
    assert data["message"] and data["description"]
    return data


# --- success ---------------------------------------------------------------------------


def test_success_is_exactly_the_vendor_envelope(sim, sim_upload):
    response = sim_upload()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    task_id = body["response"][0]["data"]["task_id"]
    assert body == {
        "metadata": None,
        "method": "POST",
        "response": [{"data": {"task_id": task_id}, "http_code": 200, "error_data": None}],
        "http_code": 200,
        "request_id": None,
    }
    # a JSON integer with 16+ digits that no float holds exactly
    assert type(task_id) is int
    assert task_id > 2**53
    assert len(str(task_id)) >= 16
    assert int(float(task_id)) != task_id
    assert re.search(rf'"task_id":\s*{task_id}[,}}]', response.text)
    # and the task it names exists
    assert sim.wait_for_task(task_id)["task_id"] == str(task_id)


def test_task_ids_are_new_and_unique(sim, sim_upload):
    ids = {sim_upload().json()["response"][0]["data"]["task_id"] for _ in range(5)}
    assert len(ids) == 5
    assert [t["task_id_number"] for t in sim.tasks()] == [int(t["task_id"]) for t in sim.tasks()]
    assert {t["task_id_number"] for t in sim.tasks()} == ids
    # uniqueness is a database constraint, not luck
    one = next(iter(ids))
    with pytest.raises(sqlite3.IntegrityError), sim.store.transaction() as db:
        db.execute("UPDATE tasks SET task_id = ? WHERE task_id != ?", (one, one))


def test_flags_default_to_false_and_are_read_as_sent(sim, sim_upload):
    omitted = {k: OMIT for k in ("update_duplicate", "churn_updated_records", "migrate")}
    first = sim.wait_for_task(sim_upload(fields=omitted).json()["response"][0]["data"]["task_id"])
    assert (first["update_duplicate"], first["churn_updated_records"], first["migrate"]) == (
        False,
        False,
        False,
    )
    sent = {"update_duplicate": "TRUE", "churn_updated_records": "false", "migrate": "true"}
    second = sim.wait_for_task(sim_upload(fields=sent).json()["response"][0]["data"]["task_id"])
    assert (second["update_duplicate"], second["churn_updated_records"], second["migrate"]) == (
        True,
        False,
        True,
    )


# --- 401, 403, 404 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [("demo", "wrong"), ("nobody", "demo-pass"), ("demo", "demo-pass "), None],
    ids=["wrong-password", "unknown-user", "password-with-space", "no-credentials"],
)
def test_bad_or_missing_credentials_answer_401(sim, sim_upload, auth):
    response = sim_upload(auth=auth)
    assert error_data(response, 401)["error_code"] == "AUTH-1001"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert sim.tasks() == []


def test_malformed_authorization_header_answers_401(sim, sim_upload):
    response = sim_upload(auth=None, headers={"authorization": "Basic not-base64!"})
    assert error_data(response, 401)["error_code"] == "AUTH-1001"
    response = sim_upload(auth=None, headers={"authorization": "Bearer abc"})
    assert error_data(response, 401)["error_code"] == "AUTH-1001"


def test_viewer_may_not_use_contact_center_1(sim, sim_upload):
    response = sim_upload(auth=("viewer", "viewer-pass"))
    data = error_data(response, 403)
    assert data["error_code"] == "AUTH-1002"
    assert sim.tasks() == []
    # the restriction is about contact center 1 only
    sim.add_lead_list(2, 30, 31)
    assert sim_upload(auth=("viewer", "viewer-pass"), ids=(2, 30, 31)).status_code == 200


@pytest.mark.parametrize(
    ("ids", "code"),
    [
        ((99, 13, 17), "CONF-1001"),
        (("abc", 13, 17), "CONF-1001"),
        ((1, 99, 17), "CONF-1002"),
        ((1, 99, 99), "CONF-1002"),
        ((1, 13, 99), "CONF-1003"),
        ((1, 14, 17), "CONF-1003"),  # lead list 17 belongs to process 13
        ((1, 13, 19), "CONF-1003"),  # lead list 19 belongs to process 14
    ],
)
def test_unknown_ids_answer_404_with_their_conf_code(sim, sim_upload, ids, code):
    assert error_data(sim_upload(ids=ids), 404)["error_code"] == code
    assert sim.tasks() == []


def test_process_of_another_contact_center_is_not_found(sim, sim_upload):
    sim.add_lead_list(2, 30, 31)
    assert error_data(sim_upload(ids=(1, 30, 31)), 404)["error_code"] == "CONF-1002"


def test_unknown_user_on_unknown_ids_is_401_first(sim, sim_upload):
    assert error_data(sim_upload(ids=(99, 99, 99), auth=("x", "y")), 401)["error_code"] == (
        "AUTH-1001"
    )


# --- 400 -------------------------------------------------------------------------------

CSV = "customer_name,phone1,email,city\nAsha,9876543210,a@example.com,Pune\n"


@pytest.mark.parametrize(
    ("kwargs", "code", "mentions"),
    [
        ({"csv": None}, "VAL-1001", "file"),
        ({"csv": None, "fields": {"file": CSV}}, "VAL-1001", "file"),  # text, not a file part
        ({"fields": {"user_id": OMIT}}, "VAL-1001", "user_id"),
        ({"fields": {"user_id": ""}}, "VAL-1001", "user_id"),
        ({"fields": {"header_mapping": OMIT}}, "VAL-1001", "header_mapping"),
        ({"mapping": '{"phone1": "phone1",'}, "VAL-1003", "JSON"),
        ({"mapping": "not json"}, "VAL-1003", "JSON"),
        ({"mapping": '["phone1"]'}, "VAL-1004", "object"),
        ({"mapping": '{"phone1": "phone1", "name": 5}'}, "VAL-1004", "object"),
        ({"mapping": '{"phone1": "phone1", "name": null}'}, "VAL-1004", "object"),
        ({"mapping": {**DEFAULT_MAPPING, "phone1": ""}}, "VAL-1005", "phone1"),
        ({"mapping": {"name": "customer_name"}}, "VAL-1005", "phone1"),
        ({"mapping": {**DEFAULT_MAPPING, "email": "E-mail"}}, "VAL-1006", "E-mail"),
        ({"mapping": {**DEFAULT_MAPPING, "phone1": "Phone1"}}, "VAL-1006", "Phone1"),
        ({"fields": {"migrate": "yes"}}, "VAL-1002", "migrate"),
        ({"fields": {"update_duplicate": "1"}}, "VAL-1002", "update_duplicate"),
        ({"csv": b"customer_name,phone1\n\xff\xfe,1\n"}, "VAL-1007", "UTF-8"),
        ({"csv": b""}, "VAL-1007", "header"),
        ({"csv": "phone1,phone1\n9876543210,9876543211\n"}, "VAL-1008", "phone1"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_forms_answer_400(sim, sim_upload, kwargs, code, mentions):
    kwargs.setdefault("csv", CSV)
    if code == "VAL-1008":
        kwargs["mapping"] = {"phone1": "phone1"}
    data = error_data(sim_upload(**kwargs), 400)
    assert data["error_code"] == code
    assert mentions in data["description"]
    assert sim.tasks() == []


def test_byte_order_mark_stays_part_of_the_first_header(sim, sim_upload):
    """Faithful to Java loaders: '\\ufeffphone1' is not 'phone1'."""
    bom_csv = "\ufeffphone1,customer_name\n9876543210,Asha\n"
    data = error_data(sim_upload(bom_csv.encode("utf-8"), mapping={"phone1": "phone1"}), 400)
    assert data["error_code"] == "VAL-1006"
    assert "'phone1'" in data["description"]
    assert "byte-order mark" in data["description"]
    # the request log keeps the text as received, mark included
    assert sim.upload_requests()[-1]["csv"].startswith("\ufeffphone1,")
    # without the mark the same file is accepted
    plain = bom_csv.removeprefix("\ufeff")
    assert sim_upload(plain, mapping={"phone1": "phone1"}).status_code == 200


def test_byte_order_mark_on_an_unmapped_first_header_is_harmless(sim, sim_upload):
    bom_csv = "\ufeffcustomer_name,phone1\nAsha,9876543210\n"
    response = sim_upload(bom_csv, mapping={"phone1": "phone1"})
    assert response.status_code == 200
    task = sim.wait_for_task(response.json()["response"][0]["data"]["task_id"])
    assert task["inserted"] == 1
    assert sim.contacts(17)[0]["name"] is None


# --- the request log -------------------------------------------------------------------


def test_request_log_records_what_arrived_without_secrets(sim, sim_upload):
    sim_upload(headers={"X-Custom": "yes"})
    sim_upload(auth=("demo", "not-the-password"))
    first, second = sim.upload_requests()
    assert (first["cc_list_id"], first["process_id"], first["lead_id"]) == (1, 13, 17)
    assert first["fault"] is None
    assert first["fields"] == {
        "user_id": "john",
        "update_duplicate": "false",
        "churn_updated_records": "false",
        "migrate": "false",
        "header_mapping": json.dumps(DEFAULT_MAPPING),
    }
    assert first["filename"] == "leads.csv"
    assert first["file_content_type"] == "text/csv"
    assert first["csv"].startswith("customer_name,phone1,email,city\n")
    assert first["headers"]["x-custom"] == "yes"
    assert first["headers"]["accept"] == "*/*"
    assert first["headers"]["origin"] == sim.url
    assert first["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert all(name == name.lower() for name in first["headers"])
    assert "authorization" not in first["headers"]
    assert first["auth_user"] == "demo"
    assert first["status"] == 200
    assert first["task_id"] == sim.tasks()[0]["task_id"]
    assert second["auth_user"] is None
    assert second["status"] == 401
    everything = json.dumps(sim.upload_requests())
    assert "demo-pass" not in everything
    assert "not-the-password" not in everything
    assert "Basic " not in everything


def test_request_log_over_http_matches(sim, sim_upload):
    sim_upload()
    over_http = requests.get(f"{sim.url}/_sim/requests", timeout=5).json()
    assert over_http == sim.upload_requests()
    assert len(over_http) == 1


# --- the simulator's own task endpoints ------------------------------------------------


def test_task_status_endpoint(sim, sim_upload):
    csv = "customer_name,phone1\nAsha,9876543210\nBad,12345\nAsha again,9876543210\n"
    task_id = sim_upload(csv, mapping={"name": "customer_name", "phone1": "phone1"}).json()[
        "response"
    ][0]["data"]["task_id"]
    sim.wait_for_task(task_id)
    response = requests.get(f"{sim.upload_url()}/{task_id}", auth=AUTH, timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["http_code"] == 200 and body["method"] == "GET"
    data = body["response"][0]["data"]
    assert data["task_id"] == str(task_id)
    assert data["task_id_number"] == task_id
    assert data["status"] == "COMPLETED"
    counts = {k: data[k] for k in ("rows", "inserted", "updated", "duplicates", "migrated")}
    assert counts == {"rows": 3, "inserted": 1, "updated": 0, "duplicates": 1, "migrated": 0}
    assert data["rejected"] == 1


def test_task_endpoints_need_auth_and_the_right_lead_list(sim, sim_upload):
    task_id = sim_upload().json()["response"][0]["data"]["task_id"]
    sim.wait_for_task(task_id)
    for suffix in ("", "/error-file"):
        url = f"{sim.upload_url()}/{task_id}{suffix}"
        assert error_data(requests.get(url, timeout=5), 401)["error_code"] == "AUTH-1001"
        viewer = requests.get(url, auth=("viewer", "viewer-pass"), timeout=5)
        assert error_data(viewer, 403)["error_code"] == "AUTH-1002"
        other_list = f"{sim.upload_url(1, 13, 18)}/{task_id}{suffix}"
        assert (
            error_data(requests.get(other_list, auth=AUTH, timeout=5), 404)["error_code"]
            == "TASK-1001"
        )
        unknown = f"{sim.upload_url()}/{task_id + 2}{suffix}"
        assert error_data(requests.get(unknown, auth=AUTH, timeout=5), 404)["error_code"] == (
            "TASK-1001"
        )


def test_error_file_of_an_unfinished_task_is_409(sim):
    # a task queued straight in the store, never given to the worker
    task_id = queue_task(sim.store)
    url = f"{sim.upload_url()}/{task_id}"
    assert requests.get(url, auth=AUTH, timeout=5).json()["response"][0]["data"]["status"] == (
        "QUEUED"
    )
    data = error_data(requests.get(url + "/error-file", auth=AUTH, timeout=5), 409)
    assert data["error_code"] == "TASK-1002"


# --- /_sim -----------------------------------------------------------------------------


def test_sim_api_over_http(sim, sim_upload):
    base = f"{sim.url}/_sim"
    lead_lists = requests.get(f"{base}/lead-lists", timeout=5).json()
    assert [(x["cc_list_id"], x["process_id"], x["lead_id"]) for x in lead_lists] == [
        (1, 13, 17),
        (1, 13, 18),
        (1, 14, 19),
    ]
    task_id = sim_upload().json()["response"][0]["data"]["task_id"]
    sim.wait_for_task(task_id)
    contacts = requests.get(f"{base}/lead-lists/17/contacts", timeout=5).json()
    assert [c["phone1"] for c in contacts] == ["9876543210"]
    assert contacts[0]["custom"] == {"city": "Pune"}
    tasks = requests.get(f"{base}/tasks", timeout=5).json()
    assert [t["task_id_number"] for t in tasks] == [task_id]
    assert requests.get(f"{base}/tasks/{task_id}", timeout=5).json()["task_id"] == str(task_id)
    assert requests.get(f"{base}/tasks/{task_id + 2}", timeout=5).status_code == 404
    dialed = requests.post(f"{base}/lead-lists/17/dial", timeout=5).json()
    assert dialed == {"dialed": 1}
    assert sim.contacts(17)[0]["dial_state"] == "DIALED"

    put = requests.put(f"{base}/faults/18", json={"fault": "slow", "delay": 0.1}, timeout=5)
    assert put.status_code == 200
    assert requests.get(f"{base}/faults", timeout=5).json() == {
        "18": {"name": "slow", "delay": 0.1, "times": None}
    }
    bad = requests.put(f"{base}/faults/18", json={"fault": "explode"}, timeout=5)
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    bad = requests.put(f"{base}/faults/18", json={"fault": "slow", "times": 0}, timeout=5)
    assert bad.status_code == 400
    assert requests.delete(f"{base}/faults/18", timeout=5).json() == {"removed": True}
    assert requests.get(f"{base}/faults", timeout=5).json() == {}

    assert requests.post(f"{base}/reset", timeout=5).json() == {"reset": True}
    assert sim.tasks() == [] and sim.contacts(17) == [] and sim.upload_requests() == []
    assert len(requests.get(f"{base}/lead-lists", timeout=5).json()) == 3


def test_reset_keeps_the_seed_and_drops_additions(sim):
    sim.add_lead_list(2, 30, 31)
    sim.set_fault(17, "unavailable")
    sim.reset()
    assert [x["lead_id"] for x in sim.store.lead_lists()] == [17, 18, 19]
    assert sim.faults() == {}


def test_sim_api_refuses_clients_that_are_not_loopback(sim):
    """Checked at the ASGI level: tests use loopback addresses only."""
    app = sim._server.config.app  # the running simulator's Starlette app
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/_sim/reset",
        "raw_path": b"/_sim/reset",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("192.0.2.10", 40000),
        "server": ("192.0.2.1", 8443),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 403


def test_server_with_its_own_users_and_no_seed():
    with SimulatorServer(seed=False, users={"ops": "s3cret"}) as server:
        assert (server.username, server.password) == ("ops", "s3cret")
        from tests.conftest import sim_post

        response = sim_post(server, auth=("ops", "s3cret"))
        assert error_data(response, 404)["error_code"] == "CONF-1001"
        assert error_data(sim_post(server), 401)["error_code"] == "AUTH-1001"  # no demo user
        server.add_lead_list(1, 13, 17)
        assert sim_post(server, auth=("ops", "s3cret")).status_code == 200
