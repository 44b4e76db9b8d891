"""Billing accounts over HTTP: contact details kept private, every access recorded."""

from __future__ import annotations

import json
import uuid

import pytest

from eventbus.topics import INVOICING
from tests.integration.harness import StaffClient, eventually, read_topic
from tests.integration.invoicing_api import draft, issue, new_key, recorded_events, send

PROBLEM = "application/problem+json"

# Distinctive values, so that finding one anywhere it should not be is unambiguous.
PHI = {
    "guarantor": "Quillon Marchetti-Vale",
    "email": "quillon.vale@mailbox.example",
    "phone": "+15550184422",
    "guarantor_dob": "1979-04-23",
    "patient": "Oriel Marchetti-Vale",
    "patient_dob": "2017-09-30",
    "mrn": "MRN-ZX81-4417",
}


def account_body(**guarantor_changes) -> dict:
    guarantor = {
        "name": PHI["guarantor"],
        "email": PHI["email"],
        "phone": PHI["phone"],
        "date_of_birth": PHI["guarantor_dob"],
        "contact_preference": "both",
    }
    guarantor.update(guarantor_changes)
    return {
        "guarantor": guarantor,
        "patients": [
            {"name": PHI["patient"], "date_of_birth": PHI["patient_dob"], "external_id": PHI["mrn"]}
        ],
    }


def unique_mrn(body: dict) -> dict:
    body["patients"][0]["external_id"] = f"MRN-{uuid.uuid4().hex[:10]}"
    return body


