"""The read model of invoicing's events: what each invoice of an account still owes.

Runs inside the consumer's transaction (effects and offsets commit together); the inbox makes
a redelivered event a no-op. Amounts come from each event's own figures, never from
invoicing's view of payments: payments counts its own allocations (`allocated`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import asyncpg

from contracts import Envelope

Params = Callable[[Envelope], tuple[Any, ...]]


def _issued(e: Envelope) -> tuple[Any, ...]:
    d = e.data
    return (
        uuid.UUID(d["invoice_id"]),
        e.clinic_id,
        e.account_id,
        d["currency"],
        date.fromisoformat(d["issued_on"]),
        date.fromisoformat(d["due_date"]),
        e.time,
        d["total_amount"],
    )


def _amount(e: Envelope) -> tuple[Any, ...]:
    return (uuid.UUID(e.data["invoice_id"]), e.data["amount"])


def _invoice(e: Envelope) -> tuple[Any, ...]:
    return (uuid.UUID(e.data["invoice_id"]),)


PROJECTIONS: dict[str, tuple[str, Params]] = {
    "clinicpay.invoicing.InvoiceIssued.v1": (
        """INSERT INTO {schema}.invoices (invoice_id, clinic_id, account_id, currency, issued_on,
               due_date, issued_at, total_amount)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (invoice_id) DO NOTHING""",
        _issued,
    ),
    "clinicpay.invoicing.InvoiceAdjusted.v1": (
        "UPDATE {schema}.invoices SET adjusted_amount = adjusted_amount + $2 WHERE invoice_id = $1",
        _amount,
    ),
    "clinicpay.invoicing.InvoiceWrittenOff.v1": (
        """UPDATE {schema}.invoices SET written_off_amount = written_off_amount + $2
           WHERE invoice_id = $1""",
        _amount,
    ),
    "clinicpay.invoicing.InvoiceVoided.v1": (
        "UPDATE {schema}.invoices SET voided = true WHERE invoice_id = $1",
        _invoice,
    ),
}


async def first_delivery(connection: asyncpg.Connection, schema: str, envelope: Envelope) -> bool:
    inserted = await connection.fetchval(
        f"""INSERT INTO {schema}.inbox (event_id, event_type) VALUES ($1, $2)
            ON CONFLICT (event_id) DO NOTHING RETURNING true""",
        envelope.id,
        envelope.type,
    )
    return bool(inserted)


async def project_invoice_event(
    connection: asyncpg.Connection, schema: str, envelope: Envelope
) -> None:
    projection = PROJECTIONS.get(envelope.type)
    if projection is not None:
        statement, params = projection
        await connection.execute(statement.format(schema=schema), *params(envelope))
