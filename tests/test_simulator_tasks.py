"""What a contact-upload task does with its rows: inserts, duplicates, updates, churn, migration,
rejected rows and their error file, and many uploads at once.
"""

from __future__ import annotations

import csv
import io
import threading

import requests

from tests.conftest import queue_task
from xl_ameyo.simulator.server import SimulatorServer
from xl_ameyo.simulator.store import Store
from xl_ameyo.simulator.tasks import run_task

AUTH = ("demo", "demo-pass")
MAPPING = {"name": "customer_name", "phone1": "mobile", "email": "email", "city": "city"}
HEADER = "customer_name,mobile,email,city\n"


def upload(sim_upload, rows: str, *, lead: int = 17, process: int = 13, **flags: bool) -> str:
    """Upload rows (under HEADER) and return the task id as text."""
    fields = {name: "true" if value else "false" for name, value in flags.items()}
    response = sim_upload(HEADER + rows, mapping=MAPPING, ids=(1, process, lead), fields=fields)
    assert response.status_code == 200, response.text
    return str(response.json()["response"][0]["data"]["task_id"])


def done(sim, task_id: str) -> dict:
    task = sim.wait_for_task(task_id)
    assert task["status"] == "COMPLETED", task
    return task


def counts(task: dict) -> dict:
    keys = ("rows", "inserted", "updated", "duplicates", "migrated", "rejected", "churned")
    return {k: task[k] for k in keys}


def by_phone(sim, lead: int) -> dict[str, dict]:
    return {c["phone1"]: c for c in sim.contacts(lead)}


def test_new_contacts_are_stored_with_standard_and_custom_fields(sim, sim_upload):
    task = done(
        sim,
        upload(
            sim_upload,
            "Asha Rao,9876543210,asha@example.com,Pune\n"
            '"Rao, Vikram ""Vik""",919876543211,,Mumbai\n'
            "\n"  # a blank line is not a record
            "Zoë Ünal,123456789012345,z@example.com,İzmir\n",
        ),
    )
    assert counts(task) == {
        "rows": 3,
        "inserted": 3,
        "updated": 0,
        "duplicates": 0,
        "migrated": 0,
        "rejected": 0,
        "churned": 0,
    }
    stored = by_phone(sim, 17)
    assert stored["9876543210"]["name"] == "Asha Rao"
    assert stored["9876543210"]["email"] == "asha@example.com"
    assert stored["9876543210"]["custom"] == {"city": "Pune"}
    assert stored["919876543211"]["name"] == 'Rao, Vikram "Vik"'
    assert stored["919876543211"]["email"] == ""
    assert stored["123456789012345"]["custom"] == {"city": "İzmir"}
    assert stored["9876543210"]["phone2"] is None  # not mapped
    assert stored["9876543210"]["dial_state"] == "READY"
    assert stored["9876543210"]["attempts"] == 0
    assert stored["9876543210"]["last_task_id"] == task["task_id"]
    assert {c["lead_id"] for c in stored.values()} == {17}


