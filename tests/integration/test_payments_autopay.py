"""Weekly autopay and scheduled payments, charged by ReminderDue and never twice."""

from __future__ import annotations

import uuid
from datetime import date

import httpx

from payments.application import ids
from tests.integration.harness import eventually
from tests.integration.payments_support import (
    consumed_past,
    new_account,
    open_invoice,
    pay,
    post,
    publish_reminder,
    published_eventually,
    save_card,
    send,
)


def enable(suite, staff, account, card, weekday="monday"):
    return post(
        staff,
        f"{suite.payments_api.url}/v1/autopay",
        {
            "account_id": str(account),
            "payment_method_id": card["id"],
            "cadence": "weekly",
            "weekday": weekday,
        },
    )


async def charge_due(suite, staff, account, mandate, period_start):
    return await publish_reminder(
        suite.infra.bootstrap_servers,
        staff.clinic_id,
        account,
        "autopay_charge_due",
        mandate_id=mandate["id"],
        period_start=period_start,
    )


async def test_autopay_charges_the_outstanding_balance_once_per_week(suite, staff, db):
    account = new_account(suite, staff)
    await open_invoice(suite, staff, db, account, 4_500)
    await open_invoice(suite, staff, db, account, 1_250)
    card = save_card(suite.payments_api.url, staff, account)
    response = enable(suite, staff, account, card)
    assert response.status_code == 201, response.text
    mandate = response.json()
    enabled = await published_eventually(
        suite.infra.bootstrap_servers, mandate["id"], "AutopayEnabled"
    )
    assert enabled["data"]["weekday"] == "monday"
    period = "2031-01-06"
    envelope, _ = await charge_due(suite, staff, account, mandate, period)
    payment_id = str(ids.autopay_payment(uuid.UUID(mandate["id"]), date(2031, 1, 6), "USD"))

    captured = await published_eventually(
        suite.infra.bootstrap_servers, payment_id, "PaymentCaptured"
    )
    assert captured["data"]["amount"] == 5_750
    assert captured["data"]["mandate_id"] == mandate["id"]
    assert captured["data"]["unallocated_amount"] == 0

    redelivered = await send(suite.infra.bootstrap_servers, envelope)
    _, replayed = await charge_due(suite, staff, account, mandate, period)
    await consumed_past(db, redelivered)
    await consumed_past(db, replayed)
    charged = await db.fetchval(
        "SELECT count(*) FROM sandbox_gateway.charges WHERE reference = $1", payment_id
    )
    assert charged == 1
    shown = staff.get(f"{suite.payments_api.url}/v1/autopay/{mandate['id']}").json()
    assert shown["charged_periods"] == [period]


async def test_autopay_with_nothing_owed_charges_nothing(suite, staff, db):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    mandate = enable(suite, staff, account, card).json()
    _, record = await charge_due(suite, staff, account, mandate, "2031-01-06")
    await consumed_past(db, record)
    shown = staff.get(f"{suite.payments_api.url}/v1/autopay/{mandate['id']}").json()
    assert shown["charged_periods"] == ["2031-01-06"]
    assert (
        await db.fetchval(
            "SELECT count(*) FROM payments.payment_records WHERE account_id = $1", account
        )
        == 0
    )


async def test_turned_off_autopay_charges_nothing_and_an_account_has_one_mandate(suite, staff, db):
    account = new_account(suite, staff)
    await open_invoice(suite, staff, db, account, 900)
    card = save_card(suite.payments_api.url, staff, account)
    mandate = enable(suite, staff, account, card).json()
    assert enable(suite, staff, account, card, "friday").status_code == 409
    off = httpx.delete(
        f"{suite.payments_api.url}/v1/autopay/{mandate['id']}", headers=staff.headers
    )
    assert off.status_code == 204
    await published_eventually(suite.infra.bootstrap_servers, mandate["id"], "AutopayDisabled")
    _, record = await charge_due(suite, staff, account, mandate, "2031-01-06")
    await consumed_past(db, record)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM payments.payment_records WHERE account_id = $1", account
        )
        == 0
    )
    assert enable(suite, staff, account, card, "friday").status_code == 201


async def test_a_card_in_use_by_autopay_cannot_be_removed(suite, staff):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    enable(suite, staff, account, card)
    response = httpx.delete(
        f"{suite.payments_api.url}/v1/payment-methods/{card['id']}", headers=staff.headers
    )
    assert response.status_code == 409


async def test_a_scheduled_payment_is_charged_once_when_its_day_comes(suite, staff, db):
    account = new_account(suite, staff)
    invoice = await open_invoice(suite, staff, db, account, 2_000)
    card = save_card(suite.payments_api.url, staff, account)
    scheduled = pay(
        suite.payments_api.url,
        staff,
        account,
        card["id"],
        2_000,
        invoice_id=invoice,
        scheduled_for="2031-02-01",
    ).json()
    envelope, _ = await publish_reminder(
        suite.infra.bootstrap_servers,
        staff.clinic_id,
        account,
        "scheduled_payment_due",
        payment_id=scheduled["id"],
    )

    async def captured():
        shown = staff.get(f"{suite.payments_api.url}/v1/payments/{scheduled['id']}").json()
        return shown["status"] == "captured" and shown

    shown = await eventually(captured, timeout=30)
    assert shown["allocations"] == [{"invoice_id": invoice, "amount": 2_000}]
    await consumed_past(db, await send(suite.infra.bootstrap_servers, envelope))
    assert (
        await db.fetchval(
            "SELECT count(*) FROM sandbox_gateway.charges WHERE reference = $1", scheduled["id"]
        )
        == 1
    )
