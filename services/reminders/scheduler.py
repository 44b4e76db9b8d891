"""The tick: every step due by `now` is settled once - sent as a ReminderDue through the
outbox, or skipped with the reason - in one transaction per batch of subjects.

Subjects are claimed with `FOR UPDATE SKIP LOCKED`, so any number of workers (and
`clinicpay reminders tick`) can run it at once: each subject is settled by exactly one of
them, and a worker killed mid-batch leaves its transaction uncommitted for the next tick.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from uuid import UUID

import asyncpg
import structlog

from contracts import contract_named, make_envelope
from eventbus.topics import REMINDERS
from reminders.directory import InvoicingDirectory
from reminders.intake import next_period, schedule_autopay_period
from reminders.schedule import PlannedStep, latest_due, waits_until
from reminders.store import clinic_profile, enqueue, policy_for, zone_of

log = structlog.get_logger("reminders.scheduler")

REMINDER_DUE = contract_named("reminders", "ReminderDue")
CHARGE_KINDS = frozenset({"installment_due", "scheduled_payment_due", "autopay_charge_due"})

CLAIM = """
SELECT subject_type, subject_id, clinic_id, account_id, closed, currency, total, adjusted,
       paid, due_date, details
FROM reminders.subjects
WHERE (subject_type, subject_id) IN (
    SELECT subject_type, subject_id FROM reminders.schedule
    WHERE status = 'pending' AND due_at <= $1 AND (not_before IS NULL OR not_before <= $1))
ORDER BY subject_type, subject_id
LIMIT $2
FOR UPDATE SKIP LOCKED
"""


async def tick(
    pool: asyncpg.Pool, directory: InvoicingDirectory, now: datetime, batch: int = 50
) -> int:
    """Settles everything due by `now`; returns how many ReminderDue it emitted."""
    emitted = 0
    while True:
        async with pool.acquire() as connection, connection.transaction():
            subjects = await connection.fetch(CLAIM, now, batch)
            for subject in subjects:
                emitted += await settle(connection, directory, subject, now)
        if len(subjects) < batch:
            return emitted


async def settle(connection, directory, subject, now: datetime) -> int:
    rows = await connection.fetch(
        """SELECT kind, step, due_at, reminder_id FROM reminders.schedule
           WHERE subject_type = $1 AND subject_id = $2 AND status = 'pending' AND due_at <= $3
             AND (not_before IS NULL OR not_before <= $3)
           ORDER BY due_at""",
        subject["subject_type"],
        subject["subject_id"],
        now,
    )
    if not rows:
        return 0
    blocked = await why_not(connection, subject)
    if blocked:
        await mark(connection, [r["reminder_id"] for r in rows], "skipped", blocked)
        return 0
    charges = [r for r in rows if r["kind"] in CHARGE_KINDS]
    notices = [r for r in rows if r["kind"] not in CHARGE_KINDS]
    chosen = charges or _collapse(notices, await _sent_up_to(connection, subject))
    skipped = [r["reminder_id"] for r in rows if r not in chosen]
    await mark(connection, skipped, "skipped", "superseded")
    if not charges and chosen and await _outside_hours(connection, directory, subject, chosen, now):
        return 0
    for row in chosen:
        await emit(connection, subject, row, now)
        if row["kind"] == "autopay_charge_due":
            await _next_autopay_week(connection, directory, subject)
    await mark(connection, [r["reminder_id"] for r in chosen], "sent", None)
    return len(chosen)


async def _outside_hours(connection, directory, subject, chosen, now: datetime) -> bool:
    """A notice that a late tick finds due at night waits for the clinic's sending hours."""
    policy = await policy_for(connection, subject["clinic_id"])
    zone = zone_of(await clinic_profile(connection, directory, subject["clinic_id"]))
    opens = waits_until(now, zone, policy.quiet_hours)
    if opens is None:
        return False
    await connection.execute(
        "UPDATE reminders.schedule SET not_before = $2 WHERE reminder_id = ANY($1::uuid[])",
        [r["reminder_id"] for r in chosen],
        opens,
    )
    return True


