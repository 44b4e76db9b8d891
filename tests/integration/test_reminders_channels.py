"""Notices through real local servers: e-mail to an SMTP server (aiosmtpd) and SMS to a
Twilio-style HTTP API, both started here; retries, a permanent failure staff can see, and
STOP / START."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from auth import LinkCodec
from clinicpay.settings import EMBEDDED_LINK_SECRET
from eventbus.topics import REMINDERS
from tests.integration.harness import ServiceProcess, eventually, read_topic
from tests.integration.invoicing_api import configure_clinic, draft, issue, send
from tests.integration.notify_servers import sms_server, smtp_server
from tests.integration.reminders_support import new_clinic_staff, scheduled, tick
from tests.integration.test_walking_skeleton import Account

SID, SMS_TOKEN = "AC" + "1" * 32, "sms-test-token"


@pytest.fixture(scope="module")
def channels(suite, workdir):
    """The suite's reminders worker, replaced by one that sends through the local servers."""
    with smtp_server() as (smtp_port, emails), sms_server(SID, SMS_TOKEN) as (sms_url, sms):
        env = {
            **suite.env,
            "REMINDERS_EMAIL": "smtp",
            "SMTP_PORT": str(smtp_port),
            "SMTP_FROM": "billing@sunny.example",
            "REMINDERS_SMS": "http",
            "SMS_API_URL": sms_url,
            "SMS_ACCOUNT_SID": SID,
            "SMS_AUTH_TOKEN": SMS_TOKEN,
            "SMS_FROM": "+15550006000",
            "REMINDERS_RETRY_BASE_SECONDS": "0.3",
            "REMINDERS_DELIVERY_INTERVAL_SECONDS": "0.2",
        }
        suite.reminders_worker.stop()
        worker = ServiceProcess("reminders-worker-channels", ["reminders", "worker"], env, workdir)
        worker.start()
        try:
            yield emails, sms
        finally:
            worker.stop()
            suite.reminders_worker.start()


def clinic(suite, codec, *steps: tuple[str, list[str]]):
    staff = new_clinic_staff(codec)
    configure_clinic(suite, codec, staff.clinic_id, name="Sunny Speech")
    body = {"steps": [{"step": step, "channels": channels} for step, channels in steps]}
    response = send("PUT", staff, f"{suite.reminders_api.url}/v1/reminder-policy", json=body)
    assert response.status_code == 200, response.text
    return staff


