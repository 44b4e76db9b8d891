"""Refunds: never more than was captured, even when they arrive together."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.integration.payments_support import (
    keyed,
    new_account,
    open_invoice,
    pay,
    post,
    published_eventually,
    save_card,
)


def refund(suite, staff, payment_id, amount, reason="requested_by_customer", key=None):
    return post(
        staff,
        f"{suite.payments_api.url}/v1/payments/{payment_id}/refunds",
        {"amount": amount, "reason": reason},
        key=key,
    )


async def captured_payment(suite, staff, db, invoice_amounts, amount):
    account = new_account(suite, staff)
    invoices = [await open_invoice(suite, staff, db, account, a) for a in invoice_amounts]
    card = save_card(suite.payments_api.url, staff, account)
    response = pay(suite.payments_api.url, staff, account, card["id"], amount)
    assert response.status_code == 201, response.text
    return account, invoices, response.json()


async def test_a_refund_gives_back_credit_first_then_reopens_the_invoice(suite, staff, db):
    account, [invoice], payment = await captured_payment(suite, staff, db, [4_000], 5_000)

    first = refund(suite, staff, payment["id"], 1_500)

    assert first.status_code == 201, first.text
    assert first.json()["status"] == "succeeded"
    assert first.json()["unallocated_amount"] == 1_000
    assert first.json()["allocations"] == [{"invoice_id": invoice, "amount": 500}]
    event = await published_eventually(
        suite.infra.bootstrap_servers, payment["id"], "PaymentRefunded"
    )
    assert event["data"]["amount"] == 1_500
    assert event["data"]["refund_id"] == first.json()["id"]
    assert event["data"]["unallocated_amount"] == 1_000
    assert event["accountid"] == str(account)


async def test_a_refund_above_what_is_left_is_409_and_changes_nothing(suite, staff, db):
    _, _, payment = await captured_payment(suite, staff, db, [3_000], 3_000)
    assert refund(suite, staff, payment["id"], 2_000).status_code == 201
    too_much = refund(suite, staff, payment["id"], 1_001)
    assert too_much.status_code == 409
    assert too_much.json()["type"].endswith("/refund-exceeds-captured")
    after = staff.get(f"{suite.payments_api.url}/v1/payments/{payment['id']}").json()
    assert (after["refunded_amount"], after["refundable_amount"]) == (2_000, 1_000)


async def test_concurrent_refunds_never_exceed_the_captured_amount(suite, staff, db):
    _, _, payment = await captured_payment(suite, staff, db, [10_000], 10_000)
    url = f"{suite.payments_api.url}/v1/payments/{payment['id']}/refunds"
    async with httpx.AsyncClient(timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    url,
                    json={"amount": 3_000, "reason": "duplicate"},
                    headers={**staff.headers, **keyed()},
                )
                for _ in range(10)
            )
        )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [409] * 7, [r.text for r in responses]
    refunded_at_gateway = await db.fetchval(
        """SELECT coalesce(sum(r.amount), 0) FROM sandbox_gateway.refunds r
           JOIN sandbox_gateway.charges c USING (intent_id) WHERE c.reference = $1""",
        payment["id"],
    )
    assert refunded_at_gateway == 9_000
    after = staff.get(f"{suite.payments_api.url}/v1/payments/{payment['id']}").json()
    assert after["refunded_amount"] == 9_000


async def test_a_retried_refund_refunds_once(suite, staff, db):
    _, _, payment = await captured_payment(suite, staff, db, [1_000], 1_000)
    key = f"refund-{uuid.uuid4()}"
    first = refund(suite, staff, payment["id"], 400, key=key)
    again = refund(suite, staff, payment["id"], 400, key=key)
    assert first.json() == again.json()
    after = staff.get(f"{suite.payments_api.url}/v1/payments/{payment['id']}").json()
    assert after["refunded_amount"] == 400


async def test_a_failed_payment_cannot_be_refunded(suite, staff, db):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account, "pm_card_chargeCustomerFail")
    failed = pay(suite.payments_api.url, staff, account, card["id"], 700).json()["payment"]
    response = refund(suite, staff, failed["id"], 100)
    assert response.status_code == 409
    assert response.json()["type"].endswith("/not-refundable")


async def test_only_billing_staff_can_refund(suite, codec, clinic_id, staff, db):
    from tests.integration.harness import StaffClient

    _, _, payment = await captured_payment(suite, staff, db, [1_000], 1_000)
    portal = StaffClient(codec, clinic_id, ["service"])
    finance = StaffClient(codec, clinic_id, ["finance"])
    assert refund(suite, portal, payment["id"], 100).status_code == 403
    assert refund(suite, finance, payment["id"], 100).status_code == 403
