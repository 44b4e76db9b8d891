"""One charge per Idempotency-Key, whatever the retries and however many arrive at once."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.integration.payments_support import keyed, save_card


async def charges_of(db, account_id) -> int:
    return await db.fetchval(
        """SELECT count(*) FROM sandbox_gateway.charges c
           JOIN payments.payment_records p ON c.reference = p.payment_id::text
           WHERE p.account_id = $1""",
        account_id,
    )


def body(account, card, amount=2_500):
    return {
        "account_id": str(account),
        "amount": amount,
        "currency": "USD",
        "payment_method_id": card["id"],
    }


async def test_twenty_concurrent_identical_payments_with_one_key_charge_once(suite, staff, db):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    headers = {**staff.headers, **keyed()}
    async with httpx.AsyncClient(timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{suite.payments_api.url}/v1/payments",
                    json=body(account, card),
                    headers=headers,
                )
                for _ in range(20)
            )
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await charges_of(db, account) == 1


async def test_a_retried_payment_replays_the_first_answer_without_charging_again(suite, staff, db):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    key = keyed()
    first = staff.post(
        f"{suite.payments_api.url}/v1/payments", json=body(account, card), headers=key
    )
    retry = staff.post(
        f"{suite.payments_api.url}/v1/payments", json=body(account, card), headers=key
    )
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert await charges_of(db, account) == 1


async def test_a_payment_without_an_idempotency_key_is_400_and_charges_nothing(suite, staff, db):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    response = staff.post(f"{suite.payments_api.url}/v1/payments", json=body(account, card))
    assert response.status_code == 400
    assert response.json()["type"].endswith("/idempotency-key-missing")
    assert await charges_of(db, account) == 0


async def test_every_payments_post_requires_an_idempotency_key(suite, staff):
    url = suite.payments_api.url
    for path in (
        "/v1/payment-methods",
        "/v1/payments",
        f"/v1/payments/{uuid.uuid4()}/refunds",
        "/v1/payment-plans",
        f"/v1/payment-plans/{uuid.uuid4()}/cancel",
        "/v1/autopay",
    ):
        response = staff.post(f"{url}{path}", json={})
        assert response.status_code == 400, path


async def test_without_a_token_the_answer_is_401_whether_or_not_a_key_was_sent(suite):
    url = f"{suite.payments_api.url}/v1/payments"
    for headers in ({}, keyed()):
        response = httpx.post(url, json={}, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_same_key_with_another_amount_is_refused_and_charges_nothing_more(
    suite, staff, db
):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    key = keyed()
    url = f"{suite.payments_api.url}/v1/payments"
    assert staff.post(url, json=body(account, card, 100), headers=key).status_code == 201
    changed = staff.post(url, json=body(account, card, 999), headers=key)
    assert changed.status_code == 422
    assert await charges_of(db, account) == 1
