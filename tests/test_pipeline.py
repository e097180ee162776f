"""The pipeline's own duties beyond the core modules: batching and releasing connections."""

from __future__ import annotations

from xl_ameyo import pipeline
from xl_ameyo.client import AmeyoClient
from xl_ameyo.template import build_workbook


class _Book:
    """A WorkbookSource over an openpyxl workbook built in memory (values as written)."""

    def __init__(self, wb):
        self.wb = wb

    @property
    def sheet_names(self):
        return self.wb.sheetnames

    def read_sheet(self, name):
        return [list(row) for row in self.wb[name].iter_rows(values_only=True)]


def test_batches_cover_every_row_once():
    assert pipeline.batches(5, None) == [(0, 5)]
    assert pipeline.batches(5, 5) == [(0, 5)]
    assert pipeline.batches(5, 2) == [(0, 2), (2, 4), (4, 5)]


def test_run_upload_closes_the_clients_connections(sim):
    wb = build_workbook(
        settings={"base_url": sim.url, "cc_list_id": 1, "process_id": 13, "lead_id": 17,
                  "user_id": "sup"},
        rows=[["Ana", "9876543210", None, None, None]],
    )
    plan = pipeline.plan_upload(_Book(wb))
    made = []

    def factory(settings):
        client = AmeyoClient(settings.base_url, sim.username, sim.password)
        made.append(client)
        return client

    outcome = pipeline.run_upload(plan, client_factory=factory)
    assert outcome.error is None and outcome.records[0].status == "OK"
    adapter = made[0].session.get_adapter(sim.url + "/v1/")
    assert len(adapter.poolmanager.pools) == 0  # closed: no connection kept open
