"""`GET /v1/invoices`: newest first, filtered, paged, and never behind what was recorded."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests.integration.harness import CLINICPAY, StaffClient
from tests.integration.invoicing_api import (
    draft,
    issue,
    issued_invoice,
    new_key,
    open_account,
    recorded_events,
)


def list_(suite, staff, **params) -> dict:
    response = staff.get(f"{suite.invoicing_api.url}/v1/invoices", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def clinic_staff(codec) -> StaffClient:
    """A clinic of its own, so that its list holds only what the test made."""
    return StaffClient(codec, uuid.uuid4(), ["billing", "admin"])


def test_a_new_invoice_is_listed_at_once_newest_first(suite, clinic_staff):
    account = open_account(suite, clinic_staff)
    ids = [draft(suite, clinic_staff, account)["id"] for _ in range(3)]
    listed = list_(suite, clinic_staff)
    assert listed["object"] == "list"
    assert [i["id"] for i in listed["data"]] == ids[::-1]
    assert listed["has_more"] is False
    issued = issue(suite, clinic_staff, ids[0])
    [summary] = [i for i in list_(suite, clinic_staff)["data"] if i["id"] == ids[0]]
    assert (summary["status"], summary["number"]) == ("issued", issued["number"])


def test_pages_follow_each_other_without_gaps_or_repeats(suite, clinic_staff):
    account = open_account(suite, clinic_staff)
    ids = [draft(suite, clinic_staff, account)["id"] for _ in range(5)][::-1]
    first = list_(suite, clinic_staff, limit=2)
    second = list_(suite, clinic_staff, limit=2, starting_after=first["data"][-1]["id"])
    third = list_(suite, clinic_staff, limit=2, starting_after=second["data"][-1]["id"])
    pages = [first, second, third]
    assert [i["id"] for page in pages for i in page["data"]] == ids
    assert [page["has_more"] for page in pages] == [True, True, False]


def test_filters_narrow_by_account_patient_and_status(suite, clinic_staff):
    mine, other = open_account(suite, clinic_staff), open_account(suite, clinic_staff)
    drafted = draft(suite, clinic_staff, mine)["id"]
    issued = issued_invoice(suite, clinic_staff, mine)["id"]
    elsewhere = draft(suite, clinic_staff, other)["id"]

    def ids(**params):
        return {i["id"] for i in list_(suite, clinic_staff, **params)["data"]}

    assert ids(account_id=mine.id) == {drafted, issued}
    assert ids(patient_id=other.patient_id) == {elsewhere}
    assert ids(status="issued") == {issued}
    assert ids(account_id=mine.id, status="draft") == {drafted}


def test_another_clinics_invoices_are_never_listed(suite, clinic_staff, other_clinic_staff):
    draft(suite, other_clinic_staff, open_account(suite, other_clinic_staff))
    mine = draft(suite, clinic_staff, open_account(suite, clinic_staff))["id"]
    assert [i["id"] for i in list_(suite, clinic_staff)["data"]] == [mine]


@pytest.mark.parametrize(
    "params,problem",
    [
        ({"limit": 0}, "invalid-request"),
        ({"limit": 101}, "invalid-request"),
        ({"status": "unpaid"}, "invalid-request"),
        ({"account_id": "42"}, "invalid-request"),
        ({"starting_after": str(uuid.uuid4())}, "unknown-cursor"),
    ],
)
def test_bad_list_parameters_are_422(suite, clinic_staff, params, problem):
    response = clinic_staff.get(f"{suite.invoicing_api.url}/v1/invoices", params=params)
    assert response.status_code == 422
    assert response.json()["type"].endswith(problem)


async def test_each_listed_invoice_is_recorded_as_read(suite, clinic_staff, db):
    created = draft(suite, clinic_staff, open_account(suite, clinic_staff))["id"]
    list_(suite, clinic_staff)
    reads = await db.fetchval(
        """SELECT count(*) FROM invoicing.access_log
           WHERE record_type = 'invoice' AND record_id = $1 AND action = 'read'
             AND path = '/v1/invoices'""",
        created,
    )
    assert reads == 1


async def test_the_list_is_rebuilt_from_the_events_exactly_as_it_was(suite, staff, db):
    account = open_account(suite, staff)
    issued_invoice(suite, staff, account)
    voided = issued_invoice(suite, staff, account)
    staff.post(f"{suite.invoicing_api.url}/v1/invoices/{voided['id']}/void", headers=new_key())
    list_(suite, staff)  # caught up
    before = await db.fetch("SELECT * FROM invoicing.invoice_list ORDER BY invoice_id")
    events_before = await recorded_events(db)

    rebuild = subprocess.run(
        [CLINICPAY, "invoicing", "rebuild-invoice-list"],
        env=suite.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rebuild.returncode == 0, rebuild.stderr
    list_(suite, staff)  # waits until the list has caught up again

    after = await db.fetch("SELECT * FROM invoicing.invoice_list ORDER BY invoice_id")
    assert [dict(r) for r in after] == [dict(r) for r in before]
    assert await recorded_events(db) == events_before
