"""What the reminders tests share: the tick command, the mailbox, the schedule, the topic."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import datetime

from eventbus.topics import REMINDERS
from tests.integration.harness import CLINICPAY, StaffClient, eventually, read_topic
from tests.integration.invoicing_api import draft, issue, open_account


def tick(suite, at: datetime) -> dict:
    """`clinicpay reminders tick --at`: the scheduler as of `at`, as a separate process."""
    done = subprocess.run(
        [CLINICPAY, "reminders", "tick", "--at", at.isoformat()],
        env=suite.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


async def scheduled(db, invoice_id: str, expected: int = 6) -> dict[str, dict]:
    """The invoice's steps, once the worker has learnt of it."""

    async def known():
        rows = await db.fetch(
            """SELECT step, kind, due_at, status, reason FROM reminders.schedule
               WHERE subject_type = 'invoice' AND subject_id = $1""",
            invoice_id,
        )
        return {r["step"]: dict(r) for r in rows} if len(rows) >= expected else None

    return await eventually(known, timeout=30)


def mailbox(suite, staff: StaffClient, account_id) -> list[dict]:
    response = staff.get(
        f"{suite.reminders_api.url}/v1/mailbox", params={"account_id": str(account_id)}
    )
    assert response.status_code == 200, response.text
    return response.json()["messages"]


async def mailbox_eventually(suite, staff, account_id, count: int = 1) -> list[dict]:
    async def arrived():
        messages = mailbox(suite, staff, account_id)
        return messages if len(messages) >= count else None

    return await eventually(arrived, timeout=30)


async def reminders_on_topic(bootstrap_servers: str, subject_id: str) -> list[dict]:
    """Every ReminderDue record on the topic for one subject (repeats included)."""
    found = []
    for record in await read_topic(bootstrap_servers, REMINDERS):
        document = json.loads(record.value)
        if (
            document["type"] == "clinicpay.reminders.ReminderDue.v1"
            and document["data"]["subject_id"] == subject_id
        ):
            found.append(document)
    return found


def issued_for_new_account(suite, staff: StaffClient, amount: int = 15_000, **fields) -> dict:
    account = open_account(suite, staff)
    invoice = issue(suite, staff, draft(suite, staff, account, (1, amount), **fields)["id"])
    return {**invoice, "account": account}


def new_clinic_staff(codec) -> StaffClient:
    return StaffClient(codec, uuid.uuid4(), ["billing", "finance", "admin"])


async def reminders_eventually(bootstrap_servers: str, subject_id: str, count: int) -> list[dict]:
    async def published():
        found = await reminders_on_topic(bootstrap_servers, subject_id)
        return found if len(found) >= count else None

    return await eventually(published, timeout=30)
