"""Time-based charges: reminders asks, payments charges, the family gets a receipt and the
installment or scheduled payment asks no more."""

from __future__ import annotations

from datetime import date, timedelta

from tests.integration.harness import eventually
from tests.integration.payments_support import (
    new_account,
    open_invoice,
    pay,
    post,
    published_eventually,
    save_card,
)
from tests.integration.reminders_support import mailbox, reminders_eventually, tick


async def charge_steps(db, subject_type: str, subject_id: str) -> dict:
    async def planned():
        rows = await db.fetch(
            """SELECT step, kind, due_at, status FROM reminders.schedule
               WHERE subject_type = $1 AND subject_id = $2""",
            subject_type,
            subject_id,
        )
        return {r["kind"]: dict(r) for r in rows} or None

    return await eventually(planned, timeout=30)


async def test_an_installment_is_asked_for_on_its_day_charged_once_and_receipted(suite, staff, db):
    account = new_account(suite, staff)
    invoice = await open_invoice(suite, staff, db, account, 9_000)
    card = save_card(suite.payments_api.url, staff, account)
    start = (date.today() + timedelta(days=2)).isoformat()
    created = post(
        staff,
        f"{suite.payments_api.url}/v1/payment-plans",
        {
            "account_id": str(account),
            "invoice_ids": [invoice],
            "installments": 3,
            "interval": "monthly",
            "start_date": start,
            "payment_method_id": card["id"],
        },
    )
    assert created.status_code == 201, created.text
    plan = created.json()
    subject = f"{plan['id']}:1"
    step = (await charge_steps(db, "plan_installment", subject))["installment_due"]

    for _ in range(2):
        tick(suite, step["due_at"] + timedelta(minutes=1))
    [asked] = await reminders_eventually(suite.infra.bootstrap_servers, subject, 1)
    assert asked["data"]["plan_id"] == plan["id"]
    assert asked["data"]["installment_number"] == 1
    assert asked["data"]["amount_due"] == 3_000

    captured = await eventually(lambda: _captured_for(suite, staff, plan["id"]), timeout=30)
    assert captured["amount"] == 3_000

    async def receipted():
        return [m for m in mailbox(suite, staff, account) if m["kind"] == "payment_receipt"]

    [receipt] = await eventually(receipted, timeout=30)
    assert "$30.00" in receipt["text"]
    assert (await charge_steps(db, "plan_installment", f"{plan['id']}:2"))["installment_due"][
        "status"
    ] == "pending"


async def _captured_for(suite, staff, plan_id: str) -> dict | None:
    plan = staff.get(f"{suite.payments_api.url}/v1/payment-plans/{plan_id}").json()
    paid = [i for i in plan["installments"] if i.get("status") == "paid"]
    return {"amount": paid[0]["amount"]} if paid else None


async def test_a_scheduled_payment_is_asked_for_on_its_date(suite, staff, db):
    account = new_account(suite, staff)
    await open_invoice(suite, staff, db, account, 2_500)
    card = save_card(suite.payments_api.url, staff, account)
    when = (date.today() + timedelta(days=5)).isoformat()
    response = pay(suite.payments_api.url, staff, account, card["id"], 2_500, scheduled_for=when)
    assert response.status_code == 202, response.text
    payment = response.json()
    step = (await charge_steps(db, "scheduled_payment", payment["id"]))["scheduled_payment_due"]
    assert step["due_at"].date().isoformat() == when

    tick(suite, step["due_at"] + timedelta(minutes=1))
    [asked] = await reminders_eventually(suite.infra.bootstrap_servers, payment["id"], 1)
    assert asked["data"]["payment_id"] == payment["id"]
    captured = await published_eventually(
        suite.infra.bootstrap_servers, payment["id"], "PaymentCaptured"
    )
    assert captured["data"]["amount"] == 2_500
