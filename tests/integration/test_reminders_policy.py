"""The clinic's reminder policy over HTTP, and weekly autopay's notices and charges."""

from __future__ import annotations

from datetime import date, timedelta

from tests.integration.harness import StaffClient, eventually
from tests.integration.invoicing_api import send
from tests.integration.payments_support import new_account, open_invoice, post, save_card
from tests.integration.reminders_support import (
    issued_for_new_account,
    mailbox,
    mailbox_eventually,
    reminders_eventually,
    scheduled,
    tick,
)


async def kind_in_mailbox(suite, staff, account_id, kind: str) -> list[dict]:
    async def arrived():
        return [m for m in mailbox(suite, staff, account_id) if m["kind"] == kind] or None

    return await eventually(arrived, timeout=30)


def policy_url(suite) -> str:
    return f"{suite.reminders_api.url}/v1/reminder-policy"


async def test_the_default_policy_until_an_admin_changes_it(suite, codec, staff):
    policy = staff.get(policy_url(suite)).json()
    assert [s["step"] for s in policy["steps"]] == [
        "issued",
        "due-3",
        "due",
        "due+7",
        "due+14",
        "due+30",
    ]
    assert policy["quiet_hours"] == {"send_after": "08:00", "send_before": "20:00"}
    assert policy["floor_amount"] is None
    forbidden = send("PUT", staff, policy_url(suite), json={"steps": []})
    assert forbidden.status_code == 403


async def test_a_bad_policy_is_refused_and_nothing_changes(suite, codec, clinic_id):
    admin = StaffClient(codec, clinic_id, ["admin"])
    for body in (
        {"steps": [{"step": "tomorrow", "channels": ["email"]}]},
        {"steps": [{"step": "due", "channels": ["fax"]}]},
        {"steps": [{"step": "due", "channels": ["email"]}, {"step": "due", "channels": ["sms"]}]},
        {"steps": [], "quiet_hours": {"send_after": "21:00", "send_before": "07:00"}},
        {"steps": [], "floor_amount": -1},
        {"steps": [], "colour": "blue"},
    ):
        refused = send("PUT", admin, policy_url(suite), json=body)
        assert refused.status_code == 422, body
        assert refused.headers["content-type"] == "application/problem+json"
    assert len(admin.get(policy_url(suite)).json()["steps"]) == 6


async def test_a_policy_change_applies_to_steps_not_yet_sent(suite, codec, db, clinic_id):
    staff = StaffClient(codec, clinic_id, ["billing", "admin"])
    invoice = issued_for_new_account(suite, staff, 9_000, due_date="2027-06-01")
    steps = await scheduled(db, invoice["id"])
    tick(suite, steps["issued"]["due_at"])
    await mailbox_eventually(suite, staff, invoice["account"].id)

    body = {
        "steps": [
            {"step": "issued", "channels": ["email"]},
            {"step": "due+5", "channels": ["sms"]},
        ],
        "quiet_hours": {"send_after": "09:30", "send_before": "18:00"},
        "floor_amount": 500,
    }
    changed = send("PUT", staff, policy_url(suite), json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["steps"][1] == {
        "step": "due+5",
        "kind": "invoice_overdue",
        "channels": ["sms"],
    }

    after = await scheduled(db, invoice["id"], expected=2)
    assert {step: row["status"] for step, row in after.items()} == {
        "issued": "sent",
        "due+5": "pending",
    }
    assert after["due+5"]["due_at"].isoformat() == "2027-06-06T09:30:00+00:00"  # a UTC clinic


async def test_autopay_notice_the_day_before_then_the_charge_and_a_receipt(suite, staff, db):
    account_id = new_account(suite, staff)
    await open_invoice(suite, staff, db, account_id, 3_300)
    card = save_card(suite.payments_api.url, staff, account_id)
    weekday = (date.today() + timedelta(days=3)).strftime("%A").lower()
    enabled = post(
        staff,
        f"{suite.payments_api.url}/v1/autopay",
        {
            "account_id": str(account_id),
            "payment_method_id": card["id"],
            "cadence": "weekly",
            "weekday": weekday,
        },
    )
    assert enabled.status_code == 201, enabled.text
    mandate = enabled.json()
    period = mandate["first_charge_on"]
    subject = f"{mandate['id']}:{period}"

    async def planned():
        rows = await db.fetch(
            """SELECT kind, due_at FROM reminders.schedule
               WHERE subject_type = 'autopay_period' AND subject_id = $1""",
            subject,
        )
        return {r["kind"]: r["due_at"] for r in rows} if len(rows) == 2 else None

    steps = await eventually(planned, timeout=30)
    tick(suite, steps["autopay_upcoming"])
    [notice] = await kind_in_mailbox(suite, staff, account_id, "autopay_upcoming")
    assert "tomorrow" in notice["text"].lower()

    tick(suite, steps["autopay_charge_due"])
    published = await reminders_eventually(suite.infra.bootstrap_servers, subject, 2)
    assert [p["data"]["kind"] for p in published] == ["autopay_upcoming", "autopay_charge_due"]
    assert published[1]["data"]["mandate_id"] == mandate["id"]
    assert published[1]["data"]["period_start"] == period

    [receipt] = await kind_in_mailbox(suite, staff, account_id, "payment_receipt")
    assert "$33.00" in receipt["text"]
    next_week = (date.fromisoformat(period) + timedelta(days=7)).isoformat()
    assert (
        await db.fetchval(
            "SELECT count(*) FROM reminders.schedule WHERE subject_id = $1",
            f"{mandate['id']}:{next_week}",
        )
        == 2
    )
