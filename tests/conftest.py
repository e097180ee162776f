"""Shared fixtures: one Ameyo simulator per test session on a free loopback port.

``sim`` is the server, reset (seed data only, no contacts, tasks, requests or faults) before
each test that asks for it; every test gets its own data folder (the upload ledger). Other
test modules (the HTTP client's) rely on these names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import requests
from hypothesis import settings

from xl_ameyo.simulator.server import SimulatorServer

# no timed assertions: a shared machine makes any deadline flaky
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")

#: A header_mapping like the vendor page's, with one custom field.
DEFAULT_MAPPING = {
    "name": "customer_name",
    "phone1": "phone1",
    "phone2": "",
    "phone3": "",
    "phone4": "",
    "phone5": "",
    "email": "email",
    "timezone": "",
    "twitter": "",
    "facebook": "",
    "city": "city",
}
DEFAULT_CSV = "customer_name,phone1,email,city\nAsha Rao,9876543210,asha@example.com,Pune\n"

#: ``fields`` value that leaves a form field out of the request
OMIT = object()


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path_factory, monkeypatch):
    """Each test has its own upload ledger and workbook locks (XL_AMEYO_DATA_DIR, inherited
    by the processes tests start): never the real user's, never another test's."""
    folder = tmp_path_factory.mktemp("xl-ameyo-data")
    monkeypatch.setenv("XL_AMEYO_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def sim(simulator_server: SimulatorServer) -> SimulatorServer:
    simulator_server.reset()
    return simulator_server


def queue_task(store) -> int:
    """A one-row task put straight into the simulator's store, never given to its worker."""
    return store.create_task(
        cc_list_id=1,
        process_id=13,
        lead_id=17,
        user_id="john",
        auth_user="demo",
        update_duplicate=False,
        churn_updated_records=False,
        migrate=False,
        header_mapping='{"phone1": "phone1"}',
        filename="x.csv",
        csv_text="phone1\n9876543210\n",
    )


def sim_post(
    server: SimulatorServer,
    csv: str | bytes | None = DEFAULT_CSV,
    *,
    mapping: dict | str = DEFAULT_MAPPING,
    ids: tuple[int | str, int | str, int | str] = (1, 13, 17),
    auth: tuple[str, str] | None = ("demo", "demo-pass"),
    fields: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    filename: str = "leads.csv",
) -> requests.Response:
    """One multipart upload POST, as the vendor page describes it.

    ``fields`` overrides form fields (``OMIT`` leaves one out); ``csv=None`` sends no file.
    """
    form: dict[str, object] = {
        "user_id": "john",
        "update_duplicate": "false",
        "churn_updated_records": "false",
        "migrate": "false",
        "header_mapping": mapping if isinstance(mapping, str) else json.dumps(mapping),
    }
    form.update(fields or {})
    parts: list[tuple[str, tuple]] = [
        (name, (None, value)) for name, value in form.items() if value is not OMIT
    ]
    if csv is not None:
        content = csv.encode("utf-8") if isinstance(csv, str) else csv
        parts.append(("file", (filename, content, "text/csv")))
    return requests.post(
        server.upload_url(*ids),
        auth=auth,
        files=parts or [("nothing", (None, ""))],
        headers={"accept": "*/*", "origin": server.url, **(headers or {})},
        timeout=timeout,
    )


@pytest.fixture
def sim_upload(sim: SimulatorServer) -> Callable[..., requests.Response]:
    """``sim_upload(csv, mapping=..., ids=..., auth=..., fields=..., headers=...)``."""

    def upload(*args: object, **kwargs: object) -> requests.Response:
        return sim_post(sim, *args, **kwargs)  # type: ignore[arg-type]

    return upload
