"""One invoice from the API to a ledger balance through Kafka, and back again safely."""

from __future__ import annotations

import json
import uuid
from typing import NamedTuple

import pytest
from aiokafka import AIOKafkaProducer

from eventbus.topics import INVOICING
from tests.integration.harness import StaffClient, eventually, read_topic


class Account(NamedTuple):
    id: uuid.UUID
    patient_id: uuid.UUID


ACCOUNT_BODY = {
    "guarantor": {
        "name": "Jordan Example",
        "email": "jordan@example.com",
        "date_of_birth": "1984-03-02",
        "contact_preference": "email",
    },
    "patients": [{"name": "Riley Example", "date_of_birth": "2019-07-14"}],
}


def open_account(suite, staff: StaffClient) -> Account:
    """A billing account with one patient in the staff member's clinic."""
    response = staff.post(f"{suite.invoicing_api.url}/v1/accounts", json=ACCOUNT_BODY)
    assert response.status_code == 201, response.text
    account = response.json()
    return Account(uuid.UUID(account["id"]), uuid.UUID(account["patients"][0]["id"]))


def draft_body(account: Account | uuid.UUID, *line_amounts: tuple[int, int]) -> dict:
    """A draft for the account's patient; with a bare id, only well-formed, not valid."""
    if not isinstance(account, Account):
        account = Account(account, uuid.uuid4())
    return {
        "account_id": str(account.id),
        "patient_id": str(account.patient_id),
        "currency": "USD",
        "due_date": "2030-01-31",
        "lines": [
            {
                "description": "Speech therapy, 45 min",
                "service_date": "2026-11-20",
                "quantity": quantity,
                "unit_amount": unit_amount,
            }
            for quantity, unit_amount in line_amounts
        ],
    }


def issue_invoice(suite, staff: StaffClient, account: Account, *lines, headers=None) -> dict:
    draft = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=draft_body(account, *lines))
    assert draft.status_code == 201, draft.text
    issued = staff.post(
        f"{suite.invoicing_api.url}/v1/invoices/{draft.json()['id']}/issue", headers=headers or {}
    )
    assert issued.status_code == 200, issued.text
    return issued.json()


def balance_of(suite, staff: StaffClient, account_id: uuid.UUID):
    response = staff.get(f"{suite.ledger_api.url}/v1/accounts/{account_id}/balance")
    return response.json()["balance"] if response.status_code == 200 else None


async def test_an_issued_invoice_becomes_the_accounts_ledger_balance(suite, staff):
    account = open_account(suite, staff)
    account_id = account.id
    invoice = issue_invoice(suite, staff, account, (2, 7_500), (1, 1_999))
    assert invoice["status"] == "issued"
    assert invoice["total_amount"] == 16_999

    async def balance():
        return balance_of(suite, staff, account_id)

    assert await eventually(balance, timeout=10) == 16_999

    second = issue_invoice(suite, staff, account, (1, 1))
    assert await eventually(lambda: _equals(balance, 17_000), timeout=10)
    assert second["total_amount"] == 1


async def _equals(check, expected):
    return await check() == expected


async def test_the_published_event_carries_the_requests_correlation_id(suite, staff):
    account = open_account(suite, staff)
    correlation_id = f"req-{uuid.uuid4().hex[:12]}"
    invoice = issue_invoice(
        suite, staff, account, (1, 5_000), headers={"X-Correlation-Id": correlation_id}
    )

    async def published():
        records = await read_topic(suite.infra.bootstrap_servers, INVOICING)
        return [
            json.loads(r.value) for r in records if json.loads(r.value)["subject"] == invoice["id"]
        ]

    [envelope] = await eventually(published)
    assert envelope["type"] == "clinicpay.invoicing.InvoiceIssued.v1"
    assert envelope["correlationid"] == correlation_id
    assert envelope["accountid"] == str(account.id)
    assert envelope["clinicid"] == str(staff.clinic_id)
    assert envelope["data"]["total_amount"] == 5_000
    assert "Speech" not in json.dumps(envelope), "line descriptions stay inside invoicing"


async def test_a_redelivered_event_leaves_the_balance_unchanged(suite, staff, db):
    account = open_account(suite, staff)
    account_id = account.id
    invoice = issue_invoice(suite, staff, account, (3, 2_500))

    async def balance():
        return balance_of(suite, staff, account_id)

    assert await eventually(balance) == 7_500

    [record] = [
        r
        for r in await read_topic(suite.infra.bootstrap_servers, INVOICING)
        if json.loads(r.value)["subject"] == invoice["id"]
    ]
    producer = AIOKafkaProducer(bootstrap_servers=suite.infra.bootstrap_servers, acks="all")
    await producer.start()
    try:
        redelivered = await producer.send_and_wait(INVOICING, key=record.key, value=record.value)
    finally:
        await producer.stop()

    async def consumed_past_redelivery():
        return await db.fetchval(
            """SELECT next_offset > $1 FROM ledger.consumer_offsets
               WHERE topic = $2 AND partition = $3""",
            redelivered.offset,
            INVOICING,
            redelivered.partition,
        )

    assert await eventually(consumed_past_redelivery)
    assert balance_of(suite, staff, account_id) == 7_500
    entries = await db.fetchval(
        "SELECT count(*) FROM ledger.journal_entries WHERE account_id = $1", account_id
    )
    assert entries == 1


async def test_a_restarted_relay_publishes_nothing_twice_and_skips_nothing(suite, staff):
    account = open_account(suite, staff)
    before_restart = [issue_invoice(suite, staff, account, (1, 100 + i)) for i in range(5)]

    async def published_subjects():
        records = await read_topic(suite.infra.bootstrap_servers, INVOICING)
        return [json.loads(r.value)["subject"] for r in records]

    ids_before = {invoice["id"] for invoice in before_restart}
    assert await eventually(lambda: _contains(published_subjects, ids_before))

    suite.invoicing_relay.stop()
    while_stopped = [issue_invoice(suite, staff, account, (1, 200 + i)) for i in range(5)]
    suite.invoicing_relay.start()

    ids_all = ids_before | {invoice["id"] for invoice in while_stopped}
    assert await eventually(lambda: _contains(published_subjects, ids_all))
    subjects = await published_subjects()
    assert {s: subjects.count(s) for s in ids_all} == {s: 1 for s in ids_all}


async def _contains(check, expected: set) -> bool:
    return expected <= set(await check())


@pytest.mark.parametrize("api", ["invoicing_api", "ledger_api"])
def test_every_api_answers_health_and_readiness(suite, api):
    import httpx

    url = getattr(suite, api).url
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok"}
