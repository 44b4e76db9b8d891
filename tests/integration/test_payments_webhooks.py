"""Stripe webhooks: verified before they are read, applied once, in whatever order they come."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from tests.integration import stripe_support
from tests.integration.harness import eventually
from tests.integration.payments_support import post, published_eventually
from tests.integration.stripe_support import SCHEMA, event

stripe_payments = stripe_support.stripe_payments  # the session's Stripe-configured deployment


def deliver(deployment, payload: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return httpx.post(
        f"{deployment.url}/v1/webhooks/stripe", content=payload, headers=headers, timeout=20
    )


def signed(deployment, event_type: str, resource: dict):
    payload = event(event_type, resource)
    return deliver(deployment, payload, deployment.sign(payload)), json.loads(payload)["id"]


def card(deployment, staff, account, number="4242424242424242"):
    token = deployment.tokenize(number)
    response = post(
        staff, f"{deployment.url}/v1/payment-methods", {"account_id": str(account), "token": token}
    )
    assert response.status_code == 201, response.text
    return response.json()


def pay(deployment, staff, account, method, amount):
    return post(
        staff,
        f"{deployment.url}/v1/payments",
        {
            "account_id": str(account),
            "amount": amount,
            "currency": "USD",
            "payment_method_id": method["id"],
        },
    )


def shown(deployment, staff, payment_id):
    return staff.get(f"{deployment.url}/v1/payments/{payment_id}").json()


def processing_payment(deployment, staff, amount=2_000):
    """A payment Stripe charged but whose answer we never got; call inside worker_stopped()."""
    account = uuid.uuid4()
    method = card(deployment, staff, account)
    deployment.proxy.inject("POST", "/v1/payment_intents", "502_after")
    payment = pay(deployment, staff, account, method, amount).json()
    assert payment["status"] == "processing"
    [intent] = deployment.intents_for(payment["id"])
    return payment, intent


def charge_of(intent) -> str:
    latest = intent.latest_charge
    return latest if isinstance(latest, str) else latest.id


async def seen_events(db) -> int:
    return await db.fetchval(f"SELECT count(*) FROM {SCHEMA}.webhook_events")


async def test_a_tampered_stale_or_unsigned_webhook_is_refused_and_changes_nothing(
    stripe_payments, staff, db
):
    with stripe_payments.worker_stopped():
        payment, intent = processing_payment(stripe_payments, staff)
        genuine = event("payment_intent.succeeded", {"id": intent.id, "object": "payment_intent"})
        tampered = genuine.replace(b"payment_intent.succeeded", b"payment_intent.payment_failed")
        stale = stripe_payments.sign(genuine, timestamp=int(time.time()) - 301)
        before = await seen_events(db)

        refusals = [
            deliver(stripe_payments, tampered, stripe_payments.sign(genuine)),
            deliver(stripe_payments, genuine, stale),
            deliver(stripe_payments, genuine, None),
            deliver(
                stripe_payments, genuine, stripe_payments.sign(genuine, secret="whsec_not_ours")
            ),
        ]

        assert [r.status_code for r in refusals] == [400, 400, 400, 400]
        assert all(r.json()["type"].endswith("/signature-invalid") for r in refusals)
        assert await seen_events(db) == before
        assert shown(stripe_payments, staff, payment["id"])["status"] == "processing"
        accepted = deliver(stripe_payments, genuine, stripe_payments.sign(genuine))
        assert accepted.status_code == 200
        assert shown(stripe_payments, staff, payment["id"])["status"] == "captured"


async def test_events_in_any_order_end_captured_and_refunded_exactly_once(
    suite, stripe_payments, staff
):
    with stripe_payments.worker_stopped():
        payment, intent = processing_payment(stripe_payments, staff, 5_000)
        refund = stripe_payments.client.v1.refunds.create(
            params={"payment_intent": intent.id, "amount": 1_200}
        )
        charge = {"id": charge_of(intent), "object": "charge", "payment_intent": intent.id}

        first, _ = signed(stripe_payments, "charge.refunded", charge)  # before the success
        late_failure, _ = signed(
            stripe_payments, "payment_intent.payment_failed", {"id": intent.id}
        )
        success, _ = signed(stripe_payments, "payment_intent.succeeded", {"id": intent.id})
        again, _ = signed(stripe_payments, "charge.refunded", charge)  # a new event, same refund

    assert [r.status_code for r in (first, late_failure, success, again)] == [200] * 4
    after = shown(stripe_payments, staff, payment["id"])
    assert after["status"] == "captured"
    assert after["refunded_amount"] == 1_200
    assert [r["reason"] for r in after["refunds"]] == ["gateway_dashboard"]
    refunded = await published_eventually(
        suite.infra.bootstrap_servers, payment["id"], "PaymentRefunded"
    )
    assert refunded["data"]["amount"] == 1_200
    assert refund.id


async def test_the_same_event_delivered_twice_is_applied_once(stripe_payments, staff, db):
    account = uuid.uuid4()
    method = card(stripe_payments, staff, account)
    payment = pay(stripe_payments, staff, account, method, 3_000).json()
    [intent] = stripe_payments.intents_for(payment["id"])
    stripe_payments.client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})
    payload = event("charge.refunded", {"id": charge_of(intent), "payment_intent": intent.id})
    for _ in range(2):
        assert deliver(stripe_payments, payload, stripe_payments.sign(payload)).status_code == 200
    assert shown(stripe_payments, staff, payment["id"])["refunded_amount"] == 500
    event_id = json.loads(payload)["id"]
    assert (
        await db.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.webhook_events WHERE event_id = $1", event_id
        )
        == 1
    )


async def test_a_dispute_is_recorded_and_published(suite, stripe_payments, staff):
    account = uuid.uuid4()
    method = card(stripe_payments, staff, account)
    payment = pay(stripe_payments, staff, account, method, 7_700).json()
    [intent] = stripe_payments.intents_for(payment["id"])
    dispute = {
        "id": f"dp_{uuid.uuid4().hex[:14]}",
        "object": "dispute",
        "charge": charge_of(intent),
        "payment_intent": intent.id,
        "amount": 7_700,
        "reason": "fraudulent",
    }
    response, _ = signed(stripe_payments, "charge.dispute.created", dispute)
    assert response.status_code == 200
    assert shown(stripe_payments, staff, payment["id"])["disputed"] is True
    disputed = await published_eventually(
        suite.infra.bootstrap_servers, payment["id"], "PaymentDisputed"
    )
    assert disputed["data"]["reason"] == "fraudulent"


async def test_an_event_for_a_payment_that_is_not_ours_is_acknowledged_and_ignored(stripe_payments):
    intent = stripe_payments.client.v1.payment_intents.create(
        params={"amount": 100, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    response, _ = signed(stripe_payments, "payment_intent.succeeded", {"id": intent.id})
    assert response.status_code == 200


async def test_localstripes_own_signed_webhooks_are_verified_and_accepted(
    stripe_payments, staff, db
):
    config = f"{stripe_payments.localstripe_url}/_config/webhooks/clinicpay"
    target = f"{stripe_payments.url}/v1/webhooks/stripe"
    httpx.post(
        config, data={"url": target, "secret": stripe_payments.webhook_secret}
    ).raise_for_status()
    try:
        account = uuid.uuid4()
        method = card(stripe_payments, staff, account)
        pay(stripe_payments, staff, account, method, 1_100)

        async def delivered():
            return await db.fetchval(
                f"""SELECT count(*) FROM {SCHEMA}.webhook_events
                    WHERE event_type = 'payment_intent.succeeded'
                      AND event_id NOT LIKE 'evt\\_test\\_%'"""
            )

        assert await eventually(delivered, timeout=20)
    finally:  # quiet again: other tests decide which webhooks arrive
        httpx.post(
            config,
            data={
                "url": target,
                "secret": stripe_payments.webhook_secret,
                "events[]": "balance.available",
            },
        )


async def test_without_a_configured_secret_the_webhook_endpoint_does_not_exist(suite):
    response = httpx.post(f"{suite.payments_api.url}/v1/webhooks/stripe", content=b"{}")
    assert response.status_code == 404
