"""Every fault in the simulator README's table gives its documented answer, over real HTTP."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from xl_ameyo.simulator.faults import FAULT_NAMES
from xl_ameyo.simulator.server import SimulatorServer

README = Path(__file__).resolve().parents[1] / "xl_ameyo" / "simulator" / "README.md"


def envelope_code(response: requests.Response) -> str:
    body = response.json()
    assert body["http_code"] == response.status_code
    assert body["response"]["http_code"] == response.status_code
    assert body["response"]["data"] is None
    return body["response"]["error_data"]["error_code"]


def readme_faults() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Fault injection", 1)[1]
    return re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.MULTILINE)


def test_readme_table_and_code_name_the_same_faults():
    assert sorted(readme_faults()) == sorted(FAULT_NAMES)


def _is_html(response: requests.Response, *needles: str) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.lstrip().lower().startswith(("<html", "<!doctype html"))
    for needle in needles:
        assert needle in response.text


# fault -> check of the answer; none of these creates a task
CANNED_CHECKS = {
    "unauthorized": lambda r: r.status_code == 401 and envelope_code(r) == "AUTH-1001",
    "forbidden": lambda r: r.status_code == 403 and envelope_code(r) == "AUTH-1002",
    "cc-not-found": lambda r: r.status_code == 404 and envelope_code(r) == "CONF-1001",
    "process-not-found": lambda r: r.status_code == 404 and envelope_code(r) == "CONF-1002",
    "lead-not-found": lambda r: r.status_code == 404 and envelope_code(r) == "CONF-1003",
    "bad-request": lambda r: (
        r.status_code == 400
        and set(r.json()["response"]["error_data"]) == {"error_code", "message", "description"}
    ),
    "too-large": lambda r: (
        r.status_code == 413 and _is_html(r, "413 Request Entity Too Large", "nginx") is None
    ),
    "server-error-html": lambda r: (
        r.status_code == 500 and _is_html(r, "HTTP Status 500", "Apache Tomcat") is None
    ),
    "object-envelope": lambda r: r.status_code == 500 and envelope_code(r) == "IS-1002",
    "bad-gateway": lambda r: (
        r.status_code == 502 and _is_html(r, "502 Bad Gateway", "nginx") is None
    ),
    "unavailable": lambda r: (
        r.status_code == 503 and _is_html(r, "503 Service Temporarily Unavailable") is None
    ),
    "legacy-status": lambda r: (
        r.status_code == 400
        and set(r.json()) == {"statusCode", "status", "errorCode", "errorMessage"}
        and r.json()["statusCode"] == 400
    ),
    "legacy-message": lambda r: (
        r.status_code == 400 and set(r.json()) == {"message", "code", "info", "status"}
    ),
    "null-body": lambda r: r.status_code == 200 and r.content == b"null" and r.json() is None,
    "garbage": lambda r: (
        r.status_code == 200 and r.headers["content-type"].startswith("text/html") and _not_json(r)
    ),
}


def _not_json(response: requests.Response) -> bool:
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    return True


@pytest.mark.parametrize("fault", sorted(CANNED_CHECKS))
def test_canned_fault_by_header(sim, sim_upload, fault):
    response = sim_upload(headers={"X-Sim-Fault": fault})
    assert CANNED_CHECKS[fault](response), (response.status_code, response.text[:300])
    assert sim.tasks() == []
    [logged] = sim.upload_requests()
    assert logged["fault"] == fault
    assert logged["status"] == response.status_code
    assert logged["fields"]["user_id"] == "john"  # the body was read and recorded


@pytest.mark.parametrize("fault", sorted(CANNED_CHECKS))
def test_canned_fault_by_lead_list(sim, sim_upload, fault):
    sim.set_fault(17, fault)
    response = sim_upload()
    assert CANNED_CHECKS[fault](response), (response.status_code, response.text[:300])
    assert sim.tasks() == []


def test_canned_faults_answer_even_valid_requests_of_other_users(sim, sim_upload):
    response = sim_upload(auth=("viewer", "viewer-pass"), headers={"X-Sim-Fault": "null-body"})
    assert response.status_code == 200 and response.json() is None


def test_text_plain_json_is_a_success_served_as_text(sim, sim_upload):
    response = sim_upload(headers={"X-Sim-Fault": "text-plain-json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    task_id = response.json()["response"][0]["data"]["task_id"]
    assert task_id > 2**53
    assert sim.wait_for_task(task_id)["inserted"] == 1


def test_task_fail_answers_success_and_the_task_fails(sim, sim_upload):
    response = sim_upload(headers={"X-Sim-Fault": "task-fail"})
    assert response.status_code == 200
    task = sim.wait_for_task(response.json()["response"][0]["data"]["task_id"])
    assert task["status"] == "FAILED"
    assert "task-fail" in task["error"]
    assert sim.contacts(17) == []


def test_faulted_request_still_gets_real_checks_for_processed_faults(sim, sim_upload):
    response = sim_upload(auth=("demo", "wrong"), headers={"X-Sim-Fault": "text-plain-json"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/plain")


# --- drop ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [100, 3_000_000], ids=["small", "large"])
def test_drop_resets_the_connection(sim, sim_upload, size):
    body = "customer_name,phone1\n" + "Asha,9876543210\n" * (size // 16)
    with pytest.raises(requests.ConnectionError) as caught:
        sim_upload(body, mapping={"phone1": "phone1"}, headers={"X-Sim-Fault": "drop"})
    # a connection error, not an HTTP answer cut short
    assert not isinstance(caught.value, requests.exceptions.ChunkedEncodingError)
    [logged] = sim.upload_requests()
    assert logged["fault"] == "drop"
    assert logged["status"] is None
    assert sim.tasks() == []


def test_drop_by_lead_list_for_a_number_of_times(sim, sim_upload):
    sim.set_fault(17, "drop", times=1)
    with pytest.raises(requests.ConnectionError):
        sim_upload()
    assert sim_upload().status_code == 200
    assert [r["fault"] for r in sim.upload_requests()] == ["drop", None]


def test_drop_over_tls_resets_the_connection():
    with SimulatorServer(tls=True) as server:
        assert server.url.startswith("https://")
        # verify= per request: a REQUESTS_CA_BUNDLE in the environment beats Session.verify
        with pytest.raises(requests.ConnectionError) as caught:
            requests.post(
                server.upload_url(),
                auth=(server.username, server.password),
                files={"file": ("a.csv", b"phone1\n9876543210\n", "text/csv")},
                headers={"X-Sim-Fault": "drop"},
                verify=server.ca_path,
                timeout=5,
            )
        assert not isinstance(caught.value, requests.exceptions.SSLError)
        assert [r["fault"] for r in server.upload_requests()] == ["drop"]
        # the server goes on serving
        with requests.get(f"{server.url}/_sim/tasks", verify=server.ca_path, timeout=5) as r:
            assert r.json() == []


# --- slow ------------------------------------------------------------------------------


def test_slow_times_out_the_client_after_the_work_was_done(sim, sim_upload):
    with pytest.raises(requests.ReadTimeout):
        sim_upload(headers={"X-Sim-Fault": "slow", "X-Sim-Delay": "1.5"}, timeout=0.5)
    # exactly one POST reached the server: nothing was re-sent
    assert len(sim.upload_requests()) == 1
    assert sim.upload_requests()[0]["fault"] == "slow"
    # and a real server may have done the work: the task exists
    deadline = time.monotonic() + 5
    while not sim.tasks() and time.monotonic() < deadline:
        time.sleep(0.01)
    [task] = sim.tasks()
    assert sim.wait_for_task(task["task_id"])["inserted"] == 1


def test_slow_answers_success_after_the_delay(sim, sim_upload):
    sim.set_fault(17, "slow", delay=0.2, times=1)
    response = sim_upload()
    assert response.status_code == 200
    assert response.json()["response"][0]["data"]["task_id"] > 2**53
    assert sim.faults() == {}


# --- choosing faults -------------------------------------------------------------------


def test_lead_list_fault_counts_down_and_stays_on_its_lead_list(sim, sim_upload):
    sim.set_fault(17, "unavailable", times=2)
    assert sim_upload(ids=(1, 13, 18)).status_code == 200
    assert [sim_upload().status_code for _ in range(3)] == [503, 503, 200]
    assert [r["fault"] for r in sim.upload_requests()] == [None, "unavailable", "unavailable", None]


def test_header_fault_wins_over_lead_list_fault(sim, sim_upload):
    sim.set_fault(17, "unavailable")
    assert sim_upload(headers={"X-Sim-Fault": "bad-gateway"}).status_code == 502
    assert sim_upload().status_code == 503
    sim.clear_faults()
    assert sim_upload().status_code == 200


def test_unknown_fault_names_are_refused(sim, sim_upload):
    response = sim_upload(headers={"X-Sim-Fault": "explode"})
    assert response.status_code == 400
    assert envelope_code(response) == "SIM-1001"
    assert sim.upload_requests()[0]["fault"] == "explode"
    with pytest.raises(ValueError, match="explode"):
        sim.set_fault(17, "explode")
    with pytest.raises(ValueError, match="times"):
        sim.set_fault(17, "slow", times=0)
    response = sim_upload(headers={"X-Sim-Fault": "slow", "X-Sim-Delay": "soon"})
    assert envelope_code(response) == "SIM-1001"


def test_faults_do_not_touch_the_get_extensions(sim, sim_upload):
    task_id = sim_upload().json()["response"][0]["data"]["task_id"]
    sim.wait_for_task(task_id)
    sim.set_fault(17, "unavailable")
    url = f"{sim.upload_url()}/{task_id}"
    response = requests.get(url, auth=("demo", "demo-pass"), timeout=5)
    assert response.status_code == 200