def test_duplicates_are_left_alone_without_update_duplicate(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,a@example.com,Pune\n"))
    task = done(
        sim,
        upload(
            sim_upload,
            "Asha NEW,9876543210,new@example.com,Delhi\nRavi,9876543299,,Goa\n",
            update_duplicate=False,
        ),
    )
    assert (task["inserted"], task["duplicates"], task["updated"]) == (1, 1, 0)
    asha = by_phone(sim, 17)["9876543210"]
    assert (asha["name"], asha["email"], asha["custom"]) == (
        "Asha",
        "a@example.com",
        {"city": "Pune"},
    )


def test_duplicates_are_updated_with_update_duplicate(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,a@example.com,Pune\n"))
    sim.mark_dialed(17)
    task = done(
        sim,
        upload(sim_upload, "Asha NEW,9876543210,new@example.com,Delhi\n", update_duplicate=True),
    )
    assert (task["inserted"], task["duplicates"], task["updated"], task["churned"]) == (0, 0, 1, 0)
    asha = by_phone(sim, 17)["9876543210"]
    assert (asha["name"], asha["email"], asha["custom"]) == (
        "Asha NEW",
        "new@example.com",
        {"city": "Delhi"},
    )
    # no churn asked: the dialer's state is kept
    assert (asha["dial_state"], asha["attempts"], asha["churn_count"]) == ("DIALED", 1, 0)
    assert len(sim.contacts(17)) == 1


def test_update_keeps_unmapped_fields_and_merges_custom_fields(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,a@example.com,Pune\n"))
    response = sim_upload(
        "mobile,segment\n9876543210,gold\n",
        mapping={"phone1": "mobile", "segment": "segment"},
        fields={"update_duplicate": "true"},
    )
    done(sim, response.json()["response"][0]["data"]["task_id"])
    asha = by_phone(sim, 17)["9876543210"]
    assert asha["name"] == "Asha" and asha["email"] == "a@example.com"
    assert asha["custom"] == {"city": "Pune", "segment": "gold"}


def test_churn_resets_updated_records_for_dialing(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,,Pune\nRavi,9876543299,,Goa\n"))
    assert sim.mark_dialed(17) == 2
    sim.mark_dialed(17, ["9876543210"])
    assert by_phone(sim, 17)["9876543210"]["attempts"] == 2
    task = done(
        sim,
        upload(
            sim_upload,
            "Asha,9876543210,,Pune\n",
            update_duplicate=True,
            churn_updated_records=True,
        ),
    )
    assert (task["updated"], task["churned"]) == (1, 1)
    stored = by_phone(sim, 17)
    assert (stored["9876543210"]["dial_state"], stored["9876543210"]["attempts"]) == ("READY", 0)
    assert stored["9876543210"]["churn_count"] == 1
    # a contact the upload did not touch keeps its state
    assert (stored["9876543299"]["dial_state"], stored["9876543299"]["attempts"]) == ("DIALED", 1)


def test_churn_without_update_duplicate_changes_nothing(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,,Pune\n"))
    sim.mark_dialed(17)
    task = done(sim, upload(sim_upload, "Asha,9876543210,,Pune\n", churn_updated_records=True))
    assert (task["duplicates"], task["updated"], task["churned"]) == (1, 0, 0)
    assert by_phone(sim, 17)["9876543210"]["dial_state"] == "DIALED"


def test_migrate_moves_a_contact_between_lead_lists_of_a_process(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,a@example.com,Pune\n", lead=17))
    task = done(
        sim, upload(sim_upload, "Asha B,9876543210,b@example.com,Goa\n", lead=18, migrate=True)
    )
    assert (task["migrated"], task["inserted"], task["updated"], task["duplicates"]) == (1, 0, 0, 0)
    assert sim.contacts(17) == []
    [moved] = sim.contacts(18)
    assert moved["phone1"] == "9876543210"
    assert moved["lead_id"] == 18
    assert moved["name"] == "Asha"  # moved, not updated (update_duplicate false)


def test_migrate_with_update_moves_and_updates(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,a@example.com,Pune\n", lead=17))
    task = done(
        sim,
        upload(
            sim_upload,
            "Asha B,9876543210,b@example.com,Goa\n",
            lead=18,
            migrate=True,
            update_duplicate=True,
        ),
    )
    assert (task["migrated"], task["updated"]) == (1, 1)
    [moved] = sim.contacts(18)
    assert (moved["name"], moved["custom"]) == ("Asha B", {"city": "Goa"})


def test_without_migrate_the_contact_stays_in_its_lead_list(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,a@example.com,Pune\n", lead=17))
    task = done(sim, upload(sim_upload, "Asha B,9876543210,b@example.com,Goa\n", lead=18))
    assert (task["migrated"], task["inserted"], task["duplicates"]) == (0, 0, 1)
    assert [c["phone1"] for c in sim.contacts(17)] == ["9876543210"]
    assert sim.contacts(18) == []


def test_another_process_has_its_own_contacts(sim, sim_upload):
    done(sim, upload(sim_upload, "Asha,9876543210,,Pune\n", lead=17))
    task = done(
        sim, upload(sim_upload, "Asha,9876543210,,Pune\n", lead=19, process=14, migrate=True)
    )
    assert (task["inserted"], task["migrated"]) == (1, 0)
    assert len(sim.contacts(17)) == 1 and len(sim.contacts(19)) == 1


def test_duplicates_within_one_file_first_row_wins(sim, sim_upload):
    task = done(
        sim,
        upload(
            sim_upload,
            "First,9876543210,,Pune\nSecond,9876543210,,Goa\nOther,9876543211,,X\n"
            "Third,9876543210,,Delhi\n",
            update_duplicate=True,
        ),
    )
    assert (task["rows"], task["inserted"], task["duplicates"], task["updated"]) == (4, 2, 2, 0)
    assert by_phone(sim, 17)["9876543210"]["name"] == "First"


def test_rejected_rows_are_in_the_error_file_with_their_reason(sim, sim_upload):
    rows = (
        "Ten,9876543210,,A\n"
        "Nine,987654321,,B\n"
        "Fifteen,123456789012345,,C\n"
        "Sixteen,1234567890123456,,D\n"
        "Plus,+919876543210,,E\n"
        "Dashes,98765-43210,,F\n"
        "Space, 9876543212,,G\n"
        "Empty,,,H\n"
        "Short row,9876543213\n"
        '"Quoted, name",12345,,"multi\nline"\n'
    )
    task_id = upload(sim_upload, rows)
    task = done(sim, task_id)
    assert (task["rows"], task["inserted"], task["rejected"]) == (10, 2, 8)
    assert set(by_phone(sim, 17)) == {"9876543210", "123456789012345"}
    response = requests.get(f"{sim.upload_url()}/{task_id}/error-file", auth=AUTH, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert task_id in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))
    assert table[0] == ["customer_name", "mobile", "email", "city", "error_reason"]
    assert table[1:] == [
        ["Nine", "987654321", "", "B", "PREPROCESSING_INVALID_LENGTH"],
        ["Sixteen", "1234567890123456", "", "D", "PREPROCESSING_INVALID_LENGTH"],
        ["Plus", "+919876543210", "", "E", "PREPROCESSING_INVALID_CHARACTERS"],
        ["Dashes", "98765-43210", "", "F", "PREPROCESSING_INVALID_CHARACTERS"],
        ["Space", " 9876543212", "", "G", "PREPROCESSING_INVALID_CHARACTERS"],
        ["Empty", "", "", "H", "PREPROCESSING_EMPTY_NUMBER"],
        ["Short row", "9876543213", "", "", "INVALID_COLUMN_COUNT"],
        ["Quoted, name", "12345", "", "multi\nline", "PREPROCESSING_INVALID_LENGTH"],
    ]


def test_error_file_of_a_clean_upload_is_just_the_header(sim, sim_upload):
    task_id = upload(sim_upload, "Asha,9876543210,,Pune\n")
    done(sim, task_id)
    response = requests.get(f"{sim.upload_url()}/{task_id}/error-file", auth=AUTH, timeout=5)
    assert response.text == "customer_name,mobile,email,city,error_reason\r\n"


def test_task_states_and_failure_in_the_store():
    """QUEUED until the worker takes it; COMPLETED with counts; FAILED when the CSV breaks."""
    store = Store(None)
    store.seed()
    try:
        common = {
            "cc_list_id": 1,
            "process_id": 13,
            "lead_id": 17,
            "user_id": "john",
            "auth_user": "demo",
            "update_duplicate": False,
            "churn_updated_records": False,
            "migrate": False,
            "header_mapping": '{"phone1": "phone1"}',
            "filename": "x.csv",
        }
        good = store.create_task(csv_text="phone1\n9876543210\n", **common)
        assert store.task(good)["status"] == "QUEUED"
        assert store.unfinished_task_ids() == [good]
        run_task(store, good)
        assert store.task(good)["status"] == "COMPLETED"
        assert store.task(good)["inserted"] == 1
        run_task(store, good)  # a finished task is not run again
        assert store.task(good)["inserted"] == 1
        assert len(store.contacts(17)) == 1

        too_big = "x" * (csv.field_size_limit() + 1)
        bad = store.create_task(csv_text=f'phone1\n9876543211\n"{too_big}"\n9876543212\n', **common)
        run_task(store, bad)
        failed = store.task(bad)
        assert failed["status"] == "FAILED"
        assert "field larger than field limit" in failed["error"]
        # nothing of a failed task is applied
        assert [c["phone1"] for c in store.contacts(17)] == ["9876543210"]
        assert store.unfinished_task_ids() == []
    finally:
        store.close()


def test_twenty_concurrent_uploads(sim, sim_upload):
    """20 threads at once: 20 distinct task ids, every contact stored exactly once."""
    results: list[requests.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def one(n: int) -> None:
        # 10 own numbers each, plus 5 numbers every thread sends
        own = "".join(f"T{n},9{n:02d}00000{i:02d},,C\n" for i in range(10))
        shared = "".join(f"S,988800000{i},,C\n" for i in range(5))
        start.wait()
        response = sim_upload(HEADER + own + shared, mapping=MAPPING)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200] * 20
    ids = [r.json()["response"][0]["data"]["task_id"] for r in results]
    assert len(set(ids)) == 20
    tasks = [done(sim, str(i)) for i in ids]
    assert sum(t["inserted"] for t in tasks) == 20 * 10 + 5
    assert sum(t["duplicates"] for t in tasks) == 19 * 5
    phones = [c["phone1"] for c in sim.contacts(17)]
    assert len(phones) == len(set(phones)) == 205
    assert len(sim.upload_requests()) == 20


def test_tasks_left_unfinished_run_when_a_kept_database_reopens(tmp_path):
    db = str(tmp_path / "kept.db")
    store = Store(db)
    store.seed()
    task_id = queue_task(store)
    store.close()  # as if the simulator stopped before its worker got to the task
    with SimulatorServer(db_path=db) as server:
        assert server.wait_for_task(task_id)["status"] == "COMPLETED"
        assert [c["phone1"] for c in server.contacts(17)] == ["9876543210"]