def _collapse(notices, sent_up_to):
    planned = {PlannedStep(r["step"], r["kind"], r["due_at"]): r for r in notices}
    latest = latest_due(list(planned), sent_up_to)
    return [planned[latest]] if latest else []


async def _sent_up_to(connection, subject) -> datetime | None:
    return await connection.fetchval(
        """SELECT max(due_at) FROM reminders.schedule
           WHERE subject_type = $1 AND subject_id = $2 AND status = 'sent'""",
        subject["subject_type"],
        subject["subject_id"],
    )


async def why_not(connection, subject) -> str | None:
    """Why nothing should go out for this subject now, if anything."""
    if subject["closed"]:
        return subject["closed"]
    if subject["subject_type"] == "autopay_period":
        mandate_id = json.loads(subject["details"])["mandate_id"]
        closed = await connection.fetchval(
            """SELECT closed FROM reminders.subjects
               WHERE subject_type = 'autopay_mandate' AND subject_id = $1""",
            mandate_id,
        )
        return closed
    if subject["subject_type"] != "invoice":
        return None
    owed = amount_due(subject)
    if owed <= 0:
        return "paid"
    if (await policy_for(connection, subject["clinic_id"])).below_floor(owed):
        return "under_floor"
    return None


def amount_due(subject) -> int:
    return (subject["total"] or 0) - subject["adjusted"] - subject["paid"]


async def mark(connection, reminder_ids: list[UUID], status: str, reason: str | None) -> None:
    if reminder_ids:
        await connection.execute(
            """UPDATE reminders.schedule SET status = $2, reason = $3, settled_at = now()
               WHERE reminder_id = ANY($1::uuid[])""",
            reminder_ids,
            status,
            reason,
        )


async def emit(connection, subject, row, now: datetime) -> None:
    data = {
        "reminder_id": str(row["reminder_id"]),
        "kind": row["kind"],
        "step": row["step"],
        "subject_type": subject["subject_type"],
        "subject_id": subject["subject_id"],
        "account_id": str(subject["account_id"]),
        "due_at": row["due_at"].isoformat(),
        **facts_of(subject),
    }
    envelope = make_envelope(
        event_type=REMINDER_DUE.type,
        aggregate_id=row["reminder_id"],
        sequence=1,
        clinic_id=subject["clinic_id"],
        account_id=subject["account_id"],
        data=REMINDER_DUE.model.model_validate(data),
        time=now,
        correlation_id=f"reminder-{row['reminder_id']}",
    )
    await enqueue(connection, REMINDERS, envelope)
    log.info(
        "reminder.due",
        reminder_id=str(row["reminder_id"]),
        kind=row["kind"],
        step=row["step"],
        subject_type=subject["subject_type"],
    )


def facts_of(subject) -> dict:
    details = json.loads(subject["details"])
    kind = subject["subject_type"]
    if kind == "invoice":
        return {
            "invoice_id": subject["subject_id"],
            "amount_due": amount_due(subject),
            "currency": subject["currency"],
            "due_date": subject["due_date"].isoformat(),
        }
    if kind == "plan_installment":
        return {
            "plan_id": details["plan_id"],
            "installment_number": details["installment_number"],
            "amount_due": details["amount"],
            "currency": details["currency"],
            "due_date": subject["due_date"].isoformat(),
        }
    if kind == "scheduled_payment":
        return {
            "payment_id": details["payment_id"],
            "amount_due": details["amount"],
            "currency": details.get("currency"),
            "due_date": subject["due_date"].isoformat(),
        }
    return {"mandate_id": details["mandate_id"], "period_start": details["period_start"]}


async def _next_autopay_week(connection, directory, subject) -> None:
    details = json.loads(subject["details"])
    period = date.fromisoformat(details["period_start"])
    await schedule_autopay_period(
        connection,
        directory,
        subject["clinic_id"],
        subject["account_id"],
        details["mandate_id"],
        next_period(period),
    )
