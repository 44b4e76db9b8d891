"""Invoices learn what was paid from the payments topic: once each, in any order, nothing lost.

Until the payments service publishes for real, these tests publish its contract events
themselves, exactly as its relay will (one envelope per event, keyed by account).
"""

from __future__ import annotations

import json
import uuid

from eventbus.topics import PAYMENTS, dead_letter
from tests.integration.harness import eventually, read_topic
from tests.integration.invoicing_api import (
    draft,
    get_invoice,
    issue,
    issued_invoice,
    new_key,
    open_account,
    payment_captured,
    payment_refunded,
    publish,
)


async def settles_to(suite, staff, invoice_id: str, **expected) -> dict:
    async def current():
        invoice = get_invoice(suite, staff, invoice_id)
        return invoice if all(invoice[k] == v for k, v in expected.items()) else None

    return await eventually(current, timeout=20)


async def test_payments_move_the_invoice_to_partially_paid_then_paid(suite, staff):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    bootstrap = suite.infra.bootstrap_servers
    await publish(bootstrap, payment_captured(staff.clinic_id, invoice, 4_000))
    await settles_to(suite, staff, invoice["id"], status="partially_paid", amount_due=6_000)
    await publish(bootstrap, payment_captured(staff.clinic_id, invoice, 6_000))
    paid = await settles_to(suite, staff, invoice["id"], status="paid")
    assert (paid["amount_paid"], paid["amount_due"]) == (10_000, 0)


async def test_a_redelivered_payment_is_counted_once(suite, staff):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    captured = payment_captured(staff.clinic_id, invoice, 3_000)
    await publish(suite.infra.bootstrap_servers, captured, captured, captured)
    marker = payment_captured(staff.clinic_id, invoice, 1)  # consumed after the repeats
    await publish(suite.infra.bootstrap_servers, marker)
    settled = await settles_to(suite, staff, invoice["id"], amount_paid=3_001)
    assert settled["amount_due"] == 6_999


async def test_a_refund_that_arrives_before_its_capture_ends_in_the_same_state(suite, staff):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    payment_id = uuid.uuid4()
    refund = payment_refunded(staff.clinic_id, invoice, 2_500, payment_id)
    capture = payment_captured(staff.clinic_id, invoice, 10_000, payment_id=payment_id)
    await publish(suite.infra.bootstrap_servers, refund, capture)
    settled = await settles_to(suite, staff, invoice["id"], amount_paid=7_500)
    assert (settled["status"], settled["amount_due"]) == ("partially_paid", 2_500)


async def test_a_payment_received_before_the_invoice_is_issued_counts_when_it_is(suite, staff):
    created = draft(suite, staff, open_account(suite, staff), (1, 10_000))
    await publish(suite.infra.bootstrap_servers, payment_captured(staff.clinic_id, created, 10_000))
    early = await settles_to(suite, staff, created["id"], amount_paid=10_000)
    assert early["status"] == "draft"
    assert issue(suite, staff, created["id"])["status"] == "paid"


async def test_an_invoice_with_a_payment_is_voided_only_after_a_refund(suite, staff):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    payment_id = uuid.uuid4()
    capture = payment_captured(staff.clinic_id, invoice, 10_000, payment_id=payment_id)
    await publish(suite.infra.bootstrap_servers, capture)
    await settles_to(suite, staff, invoice["id"], status="paid")
    void_url = f"{suite.invoicing_api.url}/v1/invoices/{invoice['id']}/void"
    refused = staff.post(void_url, headers=new_key())
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/invoice-has-payments")
    refund = payment_refunded(staff.clinic_id, invoice, 10_000, payment_id)
    await publish(suite.infra.bootstrap_servers, refund)
    await settles_to(suite, staff, invoice["id"], status="issued", amount_paid=0)
    assert staff.post(void_url, headers=new_key()).json()["status"] == "void"


async def test_an_allocation_to_an_unknown_invoice_is_dead_lettered_and_the_rest_applied(
    suite, staff, other_clinic_staff
):
    mine = issued_invoice(suite, staff, None, (1, 10_000))
    theirs = issued_invoice(suite, other_clinic_staff, None, (1, 10_000))
    event = payment_captured(staff.clinic_id, mine, 3_000)
    event.data["allocations"].append({"invoice_id": theirs["id"], "amount": 2_000})
    event.data["amount"] = 5_000
    await publish(suite.infra.bootstrap_servers, event)
    await settles_to(suite, staff, mine["id"], amount_paid=3_000)

    async def dead_lettered():
        records = await read_topic(suite.infra.bootstrap_servers, dead_letter(PAYMENTS))
        return [r for r in records if json.loads(r.value)["id"] == str(event.id)]

    [record] = await eventually(dead_lettered, timeout=20)
    reason = dict(record.headers)["dlq_reason"].decode()
    assert f"unknown-invoice {theirs['id']}" in reason
    assert get_invoice(suite, other_clinic_staff, theirs["id"])["amount_paid"] == 0


async def test_a_message_that_is_not_an_event_is_dead_lettered_and_consumption_goes_on(
    suite, staff
):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    await publish(suite.infra.bootstrap_servers, raw=b'{"not": "an envelope"}')
    await publish(suite.infra.bootstrap_servers, payment_captured(staff.clinic_id, invoice, 100))
    await settles_to(suite, staff, invoice["id"], amount_paid=100)

    async def dead_lettered():
        records = await read_topic(suite.infra.bootstrap_servers, dead_letter(PAYMENTS))
        return [r for r in records if r.value == b'{"not": "an envelope"}']

    assert await eventually(dead_lettered, timeout=20)


async def test_a_restarted_worker_loses_nothing_and_doubles_nothing(suite, staff):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    bootstrap = suite.infra.bootstrap_servers
    await publish(bootstrap, payment_captured(staff.clinic_id, invoice, 1_000))
    await settles_to(suite, staff, invoice["id"], amount_paid=1_000)

    suite.invoicing_worker.stop()
    await publish(
        bootstrap,
        payment_captured(staff.clinic_id, invoice, 2_000),
        payment_captured(staff.clinic_id, invoice, 3_000),
    )
    suite.invoicing_worker.start()
    await settles_to(suite, staff, invoice["id"], amount_paid=6_000)

    suite.invoicing_worker.kill()  # no goodbye: positions must already be in the database
    suite.invoicing_worker.start()
    await publish(bootstrap, payment_captured(staff.clinic_id, invoice, 4_000))
    settled = await settles_to(suite, staff, invoice["id"], amount_paid=10_000)
    assert settled["status"] == "paid"
