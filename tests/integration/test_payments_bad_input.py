"""Every refused payments request gets a clear problem response and records nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.payments_support import keyed, post, save_card

PROBLEM = "application/problem+json"


@pytest.fixture
async def recorded(db):
    async def count() -> tuple[int, int]:
        events = await db.fetchval("SELECT count(*) FROM payments.payments_events")
        charges = await db.fetchval("SELECT count(*) FROM sandbox_gateway.charges")
        return events, charges

    return count


@pytest.fixture
def card(suite, staff):
    return save_card(suite.payments_api.url, staff, uuid.uuid4())


def payment(card, **overrides):
    body = {
        "account_id": card["account_id"],
        "amount": 1_000,
        "currency": "USD",
        "payment_method_id": card["id"],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


PAYMENTS = {
    "negative amount": {"amount": -1},
    "zero amount": {"amount": 0},
    "fractional amount": {"amount": 10.5},
    "amount as string": {"amount": "1000"},
    "amount too large": {"amount": 10**12},
    "lowercase currency": {"currency": "usd"},
    "unknown field": {"tip": 5},
    "account id not a uuid": {"account_id": "42"},
    "missing amount": {"amount": ...},
    "impossible date": {"scheduled_for": "2031-02-30"},
}


@pytest.mark.parametrize("overrides", PAYMENTS.values(), ids=PAYMENTS.keys())
async def test_malformed_payments_are_422_and_charge_nothing(
    suite, staff, card, recorded, overrides
):
    before = await recorded()
    response = post(staff, f"{suite.payments_api.url}/v1/payments", payment(card, **overrides))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await recorded() == before


OTHER_BODIES = {
    "card number as token": ("/v1/payment-methods", {"token": "4242424242424242"}),
    "token with spaces": ("/v1/payment-methods", {"token": "pm card"}),
    "one installment": ("/v1/payment-plans", {"installments": 1}),
    "twenty-five installments": ("/v1/payment-plans", {"installments": 25}),
    "yearly plan": ("/v1/payment-plans", {"interval": "yearly"}),
    "no invoices": ("/v1/payment-plans", {"invoice_ids": []}),
    "monthly autopay": ("/v1/autopay", {"cadence": "monthly"}),
    "autopay on a holiday": ("/v1/autopay", {"weekday": "someday"}),
}


def other_body(card, path, overrides):
    account, method = card["account_id"], card["id"]
    base = {
        "/v1/payment-methods": {"account_id": account, "token": "pm_card_visa"},
        "/v1/payment-plans": {
            "account_id": account,
            "invoice_ids": [str(uuid.uuid4())],
            "installments": 3,
            "interval": "monthly",
            "start_date": "2031-01-01",
            "payment_method_id": method,
        },
        "/v1/autopay": {
            "account_id": account,
            "payment_method_id": method,
            "cadence": "weekly",
            "weekday": "monday",
        },
    }[path]
    return base | overrides


@pytest.mark.parametrize(("path", "overrides"), OTHER_BODIES.values(), ids=OTHER_BODIES.keys())
async def test_malformed_cards_plans_and_autopay_are_422_and_record_nothing(
    suite, staff, card, recorded, path, overrides
):
    before = await recorded()
    response = post(staff, f"{suite.payments_api.url}{path}", other_body(card, path, overrides))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await recorded() == before


@pytest.mark.parametrize(
    "body", [{"amount": 0, "reason": "duplicate"}, {"amount": 5, "reason": "felt like it"}]
)
async def test_malformed_refunds_are_422(suite, staff, card, recorded, body):
    paid = post(staff, f"{suite.payments_api.url}/v1/payments", payment(card)).json()
    before = await recorded()
    response = post(staff, f"{suite.payments_api.url}/v1/payments/{paid['id']}/refunds", body)
    assert response.status_code == 422
    assert await recorded() == before


async def test_unauthenticated_or_oversized_requests_are_refused(suite, card, recorded):
    before = await recorded()
    url = f"{suite.payments_api.url}/v1/payments"
    assert httpx.post(url, json=payment(card), headers=keyed()).status_code == 401
    huge = httpx.post(url, content=b"x" * 300_000, headers=keyed())
    assert huge.status_code == 413
    assert await recorded() == before


async def test_paying_with_a_card_of_another_account_is_404(suite, staff, card, recorded):
    before = await recorded()
    response = post(
        staff, f"{suite.payments_api.url}/v1/payments", payment(card, account_id=str(uuid.uuid4()))
    )
    assert response.status_code == 404
    assert response.json()["type"].endswith("/payment-method-not-found")
    assert await recorded() == before
