"""Writing a subject and its steps into the durable schedule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from reminders.policy import ReminderPolicy
from reminders.schedule import PlannedStep, invoice_steps, reminder_id


async def plan_steps(
    connection: asyncpg.Connection,
    subject_type: str,
    subject_id: str,
    clinic_id: UUID,
    account_id: UUID,
    steps: Iterable[PlannedStep],
) -> None:
    """Adds the steps not yet known; a step already sent or skipped keeps its row."""
    await connection.executemany(
        """INSERT INTO reminders.schedule
               (subject_type, subject_id, kind, step, clinic_id, account_id, due_at, reminder_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (subject_type, subject_id, kind, step) DO NOTHING""",
        [
            (
                subject_type,
                subject_id,
                s.kind,
                s.step,
                clinic_id,
                account_id,
                s.due_at,
                reminder_id(subject_type, subject_id, s.kind, s.step),
            )
            for s in steps
        ],
    )


async def plan_invoice(
    connection: asyncpg.Connection,
    invoice_id: str,
    clinic_id: UUID,
    account_id: UUID,
    policy: ReminderPolicy,
    zone: ZoneInfo,
    issued_at: datetime,
    due_date: date,
) -> None:
    steps = invoice_steps(policy, zone, issued_at, due_date)
    await plan_steps(connection, "invoice", invoice_id, clinic_id, account_id, steps)


async def replan_clinic_invoices(
    connection: asyncpg.Connection, clinic_id: UUID, policy: ReminderPolicy, zone: ZoneInfo
) -> int:
    """A policy change applies to the steps not yet sent of every open invoice."""
    invoices = await connection.fetch(
        """SELECT subject_id, account_id, issued_at, due_date FROM reminders.subjects
           WHERE clinic_id = $1 AND subject_type = 'invoice' AND closed IS NULL
             AND issued_at IS NOT NULL
           ORDER BY subject_id FOR UPDATE""",
        clinic_id,
    )
    for invoice in invoices:
        await connection.execute(
            """DELETE FROM reminders.schedule WHERE subject_type = 'invoice'
               AND subject_id = $1 AND status = 'pending'""",
            invoice["subject_id"],
        )
        await plan_invoice(
            connection,
            invoice["subject_id"],
            clinic_id,
            invoice["account_id"],
            policy,
            zone,
            invoice["issued_at"],
            invoice["due_date"],
        )
    return len(invoices)
