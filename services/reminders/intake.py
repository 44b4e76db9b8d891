"""What reminders learns from invoicing's and payments' events: what is owed, by when, and
what has been settled. Each event is applied once (its id in the inbox), in the consumer's
transaction; subject rows are locked in a fixed order before their schedule changes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from uuid import UUID

import asyncpg

from contracts import Envelope
from eventbus.consumer import Delivery
from reminders.directory import InvoicingDirectory
from reminders.notifying import queue_notices
from reminders.planning import plan_invoice, plan_steps
from reminders.schedule import autopay_steps, charge_step
from reminders.store import clinic_profile, first_delivery, policy_for, zone_of

PREFIX = "clinicpay."


def event_name(envelope: Envelope) -> str:
    """`clinicpay.invoicing.InvoiceIssued.v1` -> `InvoiceIssued`."""
    return envelope.type.split(".")[2]


class Intake:
    def __init__(self, directory: InvoicingDirectory) -> None:
        self.directory = directory

    async def project(self, connection: asyncpg.Connection, deliveries: Sequence[Delivery]):
        for delivery in deliveries:
            envelope = delivery.envelope
            handler = getattr(self, f"on_{event_name(envelope)}", None)
            if handler is None or not await first_delivery(connection, envelope.id):
                continue
            await handler(connection, envelope, envelope.data)

    # -- invoices ------------------------------------------------------------------------

    async def on_InvoiceIssued(self, connection, envelope: Envelope, data: dict) -> None:
        invoice_id = data["invoice_id"]
        await upsert_subject(connection, "invoice", invoice_id, envelope)
        await connection.execute(
            """UPDATE reminders.subjects SET total = $2, currency = $3, due_date = $4,
                   issued_at = $5, updated_at = now()
               WHERE subject_type = 'invoice' AND subject_id = $1""",
            invoice_id,
            data["total_amount"],
            data["currency"],
            date.fromisoformat(data["due_date"]),
            envelope.time,
        )
        policy = await policy_for(connection, envelope.clinic_id)
        zone = zone_of(await clinic_profile(connection, self.directory, envelope.clinic_id))
        await plan_invoice(
            connection,
            invoice_id,
            envelope.clinic_id,
            envelope.account_id,
            policy,
            zone,
            envelope.time,
            date.fromisoformat(data["due_date"]),
        )

    async def on_InvoiceAdjusted(self, connection, envelope: Envelope, data: dict) -> None:
        await upsert_subject(connection, "invoice", data["invoice_id"], envelope)
        await add_to(connection, data["invoice_id"], "adjusted", data["amount"])

    async def on_InvoiceVoided(self, connection, envelope: Envelope, data: dict) -> None:
        await close(connection, "invoice", data["invoice_id"], envelope, "voided")

    async def on_InvoiceWrittenOff(self, connection, envelope: Envelope, data: dict) -> None:
        await close(connection, "invoice", data["invoice_id"], envelope, "written_off")

    # -- payments ------------------------------------------------------------------------

    async def on_PaymentCaptured(self, connection, envelope: Envelope, data: dict) -> None:
        for allocation in sorted(data.get("allocations", []), key=lambda a: a["invoice_id"]):
            await upsert_subject(connection, "invoice", allocation["invoice_id"], envelope)
            await add_to(connection, allocation["invoice_id"], "paid", allocation["amount"])
        await close(connection, "scheduled_payment", data["payment_id"], envelope, "charged")
        if data.get("plan_id") and data.get("installment_number"):
            subject = f"{data['plan_id']}:{data['installment_number']}"
            await close(connection, "plan_installment", subject, envelope, "paid")
        if data.get("mandate_id") or data.get("plan_id"):
            await queue_notices(
                connection,
                envelope,
                kind="payment_receipt",
                subject_type="payment",
                subject_id=data["payment_id"],
                facts={
                    "amount": data["amount"],
                    "currency": data["currency"],
                    "on": data["captured_at"],
                },
                channels=("email", "sms"),
                source_id=envelope.id,
            )

    async def on_PaymentFailed(self, connection, envelope: Envelope, data: dict) -> None:
        await close(connection, "scheduled_payment", data["payment_id"], envelope, "failed")
        if data.get("mandate_id"):
            await queue_notices(
                connection,
                envelope,
                kind="payment_failed",
                subject_type="payment",
                subject_id=data["payment_id"],
                facts={"amount": data["amount"], "currency": data["currency"]},
                channels=("email",),
                source_id=envelope.id,
            )

    async def on_PaymentRefunded(self, connection, envelope: Envelope, data: dict) -> None:
        for allocation in sorted(data.get("allocations", []), key=lambda a: a["invoice_id"]):
            await upsert_subject(connection, "invoice", allocation["invoice_id"], envelope)
            await add_to(connection, allocation["invoice_id"], "paid", -allocation["amount"])

    async def on_PaymentScheduled(self, connection, envelope: Envelope, data: dict) -> None:
        day = date.fromisoformat(data["scheduled_for"])
        details = {
            "payment_id": data["payment_id"],
            "amount": data["amount"],
            "currency": data["currency"],
        }
        await self._plan_charge(
            connection,
            envelope,
            "scheduled_payment",
            data["payment_id"],
            day,
            details,
            "scheduled_payment_due",
        )

    async def on_PaymentPlanCreated(self, connection, envelope: Envelope, data: dict) -> None:
        for installment in data["installments"]:
            number = installment["number"]
            details = {
                "plan_id": data["plan_id"],
                "installment_number": number,
                "amount": installment["amount"],
                "currency": data["currency"],
            }
            await self._plan_charge(
                connection,
                envelope,
                "plan_installment",
                f"{data['plan_id']}:{number}",
                date.fromisoformat(installment["due_date"]),
                details,
                "installment_due",
            )

    async def on_PaymentPlanCanceled(self, connection, envelope: Envelope, data: dict) -> None:
        await close_plan(connection, data["plan_id"], "plan_canceled")

    async def on_PaymentPlanCompleted(self, connection, envelope: Envelope, data: dict) -> None:
        await close_plan(connection, data["plan_id"], "plan_completed")

    async def on_AutopayEnabled(self, connection, envelope: Envelope, data: dict) -> None:
        mandate_id = data["mandate_id"]
        await upsert_subject(connection, "autopay_mandate", mandate_id, envelope)
        await schedule_autopay_period(
            connection,
            self.directory,
            envelope.clinic_id,
            envelope.account_id,
            mandate_id,
            date.fromisoformat(data["first_charge_on"]),
        )

    async def on_AutopayDisabled(self, connection, envelope: Envelope, data: dict) -> None:
        mandate_id = data["mandate_id"]
        await close(connection, "autopay_mandate", mandate_id, envelope, "disabled")
        await connection.execute(
            """UPDATE reminders.subjects SET closed = 'autopay_disabled', updated_at = now()
               WHERE subject_type = 'autopay_period' AND subject_id LIKE $1 || ':%'
                 AND closed IS NULL""",
            mandate_id,
        )

    async def on_ReminderDue(self, connection, envelope: Envelope, data: dict) -> None:
        if data["kind"] in ("installment_due", "scheduled_payment_due", "autopay_charge_due"):
            return  # payments charges these; the receipt is the family's notice
        channels = ("email", "sms")
        if data["subject_type"] == "invoice":
            policy = await policy_for(connection, envelope.clinic_id)
            step = policy.step(data["step"])
            channels = step.channels if step else ("email",)
        await queue_notices(
            connection,
            envelope,
            kind=data["kind"],
            subject_type=data["subject_type"],
            subject_id=data["subject_id"],
            facts={
                k: data[k]
                for k in ("amount_due", "currency", "invoice_id", "due_date", "period_start")
                if k in data
            },
            channels=channels,
            source_id=UUID(data["reminder_id"]),
            reminder_id=UUID(data["reminder_id"]),
        )

    async def _plan_charge(
        self, connection, envelope, subject_type, subject_id, day, details, kind
    ) -> None:
        await upsert_subject(connection, subject_type, subject_id, envelope, details)
        await connection.execute(
            """UPDATE reminders.subjects SET due_date = $3
               WHERE subject_type = $1 AND subject_id = $2""",
            subject_type,
            subject_id,
            day,
        )
        quiet = (await policy_for(connection, envelope.clinic_id)).quiet_hours
        zone = zone_of(await clinic_profile(connection, self.directory, envelope.clinic_id))
        await plan_steps(
            connection,
            subject_type,
            subject_id,
            envelope.clinic_id,
            envelope.account_id,
            [charge_step(kind, day, zone, quiet)],
        )


async def schedule_autopay_period(
    connection, directory, clinic_id: UUID, account_id: UUID, mandate_id: str, period: date
) -> None:
    subject_id = f"{mandate_id}:{period.isoformat()}"
    details = {"mandate_id": mandate_id, "period_start": period.isoformat()}
    await connection.execute(
        """INSERT INTO reminders.subjects
               (subject_type, subject_id, clinic_id, account_id, due_date, details)
           VALUES ('autopay_period', $1, $2, $3, $4, $5::jsonb)
           ON CONFLICT DO NOTHING""",
        subject_id,
        clinic_id,
        account_id,
        period,
        json.dumps(details),
    )
    quiet = (await policy_for(connection, clinic_id)).quiet_hours
    zone = zone_of(await clinic_profile(connection, directory, clinic_id))
    await plan_steps(
        connection,
        "autopay_period",
        subject_id,
        clinic_id,
        account_id,
        autopay_steps(period, zone, quiet),
    )


def next_period(period: date) -> date:
    return period + timedelta(days=7)


async def upsert_subject(
    connection, subject_type: str, subject_id: str, envelope: Envelope, details=None
) -> None:
    """Creates the subject if this is the first we hear of it, and locks its row."""
    await connection.execute(
        """INSERT INTO reminders.subjects (subject_type, subject_id, clinic_id, account_id, details)
           VALUES ($1, $2, $3, $4, $5::jsonb)
           ON CONFLICT (subject_type, subject_id) DO UPDATE SET updated_at = now()""",
        subject_type,
        subject_id,
        envelope.clinic_id,
        envelope.account_id,
        json.dumps(details or {}),
    )


async def add_to(connection, invoice_id: str, column: str, amount: int) -> None:
    assert column in ("adjusted", "paid")
    await connection.execute(
        f"""UPDATE reminders.subjects SET {column} = {column} + $2, updated_at = now()
            WHERE subject_type = 'invoice' AND subject_id = $1""",
        invoice_id,
        amount,
    )


async def close(connection, subject_type: str, subject_id: str, envelope, reason: str) -> None:
    if subject_type in ("invoice", "autopay_mandate"):
        await upsert_subject(connection, subject_type, subject_id, envelope)
    await connection.execute(
        """UPDATE reminders.subjects SET closed = COALESCE(closed, $3), updated_at = now()
           WHERE subject_type = $1 AND subject_id = $2""",
        subject_type,
        subject_id,
        reason,
    )


async def close_plan(connection, plan_id: str, reason: str) -> None:
    await connection.execute(
        """UPDATE reminders.subjects SET closed = COALESCE(closed, $2), updated_at = now()
           WHERE subject_type = 'plan_installment' AND subject_id LIKE $1 || ':%'""",
        plan_id,
        reason,
    )
