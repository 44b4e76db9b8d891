"""Payment plans: a schedule exact to the cent, each installment charged once when it falls due,
failed ones retried and then the plan defaulted."""

from __future__ import annotations

import uuid

from payments.application import ids
from tests.integration.harness import eventually
from tests.integration.payments_support import (
    consumed_past,
    new_account,
    open_invoice,
    post,
    publish_reminder,
    published_eventually,
    save_card,
)


def create_plan(suite, staff, account, invoices, card, installments=3, interval="monthly", **extra):
    return post(
        staff,
        f"{suite.payments_api.url}/v1/payment-plans",
        {
            "account_id": str(account),
            "invoice_ids": invoices,
            "installments": installments,
            "interval": interval,
            "start_date": "2030-01-31",
            "payment_method_id": card["id"],
            **extra,
        },
    )


def get_plan(suite, staff, plan_id):
    return staff.get(f"{suite.payments_api.url}/v1/payment-plans/{plan_id}").json()


async def new_plan(suite, staff, db, amounts=(6_000, 4_001), token="pm_card_visa", installments=3):
    account = new_account(suite, staff)
    invoices = [await open_invoice(suite, staff, db, account, a) for a in amounts]
    card = save_card(suite.payments_api.url, staff, account, token)
    response = create_plan(suite, staff, account, invoices, card, installments)
    assert response.status_code == 201, response.text
    return account, invoices, response.json()


async def installment_due(suite, staff, account, plan, number):
    return await publish_reminder(
        suite.infra.bootstrap_servers,
        staff.clinic_id,
        account,
        "installment_due",
        plan_id=plan["id"],
        installment_number=number,
    )


async def test_a_plan_spreads_its_invoices_over_installments_that_add_up_to_the_cent(
    suite, staff, db
):
    _, invoices, plan = await new_plan(suite, staff, db)
    assert plan["status"] == "active"
    assert plan["total_amount"] == 10_001
    assert [i["amount"] for i in plan["installments"]] == [3_334, 3_334, 3_333]
    assert [i["due_date"] for i in plan["installments"]] == [
        "2030-01-31",
        "2030-02-28",
        "2030-03-31",
    ]
    event = await published_eventually(
        suite.infra.bootstrap_servers, plan["id"], "PaymentPlanCreated"
    )
    assert event["data"]["installments"][1] == {
        "number": 2,
        "due_date": "2030-02-28",
        "amount": 3_334,
    }
    assert sorted(event["data"]["invoice_ids"]) == sorted(invoices)


async def test_each_installment_is_charged_once_however_often_its_reminder_comes(suite, staff, db):
    account, invoices, plan = await new_plan(suite, staff, db)
    envelope, _ = await installment_due(suite, staff, account, plan, 1)

    async def first_paid():
        return get_plan(suite, staff, plan["id"])["installments"][0]["status"] == "paid"

    assert await eventually(first_paid, timeout=30)
    from tests.integration.payments_support import send

    redelivered = await send(suite.infra.bootstrap_servers, envelope)
    _, replayed = await installment_due(suite, staff, account, plan, 1)
    await consumed_past(db, redelivered)
    await consumed_past(db, replayed)

    charges = await db.fetchval(
        "SELECT count(*) FROM sandbox_gateway.charges WHERE reference = ANY($1::text[])",
        [str(ids.installment_payment(uuid.UUID(plan["id"]), 1, n)) for n in (1, 2, 3)],
    )
    assert charges == 1
    shown = get_plan(suite, staff, plan["id"])
    assert (shown["paid_amount"], shown["remaining_amount"]) == (3_334, 6_667)
    captured = await published_eventually(
        suite.infra.bootstrap_servers,
        str(ids.installment_payment(uuid.UUID(plan["id"]), 1, 1)),
        "PaymentCaptured",
    )
    assert captured["data"]["plan_id"] == plan["id"]
    assert captured["data"]["installment_number"] == 1
    assert captured["data"]["allocations"] == [{"invoice_id": invoices[0], "amount": 3_334}]


async def test_a_plan_completes_when_every_installment_is_paid(suite, staff, db):
    account, _, plan = await new_plan(suite, staff, db, amounts=(1_001,), installments=2)
    for number in (1, 2):
        await installment_due(suite, staff, account, plan, number)

    async def completed():
        return get_plan(suite, staff, plan["id"])["status"] == "completed"

    assert await eventually(completed, timeout=30)
    await published_eventually(suite.infra.bootstrap_servers, plan["id"], "PaymentPlanCompleted")


async def test_a_failing_installment_is_retried_then_the_plan_defaults(suite, staff, db):
    account, _, plan = await new_plan(suite, staff, db, token="pm_card_chargeCustomerFail")
    await installment_due(suite, staff, account, plan, 1)

    async def tries(n):
        async def made():
            return get_plan(suite, staff, plan["id"])["installments"][0]["tries"] == n

        return await eventually(made, timeout=30)

    for made in (1, 2):
        await tries(made)

        async def retry_queued():
            return await db.fetchval(
                """UPDATE payments.work_queue SET due_at = now()
                   WHERE kind = 'plan_retry' AND subject = $1 RETURNING true""",
                uuid.UUID(plan["id"]),
            )

        assert await eventually(retry_queued, timeout=20)  # time passes: the retry falls due
    await tries(3)

    async def defaulted():
        return get_plan(suite, staff, plan["id"])["status"] == "defaulted"

    assert await eventually(defaulted, timeout=30)
    event = await published_eventually(
        suite.infra.bootstrap_servers, plan["id"], "PaymentPlanDefaulted"
    )
    assert event["data"]["installment_number"] == 1
    assert event["data"]["amount_outstanding"] == 10_001
    failures = await db.fetchval(
        "SELECT count(*) FROM sandbox_gateway.charges WHERE reference = ANY($1::text[])",
        [str(ids.installment_payment(uuid.UUID(plan["id"]), 1, n)) for n in (1, 2, 3, 4)],
    )
    assert failures == 3


async def test_a_canceled_plan_charges_nothing_more_and_frees_its_invoices(suite, staff, db):
    account, invoices, plan = await new_plan(suite, staff, db)
    canceled = post(staff, f"{suite.payments_api.url}/v1/payment-plans/{plan['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    _, record = await installment_due(suite, staff, account, plan, 1)
    await consumed_past(db, record)
    assert get_plan(suite, staff, plan["id"])["installments"][0]["tries"] == 0
    card = staff.get(
        f"{suite.payments_api.url}/v1/payment-methods", params={"account_id": str(account)}
    )
    again = create_plan(suite, staff, account, invoices, card.json()["items"][0])
    assert again.status_code == 201
    await published_eventually(suite.infra.bootstrap_servers, plan["id"], "PaymentPlanCanceled")


async def test_an_invoice_can_be_in_only_one_active_plan(suite, staff, db):
    account, invoices, _ = await new_plan(suite, staff, db)
    card = staff.get(
        f"{suite.payments_api.url}/v1/payment-methods", params={"account_id": str(account)}
    )
    second = create_plan(suite, staff, account, invoices[:1], card.json()["items"][0])
    assert second.status_code == 409
    assert second.json()["type"].endswith("/invoice-in-plan")


async def test_a_plan_of_unknown_or_settled_invoices_is_refused(suite, staff, db):
    account = new_account(suite, staff)
    card = save_card(suite.payments_api.url, staff, account)
    response = create_plan(suite, staff, account, [str(uuid.uuid4())], card)
    assert response.status_code == 404
    small = await open_invoice(suite, staff, db, account, 5)
    too_many = create_plan(suite, staff, account, [small], card, installments=6)
    assert too_many.status_code == 422
