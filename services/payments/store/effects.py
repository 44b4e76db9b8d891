"""The index rows each change writes, as statements for the recorder (see recorder.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from payments.domain.allocation import Allocation
from payments.domain.mandate import AutopayMandate
from payments.domain.method import PaymentMethod
from payments.domain.payment import Payment
from payments.domain.plan import PaymentPlan, PlanStatus
from payments.store.recorder import Statement


def allocation(payment: Payment, entry_id: UUID, seq: int, allocated: Allocation, sign: int):
    """A capture (sign +1) or refund (-1): claim the account's next seq, move invoice totals."""
    statements = [
        Statement(
            """INSERT INTO {schema}.allocation_entries
                   (entry_id, clinic_id, account_id, seq, currency, payment_id, unallocated)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (
                entry_id,
                payment.clinic_id,
                payment.account_id,
                seq,
                payment.currency,
                payment.id,
                sign * allocated.unallocated,
            ),
        )
    ]
    statements += [
        Statement(
            "UPDATE {schema}.invoices SET allocated = allocated + %s WHERE invoice_id = %s",
            (sign * line.amount, line.invoice_id),
        )
        for line in allocated.lines
    ]
    return statements


def payment_record(payment: Payment) -> Statement:
    settled_at = payment.captured_at or payment.failed_at
    return Statement(
        """INSERT INTO {schema}.payment_records (payment_id, clinic_id, account_id, method_id,
               amount, currency, status, intent_id, requested_at, settled_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (payment_id) DO UPDATE SET status = EXCLUDED.status,
               intent_id = EXCLUDED.intent_id, settled_at = EXCLUDED.settled_at""",
        (
            payment.id,
            payment.clinic_id,
            payment.account_id,
            payment.method_id,
            payment.amount,
            payment.currency,
            payment.status.value,
            payment.intent_id,
            payment.requested_at,
            settled_at,
        ),
    )


def refund_record(payment: Payment, refund_id: UUID) -> Statement:
    refund = payment.refunds[refund_id]
    return Statement(
        """INSERT INTO {schema}.refund_records (refund_id, payment_id, amount, status,
               gateway_refund_id, requested_at, settled_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (refund_id) DO UPDATE SET status = EXCLUDED.status,
               gateway_refund_id = EXCLUDED.gateway_refund_id, settled_at = EXCLUDED.settled_at""",
        (
            refund_id,
            payment.id,
            refund["amount"],
            refund["status"].value,
            refund["gateway_refund_id"],
            refund["requested_at"],
            refund["settled_at"],
        ),
    )


def payment_method(method: PaymentMethod) -> Statement:
    return Statement(
        """INSERT INTO {schema}.payment_methods (method_id, clinic_id, account_id, gateway,
               gateway_customer_id, brand, last4, exp_month, exp_year, is_default, removed,
               saved_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (method_id) DO UPDATE SET is_default = EXCLUDED.is_default,
               removed = EXCLUDED.removed""",
        (
            method.id,
            method.clinic_id,
            method.account_id,
            method.gateway,
            method.gateway_customer_id,
            method.brand,
            method.last4,
            method.exp_month,
            method.exp_year,
            method.is_default,
            method.is_removed,
            method.saved_at,
        ),
    )


def plan(plan: PaymentPlan) -> list[Statement]:
    active = plan.status is PlanStatus.ACTIVE
    statements = [
        Statement(
            """INSERT INTO {schema}.plans (plan_id, clinic_id, account_id, method_id, status)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (plan_id) DO UPDATE SET status = EXCLUDED.status""",
            (plan.id, plan.clinic_id, plan.account_id, plan.method_id, plan.status.value),
        )
    ]
    statements += [
        Statement(
            """INSERT INTO {schema}.plan_invoices (invoice_id, plan_id, active) VALUES (%s, %s, %s)
               ON CONFLICT (invoice_id, plan_id) DO UPDATE SET active = EXCLUDED.active""",
            (invoice_id, plan.id, active),
        )
        for invoice_id in plan.invoice_ids
    ]
    if not active:
        statements.append(
            Statement(
                "DELETE FROM {schema}.work_queue WHERE kind = 'plan_retry' AND subject = %s",
                (plan.id,),
            )
        )
    return statements


def mandate(mandate: AutopayMandate) -> Statement:
    return Statement(
        """INSERT INTO {schema}.mandates (mandate_id, clinic_id, account_id, method_id, enabled)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (mandate_id) DO UPDATE SET enabled = EXCLUDED.enabled""",
        (mandate.id, mandate.clinic_id, mandate.account_id, mandate.method_id, mandate.is_enabled),
    )


def schedule_work(kind: str, subject: UUID, due_at: datetime, detail: str = "") -> Statement:
    return Statement(
        """INSERT INTO {schema}.work_queue (kind, subject, detail, due_at) VALUES (%s, %s, %s, %s)
           ON CONFLICT (kind, subject, detail) DO UPDATE SET due_at = EXCLUDED.due_at, tries = 0""",
        (kind, subject, detail, due_at),
    )


def work_done(kind: str, subject: UUID, detail: str = "") -> Statement:
    return Statement(
        "DELETE FROM {schema}.work_queue WHERE kind = %s AND subject = %s AND detail = %s",
        (kind, subject, detail),
    )
