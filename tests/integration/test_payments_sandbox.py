"""Paying through the sandbox gateway: saved cards, pay now, allocation, declines, events."""

from __future__ import annotations

import uuid

from tests.integration.harness import eventually
from tests.integration.payments_support import (
    new_account,
    open_invoice,
    pay,
    post,
    published_eventually,
    save_card,
)
from tests.integration.test_walking_skeleton import balance_of


async def test_a_saved_card_keeps_only_the_gateways_token_brand_last4_and_expiry(suite, staff):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account, "pm_card_visa")
    assert card["brand"] == "visa" and card["last4"] == "4242" and card["is_default"] is True
    listed = staff.get(
        f"{suite.payments_api.url}/v1/payment-methods", params={"account_id": str(account)}
    )
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["items"]] == [card["id"]]


async def test_a_second_card_can_take_over_as_the_one_default(suite, staff):
    account = uuid.uuid4()
    first = save_card(suite.payments_api.url, staff, account)
    second = post(
        staff,
        f"{suite.payments_api.url}/v1/payment-methods",
        {"account_id": str(account), "token": "pm_card_mastercard", "make_default": True},
    ).json()
    listed = staff.get(
        f"{suite.payments_api.url}/v1/payment-methods", params={"account_id": str(account)}
    )
    defaults = {m["id"]: m["is_default"] for m in listed.json()["items"]}
    assert defaults == {first["id"]: False, second["id"]: True}


async def test_cards_the_gateway_declines_are_not_saved(suite, staff):
    account = uuid.uuid4()
    url = f"{suite.payments_api.url}/v1/payment-methods"
    for token, code in [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ]:
        response = post(staff, url, {"account_id": str(account), "token": token})
        assert response.status_code == 402, response.text
        assert response.json()["decline_code"] == code
    listed = staff.get(url, params={"account_id": str(account)})
    assert listed.json()["items"] == []


async def test_paying_without_an_invoice_settles_the_oldest_first_and_keeps_the_rest_as_credit(
    suite, staff, db
):
    account = new_account(suite, staff)
    older = await open_invoice(suite, staff, db, account, 3_000)
    newer = await open_invoice(suite, staff, db, account, 5_000)
    card = save_card(suite.payments_api.url, staff, account)

    response = pay(suite.payments_api.url, staff, account, card["id"], 9_000)

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "captured"
    assert payment["allocations"] == [
        {"invoice_id": older, "amount": 3_000},
        {"invoice_id": newer, "amount": 5_000},
    ]
    assert payment["unallocated_amount"] == 1_000
    event = await published_eventually(
        suite.infra.bootstrap_servers, payment["id"], "PaymentCaptured"
    )
    assert event["data"]["allocations"] == payment["allocations"]
    assert event["data"]["unallocated_amount"] == 1_000
    assert event["accountid"] == str(account)

    async def credit():
        return balance_of(suite, staff, account) == -1_000

    assert await eventually(credit, timeout=20)


async def test_a_payment_for_one_invoice_pays_only_that_invoice(suite, staff, db):
    account = new_account(suite, staff)
    older = await open_invoice(suite, staff, db, account, 3_000)
    newer = await open_invoice(suite, staff, db, account, 5_000)
    card = save_card(suite.payments_api.url, staff, account)
    response = pay(suite.payments_api.url, staff, account, card["id"], 5_000, invoice_id=newer)
    assert response.status_code == 201, response.text
    assert response.json()["allocations"] == [{"invoice_id": newer, "amount": 5_000}]
    second = pay(suite.payments_api.url, staff, account, card["id"], 100, invoice_id=newer)
    assert second.status_code == 404
    assert second.json()["type"].endswith("/invoice-not-open")
    assert older


async def test_a_card_that_fails_when_charged_records_a_failed_payment_and_moves_no_money(
    suite, staff, db
):
    account = new_account(suite, staff)
    await open_invoice(suite, staff, db, account, 2_000)
    card = save_card(suite.payments_api.url, staff, account, "pm_card_chargeCustomerFail")

    response = pay(suite.payments_api.url, staff, account, card["id"], 2_000)

    assert response.status_code == 402, response.text
    body = response.json()
    assert body["decline_code"] == "card_declined"
    assert body["payment"]["status"] == "failed"
    failed = await published_eventually(
        suite.infra.bootstrap_servers, body["payment"]["id"], "PaymentFailed"
    )
    assert failed["data"]["decline_code"] == "card_declined"
    assert balance_of(suite, staff, account) == 2_000


async def test_a_payment_can_be_scheduled_for_a_later_date(suite, staff, db):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    response = pay(
        suite.payments_api.url, staff, account, card["id"], 1_500, scheduled_for="2030-06-01"
    )
    assert response.status_code == 202, response.text
    payment = response.json()
    assert (payment["status"], payment["scheduled_for"]) == ("scheduled", "2030-06-01")
    event = await published_eventually(
        suite.infra.bootstrap_servers, payment["id"], "PaymentScheduled"
    )
    assert event["data"]["scheduled_for"] == "2030-06-01"
    today = pay(
        suite.payments_api.url, staff, account, card["id"], 1_500, scheduled_for="2020-01-01"
    )
    assert today.status_code == 422


def test_the_payments_api_answers_health_and_readiness(suite):
    import httpx

    assert httpx.get(f"{suite.payments_api.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{suite.payments_api.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok"}


def test_the_payments_api_describes_every_endpoint_in_openapi(suite):
    import httpx

    paths = httpx.get(f"{suite.payments_api.url}/openapi.json").json()["paths"]
    assert {
        "/v1/payment-methods",
        "/v1/payment-methods/{method_id}",
        "/v1/payments",
        "/v1/payments/{payment_id}",
        "/v1/payments/{payment_id}/refunds",
        "/v1/payment-plans",
        "/v1/payment-plans/{plan_id}",
        "/v1/payment-plans/{plan_id}/cancel",
        "/v1/autopay",
        "/v1/autopay/{mandate_id}",
        "/v1/webhooks/stripe",
    } <= set(paths)