def account(suite, staff, phone: str | None, preference: str) -> Account:
    guarantor = {
        "name": "Jordan Example",
        "email": "jordan@example.com",
        "date_of_birth": "1984-03-02",
        "contact_preference": preference,
    }
    if phone:
        guarantor["phone"] = phone
    body = {
        "guarantor": guarantor,
        "patients": [{"name": "Riley Example", "date_of_birth": "2019-07-14"}],
    }
    response = staff.post(f"{suite.invoicing_api.url}/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    return Account(uuid.UUID(created["id"]), uuid.UUID(created["patients"][0]["id"]))


async def issue_and_tick(suite, staff, db, holder: Account, steps: int = 1) -> dict:
    invoice = issue(
        suite, staff, draft(suite, staff, holder, (1, 15_000), due_date="2027-05-03")["id"]
    )
    planned = await scheduled(db, invoice["id"], expected=steps)
    tick(suite, planned["issued"]["due_at"])
    return invoice


async def notification(db, account_id, channel: str, status: str) -> dict:
    async def settled():
        row = await db.fetchrow(
            """SELECT * FROM reminders.notifications
               WHERE account_id = $1 AND channel = $2 AND status = $3""",
            account_id,
            channel,
            status,
        )
        return dict(row) if row else None

    return await eventually(settled, timeout=30)


async def notification_events(bootstrap_servers: str, account_id) -> list:
    return [
        r
        for r in await read_topic(bootstrap_servers, REMINDERS)
        if json.loads(r.value)["type"].split(".")[2].startswith("Notification")
        and json.loads(r.value)["accountid"] == str(account_id)
    ]


async def test_email_over_smtp_and_sms_over_http_with_a_short_secure_link(
    suite, codec, db, channels
):
    emails, sms = channels
    staff = clinic(suite, codec, ("issued", ["email", "sms"]), ("due", ["sms"]))
    holder = account(suite, staff, "+15551230001", "both")
    await issue_and_tick(suite, staff, db, holder, steps=2)

    sent = await notification(db, holder.id, "email", "sent")
    await notification(db, holder.id, "sms", "sent")
    [email] = [m for m in emails if m["Message-ID"] == f"<{sent['notification_id']}@clinicpay>"]
    assert email["To"] == "jordan@example.com" and "Sunny Speech" in email["Subject"]
    assert email["From"] == "billing@sunny.example"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "$150.00" in text and "May 3, 2027" in text
    link = next(word for word in text.split() if "/l/" in word)
    assert link in html
    claims = LinkCodec(EMBEDDED_LINK_SECRET).verify(link.rsplit("/l/", 1)[1])
    assert claims.account_id == holder.id

    [message] = [m for m in sms.sent if m["To"] == "+15551230001"]
    body = message["Body"]
    assert len(body) < 160 and message["From"] == "+15550006000"
    assert "Sunny Speech" in body and "$150.00" in body
    for private in ("Jordan", "Riley", "therapy", "jordan@example.com"):
        assert private not in body
    short = next(word for word in body.split() if "/s/" in word)
    redirect = httpx.get(short, follow_redirects=False)
    assert redirect.status_code == 303
    sms_claims = LinkCodec(EMBEDDED_LINK_SECRET).verify(
        redirect.headers["location"].rsplit("/l/", 1)[1]
    )
    assert sms_claims.account_id == holder.id

    async def both_recorded():
        found = await notification_events(suite.infra.bootstrap_servers, holder.id)
        return found if len(found) >= 2 else None

    events = await eventually(both_recorded, timeout=30)
    assert sorted(json.loads(r.value)["data"]["channel"] for r in events) == ["email", "sms"]
    for record in events:
        assert b"jordan@example.com" not in record.value and b"+1555123" not in record.value
        assert b"Sunny" not in record.value and b"/l/" not in record.value


async def test_failed_sends_are_retried_and_a_permanent_failure_is_shown_to_staff(
    suite, codec, db, channels
):
    _, sms = channels
    staff = clinic(suite, codec, ("issued", ["sms"]))
    flaky, invalid = (
        account(suite, staff, "+15551230002", "sms"),
        account(suite, staff, "+15551230003", "sms"),
    )
    sms.failing["+15551230002"] = 2
    sms.invalid.add("+15551230003")
    await issue_and_tick(suite, staff, db, flaky)
    await issue_and_tick(suite, staff, db, invalid)

    sent = await notification(db, flaky.id, "sms", "sent")
    assert sent["attempts"] == 3
    failed = await notification(db, invalid.id, "sms", "failed")
    assert failed["failure_code"] == "sms_21211"
    shown = staff.get(
        f"{suite.reminders_api.url}/v1/notifications", params={"status": "failed"}
    ).json()
    assert [(n["account_id"], n["failure_code"]) for n in shown] == [(str(invalid.id), "sms_21211")]

    async def failure_published():
        found = await notification_events(suite.infra.bootstrap_servers, invalid.id)
        return found or None

    [event] = await eventually(failure_published, timeout=30)
    document = json.loads(event.value)
    assert document["type"] == "clinicpay.reminders.NotificationFailed.v1"
    assert document["data"]["permanent"] is True


async def test_stop_opts_a_number_out_of_sms_and_start_opts_it_back_in(suite, codec, db, channels):
    _, sms = channels
    staff = clinic(suite, codec, ("issued", ["email", "sms"]))
    holder = account(suite, staff, "+15551230004", "both")
    inbound = f"{suite.reminders_api.url}/v1/sms/inbound"
    stopped = httpx.post(inbound, data={"From": "+15551230004", "Body": " stop "})
    assert stopped.status_code == 200

    await issue_and_tick(suite, staff, db, holder)
    skipped = await notification(db, holder.id, "sms", "skipped")
    assert skipped["failure_code"] == "opted_out"
    await notification(db, holder.id, "email", "sent")
    assert not [m for m in sms.sent if m["To"] == "+15551230004"]

    assert httpx.post(inbound, data={"From": "+15551230004", "Body": "START"}).status_code == 200
    await issue_and_tick(suite, staff, db, holder)

    async def texted():
        return [m for m in sms.sent if m["To"] == "+15551230004"] or None

    assert len(await eventually(texted, timeout=30)) == 1
