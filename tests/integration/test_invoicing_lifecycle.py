"""An invoice's life over HTTP, and the contract events it publishes on the way."""

from __future__ import annotations

import json
import uuid

import pytest

from eventbus.topics import INVOICING
from tests.integration.harness import eventually, read_topic
from tests.integration.invoicing_api import (
    draft,
    get_invoice,
    issue,
    issued_invoice,
    new_key,
    open_account,
    recorded_events,
    send,
)


async def published_for(suite, invoice_id: str, count: int) -> list[dict]:
    async def events():
        records = await read_topic(suite.infra.bootstrap_servers, INVOICING)
        found = [
            json.loads(r.value) for r in records if json.loads(r.value)["subject"] == invoice_id
        ]
        return found if len(found) >= count else None

    return await eventually(events, timeout=20)


def post(suite, staff, invoice_id: str, action: str, body=None, key=True):
    return staff.post(
        f"{suite.invoicing_api.url}/v1/invoices/{invoice_id}/{action}",
        json=body,
        headers=new_key() if key else {},
    )


async def test_a_draft_is_revised_issued_adjusted_and_written_off(suite, staff):
    account = open_account(suite, staff)
    created = draft(suite, staff, account, (1, 5_000))
    url = f"{suite.invoicing_api.url}/v1/invoices/{created['id']}"
    lines = [
        {
            "description": "Speech therapy, 45 min",
            "service_date": "2026-11-20",
            "code": "92507",
            "provider": "Dr. Lee",
            "quantity": 2,
            "unit_amount": 7_500,
        }
    ]
    revised = send("PATCH", staff, url, json={"lines": lines})
    assert revised.status_code == 200, revised.text
    assert revised.json()["total_amount"] == 15_000

    issued = issue(suite, staff, created["id"])
    assert (issued["status"], issued["amount_due"]) == ("issued", 15_000)
    assert issued["number"].startswith("INV-")

    adjusted = post(suite, staff, created["id"], "adjust", {"amount": 2_500, "reason": "courtesy"})
    assert adjusted.status_code == 200, adjusted.text
    assert (adjusted.json()["amount_due"], adjusted.json()["amount_adjusted"]) == (12_500, 2_500)
    assert adjusted.json()["adjustments"][0]["reason"] == "courtesy"

    written_off = post(suite, staff, created["id"], "write-off", {"reason": "uncollectable"})
    assert written_off.status_code == 200, written_off.text
    assert (written_off.json()["status"], written_off.json()["amount_written_off"]) == (
        "written_off",
        12_500,
    )

    events = await published_for(suite, created["id"], 3)
    assert [e["type"].split(".")[2] for e in events] == [
        "InvoiceIssued",
        "InvoiceAdjusted",
        "InvoiceWrittenOff",
    ]
    issued_event, adjusted_event, written_off_event = events
    assert issued_event["data"]["invoice_number"] == issued["number"]
    assert issued_event["data"]["lines"][0]["code"] == "92507"
    assert adjusted_event["data"]["amount"] == 2_500
    assert adjusted_event["data"]["amount_due"] == 12_500
    assert written_off_event["data"]["amount"] == 12_500
    assert "Speech" not in json.dumps(events) and "courtesy" not in json.dumps(events)


async def test_voiding_an_unpaid_invoice_publishes_what_remained(suite, staff):
    invoice = issued_invoice(suite, staff, None, (1, 8_000))
    voided = post(suite, staff, invoice["id"], "void")
    assert voided.status_code == 200, voided.text
    assert (voided.json()["status"], voided.json()["amount_due"]) == ("void", 0)
    issued_event, voided_event = await published_for(suite, invoice["id"], 2)
    assert voided_event["type"] == "clinicpay.invoicing.InvoiceVoided.v1"
    assert voided_event["data"]["voided_amount"] == 8_000


async def test_a_discarded_draft_is_void_and_publishes_nothing(suite, staff, db):
    created = draft(suite, staff, open_account(suite, staff))
    assert post(suite, staff, created["id"], "void").json()["status"] == "void"
    marker = issued_invoice(suite, staff)  # published after the void, on the same topic
    await published_for(suite, marker["id"], 1)
    records = await read_topic(suite.infra.bootstrap_servers, INVOICING)
    assert not [r for r in records if json.loads(r.value)["subject"] == created["id"]]


@pytest.mark.parametrize(
    "prepare,action,body,status,problem",
    [
        ("issued", "PATCH", {"due_date": "2030-01-01"}, 409, "invoice-not-draft"),
        ("issued", "issue", None, 409, "invoice-not-draft"),
        (
            "issued",
            "adjust",
            {"amount": 10_001, "reason": "x"},
            422,
            "adjustment-exceeds-amount-due",
        ),
        ("issued", "adjust", {"amount": 0, "reason": "x"}, 422, "invalid-request"),
        ("issued", "write-off", {}, 422, "invalid-request"),
        ("draft", "adjust", {"amount": 1, "reason": "x"}, 409, "invoice-not-open"),
        ("draft", "write-off", {"reason": "x"}, 409, "invoice-not-open"),
        ("void", "void", None, 409, "invoice-not-open"),
        ("void", "write-off", {"reason": "x"}, 409, "invoice-not-open"),
        ("draft", "PATCH", {"lines": []}, 422, "invalid-request"),
        ("draft", "PATCH", {}, 422, "invalid-request"),
    ],
)
async def test_a_refused_change_is_a_problem_with_its_type_and_records_nothing(
    suite, staff, db, prepare, action, body, status, problem
):
    invoice = draft(suite, staff, open_account(suite, staff), (1, 10_000))
    if prepare != "draft":
        issue(suite, staff, invoice["id"])
    if prepare == "void":
        post(suite, staff, invoice["id"], "void")
    before = await recorded_events(db)
    if action == "PATCH":
        url = f"{suite.invoicing_api.url}/v1/invoices/{invoice['id']}"
        response = send("PATCH", staff, url, json=body)
    else:
        response = post(suite, staff, invoice["id"], action, body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"https://clinicpay.dev/problems/{problem}"
    assert await recorded_events(db) == before


async def test_an_adjustment_without_an_idempotency_key_is_refused(suite, staff, db):
    invoice = issued_invoice(suite, staff)
    before = await recorded_events(db)
    response = post(
        suite, staff, invoice["id"], "adjust", {"amount": 100, "reason": "x"}, key=False
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("/idempotency-key-missing")
    assert await recorded_events(db) == before


async def test_an_invoice_must_name_an_account_and_one_of_its_patients(suite, staff, db):
    account = open_account(suite, staff)
    other = open_account(suite, staff)
    before = await recorded_events(db)
    for account_id, patient_id, problem in (
        (uuid.uuid4(), account.patient_id, "unknown-account"),
        (account.id, other.patient_id, "unknown-patient"),
    ):
        body = {
            "account_id": str(account_id),
            "patient_id": str(patient_id),
            "lines": [
                {"description": "x", "service_date": "2026-11-20", "quantity": 1, "unit_amount": 1}
            ],
        }
        response = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=body)
        assert response.status_code == 422
        assert response.json()["type"].endswith(problem)
    assert await recorded_events(db) == before


def test_a_finance_user_reads_invoices_but_cannot_change_them(suite, staff, codec, clinic_id):
    from tests.integration.harness import StaffClient

    invoice = issued_invoice(suite, staff)
    finance = StaffClient(codec, clinic_id, ["finance"])
    assert get_invoice(suite, finance, invoice["id"])["id"] == invoice["id"]
    assert post(suite, finance, invoice["id"], "void").status_code == 403