def open_(suite, staff, body=None, headers=None) -> dict:
    response = staff.post(
        f"{suite.invoicing_api.url}/v1/accounts",
        json=body or unique_mrn(account_body()),
        headers=headers or {},
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def service(codec, clinic_id) -> StaffClient:
    return StaffClient(codec, clinic_id, ["service"])


def test_an_account_is_opened_read_changed_and_gains_a_patient(suite, staff):
    account = open_(suite, staff)
    url = f"{suite.invoicing_api.url}/v1/accounts/{account['id']}"
    assert staff.get(url).json() == account

    changed = send("PATCH", staff, url, json={"email": None, "contact_preference": "sms"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["guarantor"]["email"] is None
    assert changed.json()["guarantor"]["contact_preference"] == "sms"

    added = staff.post(
        f"{url}/patients", json={"name": "Second Child", "date_of_birth": "2020-02-29"}
    )
    assert added.status_code == 201, added.text
    assert [p["name"] for p in added.json()["patients"]] == [PHI["patient"], "Second Child"]
    assert staff.get(url).json()["patients"] == added.json()["patients"]


BAD_ACCOUNTS = {
    "no patients": {**account_body(), "patients": []},
    "sms without phone": account_body(phone=None, contact_preference="sms"),
    "email malformed": account_body(email="quillon at example"),
    "phone not E.164": account_body(phone="555-0184"),
    "born in the future": account_body(date_of_birth="2999-01-01"),
    "unknown preference": account_body(contact_preference="pigeon"),
    "unknown field": {**account_body(), "notes": "x"},
}


@pytest.mark.parametrize("body", BAD_ACCOUNTS.values(), ids=BAD_ACCOUNTS.keys())
async def test_an_account_that_breaks_a_rule_is_422_records_nothing_and_echoes_nothing(
    suite, staff, db, body
):
    before = await recorded_events(db)
    response = staff.post(f"{suite.invoicing_api.url}/v1/accounts", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].rsplit("/", 1)[1] in ("invalid-request", "invalid-account")
    assert not any(value in response.text for value in PHI.values())
    assert await recorded_events(db) == before


async def test_a_contact_change_that_leaves_no_way_to_reach_the_guarantor_is_refused(
    suite, staff, db
):
    account = open_(suite, staff)
    before = await recorded_events(db)
    url = f"{suite.invoicing_api.url}/v1/accounts/{account['id']}"
    response = send("PATCH", staff, url, json={"email": None})  # preference is "both"
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-account")
    assert await recorded_events(db) == before
    assert send("PATCH", staff, url, json={}).status_code == 422


def test_an_external_id_belongs_to_one_patient_of_the_clinic(suite, staff, other_clinic_staff):
    body = unique_mrn(account_body())
    open_(suite, staff, body)
    again = staff.post(f"{suite.invoicing_api.url}/v1/accounts", json=body)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/external-id-in-use")
    open_(suite, other_clinic_staff, body)  # another clinic's patient may share it


async def test_a_service_reads_contact_details_and_the_access_log_says_who_and_why(
    suite, staff, service, db
):
    account = open_(suite, staff)
    response = service.get(
        f"{suite.invoicing_api.url}/v1/accounts/{account['id']}",
        headers={"X-Access-Purpose": "payment reminder"},
    )
    assert response.status_code == 200
    assert response.json()["guarantor"]["phone"] == PHI["phone"]
    row = await db.fetchrow(
        """SELECT actor_roles, action, outcome, purpose FROM invoicing.access_log
           WHERE record_type = 'billing_account' AND record_id = $1 AND action = 'read'""",
        account["id"],
    )
    assert (row["actor_roles"], row["outcome"], row["purpose"]) == (
        ["service"],
        "allowed",
        "payment reminder",
    )


async def test_another_clinic_reading_an_account_gets_404_and_the_attempt_is_recorded(
    suite, staff, other_clinic_staff, db
):
    account = open_(suite, staff)
    theirs = other_clinic_staff.get(f"{suite.invoicing_api.url}/v1/accounts/{account['id']}")
    assert theirs.status_code == 404
    assert theirs.json()["type"].endswith("/account-not-found")
    assert not any(value in theirs.text for value in PHI.values())
    outcome = await db.fetchval(
        """SELECT outcome FROM invoicing.access_log
           WHERE record_type = 'billing_account' AND record_id = $1 AND clinic_id = $2""",
        account["id"],
        other_clinic_staff.clinic_id,
    )
    assert outcome == "not_found"


def test_finance_staff_do_not_read_contact_details(suite, staff, codec, clinic_id):
    account = open_(suite, staff)
    finance = StaffClient(codec, clinic_id, ["finance"])
    assert finance.get(f"{suite.invoicing_api.url}/v1/accounts/{account['id']}").status_code == 403


@pytest.mark.parametrize(
    "claim,matches",
    [
        ({"date_of_birth": PHI["guarantor_dob"]}, True),
        ({"date_of_birth": PHI["patient_dob"]}, True),
        ({"date_of_birth": "1979-04-24"}, False),
    ],
)
def test_the_identity_check_answers_match_or_no_match_and_nothing_more(
    suite, staff, service, claim, matches
):
    account = open_(suite, staff)
    response = service.post(
        f"{suite.invoicing_api.url}/v1/accounts/{account['id']}/identity-checks", json=claim
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"match": matches}


def test_the_identity_check_can_be_asked_about_one_patient(suite, staff, service):
    account = open_(suite, staff)
    url = f"{suite.invoicing_api.url}/v1/accounts/{account['id']}/identity-checks"
    patient_id = account["patients"][0]["id"]
    guarantor_dob = {"date_of_birth": PHI["guarantor_dob"], "patient_id": patient_id}
    patient_dob = {"date_of_birth": PHI["patient_dob"], "patient_id": patient_id}
    assert service.post(url, json=guarantor_dob).json() == {"match": False}
    assert service.post(url, json=patient_dob).json() == {"match": True}


def test_only_services_run_identity_checks_and_only_for_their_clinic(
    suite, staff, codec, clinic_id
):
    account = open_(suite, staff)
    path = f"/v1/accounts/{account['id']}/identity-checks"
    claim = {"date_of_birth": PHI["guarantor_dob"]}
    assert staff.post(suite.invoicing_api.url + path, json=claim).status_code == 403
    elsewhere = StaffClient(codec, uuid.uuid4(), ["service"])
    assert elsewhere.post(suite.invoicing_api.url + path, json=claim).status_code == 404


async def test_no_plaintext_phi_is_stored_in_any_invoicing_table(suite, staff, db):
    body = account_body()  # the one account in this session with PHI["mrn"]
    account = open_(suite, staff, body, headers=new_key())
    invoice = issue(suite, staff, draft(suite, staff, _as_account(account))["id"])
    assert invoice["status"] == "issued"
    tables = await db.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'invoicing'"
    )
    assert {"invoicing_events", "idempotency_keys", "access_log", "invoice_list"} <= {
        t["table_name"] for t in tables
    }
    for table in tables:
        for row in await db.fetch(f'SELECT * FROM invoicing."{table["table_name"]}"'):
            stored = b"".join(_as_bytes(value) for value in row.values())
            for name, value in PHI.items():
                assert value.encode() not in stored, f"{name} in invoicing.{table['table_name']}"


async def test_phi_never_reaches_kafka_or_the_logs(suite, staff):
    account = open_(suite, staff, unique_mrn(account_body()))
    invoice = issue(suite, staff, draft(suite, staff, _as_account(account))["id"])
    staff.get(f"{suite.invoicing_api.url}/v1/accounts/{account['id']}")

    async def published():
        records = await read_topic(suite.infra.bootstrap_servers, INVOICING)
        return [r for r in records if json.loads(r.value)["subject"] == invoice["id"]]

    [record] = await eventually(published, timeout=20)
    logs = "\n".join(
        line
        for process in ("invoicing_api", "invoicing_relay", "invoicing_worker")
        for line in getattr(suite, process).log_lines()
    )
    for name, value in PHI.items():
        if name != "mrn":  # unique per test; checked by the stored-rows test
            assert value.encode() not in record.value, f"{name} on Kafka"
            assert value not in logs, f"{name} in a log"


def _as_account(account: dict):
    from tests.integration.test_walking_skeleton import Account

    return Account(uuid.UUID(account["id"]), uuid.UUID(account["patients"][0]["id"]))


def _as_bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()
