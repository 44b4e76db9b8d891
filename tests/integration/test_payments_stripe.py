"""Payments through the real `stripe` SDK against localstripe: cards, charges, declines, refunds,
and the faults that must not lose or double a cent (a 5xx or timeout after Stripe charged, a
crash between Stripe's answer and our commit)."""

from __future__ import annotations

import contextlib
import uuid

import httpx

from tests.integration import stripe_support
from tests.integration.harness import eventually
from tests.integration.payments_support import (
    keyed,
    new_account,
    open_invoice,
    post,
    published,
    published_eventually,
)
from tests.integration.stripe_support import SCHEMA

stripe_payments = stripe_support.stripe_payments  # the session's Stripe-configured deployment

VISA = "4242424242424242"


def save(deployment, staff, account, number=VISA):
    return post(
        staff,
        f"{deployment.url}/v1/payment-methods",
        {"account_id": str(account), "token": deployment.tokenize(number)},
    )


def payment_body(account, card, amount):
    return {
        "account_id": str(account),
        "amount": amount,
        "currency": "USD",
        "payment_method_id": card["id"],
    }


def get_payment(deployment, staff, payment_id):
    return staff.get(f"{deployment.url}/v1/payments/{payment_id}").json()


async def test_a_card_tokenised_at_stripe_is_saved_and_charged_through_the_sdk(
    suite, stripe_payments, staff, db
):
    account = new_account(suite, staff)
    invoice = await open_invoice(suite, staff, db, account, 5_000, schema=SCHEMA)
    saved = save(stripe_payments, staff, account)
    assert saved.status_code == 201, saved.text
    card = saved.json()
    assert (card["gateway"], card["brand"], card["last4"]) == ("stripe", "visa", "4242")

    response = post(staff, f"{stripe_payments.url}/v1/payments", payment_body(account, card, 5_000))

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["allocations"] == [{"invoice_id": invoice, "amount": 5_000}]
    [intent] = stripe_payments.intents_for(payment["id"])
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 5_000, "usd")
    await published_eventually(suite.infra.bootstrap_servers, payment["id"], "PaymentCaptured")


async def test_a_card_stripe_declines_when_attaching_is_not_saved(stripe_payments, staff):
    response = save(stripe_payments, staff, uuid.uuid4(), "4000000000000002")
    assert response.status_code == 402
    assert response.json()["decline_code"] == "card_declined"


async def test_a_card_that_attaches_but_fails_when_charged_records_the_decline(
    suite, stripe_payments, staff
):
    account = uuid.uuid4()
    card = save(stripe_payments, staff, account, "4000000000000341").json()
    response = post(staff, f"{stripe_payments.url}/v1/payments", payment_body(account, card, 800))
    assert response.status_code == 402, response.text
    payment = response.json()["payment"]
    assert payment["status"] == "failed"
    assert payment["decline_code"] == "card_declined"
    event = await published_eventually(
        suite.infra.bootstrap_servers, payment["id"], "PaymentFailed"
    )
    assert event["data"]["decline_code"] == "card_declined"


async def test_refunds_through_stripe_stop_at_the_captured_amount(stripe_payments, staff):
    account = uuid.uuid4()
    card = save(stripe_payments, staff, account).json()
    payment = post(
        staff, f"{stripe_payments.url}/v1/payments", payment_body(account, card, 3_000)
    ).json()
    url = f"{stripe_payments.url}/v1/payments/{payment['id']}/refunds"
    first = post(staff, url, {"amount": 1_000, "reason": "requested_by_customer"})
    assert first.status_code == 201, first.text
    too_much = post(staff, url, {"amount": 2_001, "reason": "requested_by_customer"})
    assert too_much.status_code == 409
    [intent] = stripe_payments.intents_for(payment["id"])
    refunds = list(
        stripe_payments.client.v1.refunds.list(
            params={"payment_intent": intent.id}
        ).auto_paging_iter()
    )
    assert [r.amount for r in refunds] == [1_000]
    assert refunds[0].metadata.to_dict()["clinicpay_refund_id"] == first.json()["id"]


