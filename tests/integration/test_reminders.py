"""Reminders through the broker and PostgreSQL: an issued invoice's notice, with a secure
link, reaches the dev mailbox; a paid invoice gets no more."""

from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from auth import LinkCodec
from clinicpay.settings import EMBEDDED_LINK_SECRET
from tests.integration.harness import CLINICPAY, eventually
from tests.integration.invoicing_api import configure_clinic, send
from tests.integration.payments_support import new_account, open_invoice, pay, save_card
from tests.integration.reminders_support import (
    issued_for_new_account,
    mailbox_eventually,
    new_clinic_staff,
    reminders_eventually,
    reminders_on_topic,
    scheduled,
    tick,
)

CHICAGO = ZoneInfo("America/Chicago")


async def test_an_issued_invoice_sends_a_notice_with_a_secure_link_to_the_mailbox(
    suite, codec, staff, db
):
    configure_clinic(suite, codec, staff.clinic_id, name="Sunny Speech")
    invoice = issued_for_new_account(suite, staff, 15_000, due_date="2027-01-15")
    steps = await scheduled(db, invoice["id"])
    due = steps["due"]["due_at"].astimezone(CHICAGO)
    assert (due.date().isoformat(), due.hour) == ("2027-01-15", 8)

    tick(suite, steps["issued"]["due_at"])

    [message] = await mailbox_eventually(suite, staff, invoice["account"].id)
    assert message["kind"] == "invoice_issued" and message["channel"] == "email"
    assert message["to"] == "jordan@example.com"
    assert "Sunny Speech" in message["subject"]
    assert "$150.00" in message["text"] and "January 15, 2027" in message["text"]
    assert message["link"] in message["text"] and message["link"] in message["html"]
    portal, token = message["link"].rsplit("/l/", 1)
    assert portal == suite.env.get("PORTAL_URL", "http://127.0.0.1:8005")
    claims = LinkCodec(EMBEDDED_LINK_SECRET).verify(token)
    assert (claims.clinic_id, claims.account_id) == (staff.clinic_id, invoice["account"].id)
    assert "Riley" not in message["text"] and "Speech therapy" not in message["text"]
    link_id = await db.fetchval(
        "SELECT link_id FROM reminders.notifications WHERE account_id = $1 AND channel = 'email'",
        invoice["account"].id,
    )
    assert link_id == claims.link_id

    [published] = await reminders_on_topic(suite.infra.bootstrap_servers, invoice["id"])
    assert published["data"]["kind"] == "invoice_issued"
    assert published["data"]["amount_due"] == 15_000
    assert published["clinicid"] == str(staff.clinic_id)


async def test_a_notice_is_sent_once_however_often_the_clock_is_ticked(suite, staff, db):
    invoice = issued_for_new_account(suite, staff, 4_000, due_date="2027-02-01")
    steps = await scheduled(db, invoice["id"])
    at = steps["due"]["due_at"]
    for _ in range(3):
        tick(suite, at + timedelta(minutes=5))

    published = await reminders_eventually(suite.infra.bootstrap_servers, invoice["id"], 1)
    # issued, due-3 and due were all due: only the latest went out.
    assert [p["data"]["step"] for p in published] == ["due"]
    statuses = {step: row["status"] for step, row in (await scheduled(db, invoice["id"])).items()}
    assert statuses == {
        "issued": "skipped",
        "due-3": "skipped",
        "due": "sent",
        "due+7": "pending",
        "due+14": "pending",
        "due+30": "pending",
    }
    await eventually(lambda: _count_mail(db, invoice["account"].id), timeout=30)


async def _count_mail(db, account_id: uuid.UUID) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM reminders.mailbox WHERE account_id = $1", account_id
    )


async def test_no_notice_after_the_invoice_is_paid(suite, staff, db):
    account_id = new_account(suite, staff)
    invoice_id = await open_invoice(suite, staff, db, account_id, 6_000)
    steps = await scheduled(db, invoice_id)
    card = save_card(suite.payments_api.url, staff, account_id)
    response = pay(suite.payments_api.url, staff, account_id, card["id"], 6_000)
    assert response.status_code == 201, response.text

    async def paid_known():
        return await db.fetchval(
            """SELECT paid = 6000 FROM reminders.subjects
               WHERE subject_type = 'invoice' AND subject_id = $1""",
            invoice_id,
        )

    await eventually(paid_known, timeout=30)
    tick(suite, steps["due+7"]["due_at"] + timedelta(hours=1))

    after = await scheduled(db, invoice_id)
    assert {
        row["status"] for row in after.values() if row["due_at"] <= steps["due+7"]["due_at"]
    } == {"skipped"}
    assert {row["reason"] for row in after.values() if row["status"] == "skipped"} == {"paid"}
    assert await reminders_on_topic(suite.infra.bootstrap_servers, invoice_id) == []
    assert await _count_mail(db, account_id) == 0


async def test_no_notice_for_a_voided_or_written_off_invoice_or_under_the_clinic_floor(
    suite, codec, db
):
    staff = new_clinic_staff(codec)
    admin_put = send(
        "PUT",
        staff,
        f"{suite.reminders_api.url}/v1/reminder-policy",
        json={
            "steps": [{"step": "due", "channels": ["email"]}],
            "floor_amount": 100,
        },
    )
    assert admin_put.status_code == 200, admin_put.text
    small = issued_for_new_account(suite, staff, 99, due_date="2027-03-01")
    voided = issued_for_new_account(suite, staff, 5_000, due_date="2027-03-01")
    written_off = issued_for_new_account(suite, staff, 6_000, due_date="2027-03-01")
    void = staff.post(f"{suite.invoicing_api.url}/v1/invoices/{voided['id']}/void")
    assert void.status_code == 200, void.text
    write_off = staff.post(
        f"{suite.invoicing_api.url}/v1/invoices/{written_off['id']}/write-off",
        json={"reason": "uncollectable"},
    )
    assert write_off.status_code == 200, write_off.text
    small_steps = await scheduled(db, small["id"], expected=1)

    async def closed(invoice_id: str):
        return await db.fetchval(
            """SELECT closed FROM reminders.subjects
               WHERE subject_type = 'invoice' AND subject_id = $1""",
            invoice_id,
        )

    assert await eventually(lambda: closed(voided["id"]), timeout=30) == "voided"
    assert await eventually(lambda: closed(written_off["id"]), timeout=30) == "written_off"
    tick(suite, small_steps["due"]["due_at"] + timedelta(minutes=1))
    assert (await scheduled(db, small["id"], expected=1))["due"]["reason"] == "under_floor"
    assert (await scheduled(db, voided["id"], expected=1))["due"]["reason"] == "voided"
    assert (await scheduled(db, written_off["id"], expected=1))["due"]["reason"] == "written_off"
    for invoice in (small, voided, written_off):
        assert await reminders_on_topic(suite.infra.bootstrap_servers, invoice["id"]) == []


async def test_a_late_tick_at_night_holds_the_notice_until_the_clinic_morning(suite, codec, db):
    staff = new_clinic_staff(codec)
    configure_clinic(suite, codec, staff.clinic_id, name="Sunny Speech")
    invoice = issued_for_new_account(suite, staff, 7_700, due_date="2027-02-10")
    steps = await scheduled(db, invoice["id"])
    night = steps["due"]["due_at"] + timedelta(hours=14)  # 22:00 in Chicago
    assert night.astimezone(CHICAGO).hour == 22

    tick(suite, night)
    waiting = (await scheduled(db, invoice["id"]))["due"]
    assert waiting["status"] == "pending"
    morning = steps["due"]["due_at"] + timedelta(days=1)
    assert (
        await db.fetchval(
            "SELECT not_before FROM reminders.schedule WHERE subject_id = $1 AND step = 'due'",
            invoice["id"],
        )
        == morning
    )
    assert await reminders_on_topic(suite.infra.bootstrap_servers, invoice["id"]) == []
    tick(suite, morning + timedelta(minutes=1))
    [published] = await reminders_eventually(suite.infra.bootstrap_servers, invoice["id"], 1)
    assert published["data"]["step"] == "due"


def test_the_clock_cannot_be_set_outside_the_embedded_default(suite):
    production = {
        **suite.env,
        "CLINICPAY_ENV": "production",
        "JWT_SECRET": "a-production-secret-" + "x" * 24,
        "LINK_SECRET": "a-production-link-secret-" + "y" * 24,
        "REMINDERS_DIGEST_KEY": "a-production-digest-key-" + "z" * 24,
    }
    done = subprocess.run(
        [CLINICPAY, "reminders", "tick", "--at", "2027-01-01T09:00:00-06:00"],
        env=production,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--at exists only on the embedded default" in done.stderr