async def test_a_5xx_after_stripe_charged_leaves_the_payment_processing_until_the_poll_finds_it(
    suite, stripe_payments, staff
):
    account = uuid.uuid4()
    card = save(stripe_payments, staff, account).json()
    stripe_payments.proxy.inject("POST", "/v1/payment_intents", "502_after")

    response = post(staff, f"{stripe_payments.url}/v1/payments", payment_body(account, card, 4_200))

    assert response.status_code == 202, response.text
    payment = response.json()
    assert payment["status"] == "processing"

    async def captured():
        return get_payment(stripe_payments, staff, payment["id"])["status"] == "captured"

    assert await eventually(captured, timeout=30)
    assert len(stripe_payments.intents_for(payment["id"])) == 1
    await published_eventually(suite.infra.bootstrap_servers, payment["id"], "PaymentCaptured")


async def test_a_timeout_leaves_the_payment_processing_and_the_webhook_resolves_it(
    stripe_payments, staff
):
    account = uuid.uuid4()
    card = save(stripe_payments, staff, account).json()
    with stripe_payments.worker_stopped():
        stripe_payments.proxy.inject("POST", "/v1/payment_intents", "hang_after")
        response = post(
            staff, f"{stripe_payments.url}/v1/payments", payment_body(account, card, 990)
        )
        assert response.status_code == 202, response.text
        payment = response.json()
        [intent] = stripe_payments.intents_for(payment["id"])
        assert get_payment(stripe_payments, staff, payment["id"])["status"] == "processing"

        delivered = send_webhook(
            stripe_payments,
            "payment_intent.succeeded",
            {"id": intent.id, "object": "payment_intent"},
        )

        assert delivered.status_code == 200, delivered.text
        assert get_payment(stripe_payments, staff, payment["id"])["status"] == "captured"


def send_webhook(deployment, event_type, resource, *, signature=None, payload=None):
    from tests.integration.stripe_support import event

    body = payload or event(event_type, resource)
    return httpx.post(
        f"{deployment.url}/v1/webhooks/stripe",
        content=body,
        headers={
            "Stripe-Signature": signature or deployment.sign(body),
            "Content-Type": "application/json",
        },
        timeout=20,
    )


async def test_a_crash_between_stripes_answer_and_our_commit_is_recorded_once_by_the_retry(
    suite, stripe_payments, staff
):
    account = uuid.uuid4()
    card = save(stripe_payments, staff, account).json()
    body = payment_body(account, card, 6_100)
    key = keyed()
    url = f"{stripe_payments.url}/v1/payments"
    with stripe_payments.worker_stopped():
        stripe_payments.proxy.inject(
            "POST", "/v1/payment_intents", "crash_after", callback=stripe_payments.api.kill
        )
        async with httpx.AsyncClient(timeout=30) as client:
            with contextlib.suppress(httpx.HTTPError):  # the API dies mid-request
                await client.post(url, json=body, headers={**staff.headers, **key})
        stripe_payments.api.start()

        async def retried():
            # 409 while the dead request's Idempotency-Key lease has not run out.
            response = httpx.post(url, json=body, headers={**staff.headers, **key}, timeout=30)
            return response if response.status_code != 409 else None

        response = await eventually(retried, timeout=90, interval=1)

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "captured"
    intents = stripe_payments.intents_for(payment["id"])
    assert [i.status for i in intents] == ["succeeded"]
    captured = await published_eventually(
        suite.infra.bootstrap_servers, payment["id"], "PaymentCaptured"
    )
    assert captured["data"]["amount"] == 6_100
    assert (
        len(await published(suite.infra.bootstrap_servers, payment["id"], "PaymentCaptured")) == 1
    )
