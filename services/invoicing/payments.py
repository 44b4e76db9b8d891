"""What the payments service reports, applied to the invoices it allocates money to.

Each PaymentCaptured / PaymentRefunded allocation becomes a fact on its invoice, keyed by
the event's id, so a redelivered or republished event changes nothing. Status follows from
the sums, so captures and refunds may arrive in any order. The consumer's position is
recorded in the same transaction as those facts.

An allocation to an invoice this clinic does not have (or in another currency) cannot be
applied: the consumer sends the event to the dead-letter topic with the reason, applies the
allocations it can, and moves on. Replaying the event once the cause is fixed applies the
rest; the ones already applied are skipped by their key.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import RecordConflictError, Tracking

from contracts import Envelope
from invoicing.application import CONFLICT_RETRIES, Invoicing
from invoicing.domain import Invoice
from invoicing.errors import ConcurrentUpdate

CAPTURED = "clinicpay.payments.PaymentCaptured.v1"
REFUNDED = "clinicpay.payments.PaymentRefunded.v1"


@dataclass(frozen=True)
class Unapplied:
    invoice_id: UUID
    reason: str


def amounts_by_invoice(envelope: Envelope) -> dict[UUID, int]:
    """The event's allocations, one amount per invoice (repeated invoices are summed)."""
    if envelope.type not in (CAPTURED, REFUNDED):
        return {}
    totals: dict[UUID, int] = defaultdict(int)
    for allocation in envelope.model().allocations:
        totals[allocation.invoice_id] += allocation.amount
    return dict(totals)


class PaymentAllocations:
    def __init__(self, app: Invoicing) -> None:
        self.app = app

    def unapplicable(self, envelope: Envelope) -> list[Unapplied]:
        """The allocations of `envelope` that no invoice of its clinic can take."""
        currency = envelope.data.get("currency")
        problems = []
        for invoice_id in amounts_by_invoice(envelope):
            invoice = self.app.find_invoice(envelope.clinic_id, invoice_id)
            if invoice is None:
                problems.append(Unapplied(invoice_id, "unknown-invoice"))
            elif invoice.currency != currency:
                problems.append(Unapplied(invoice_id, "currency-mismatch"))
        return problems

    def apply(self, envelope: Envelope, tracking: Tracking) -> bool:
        """Records the event's effect on its invoices with `tracking`; False when that
        position was recorded before (the event was already processed)."""
        for _ in range(CONFLICT_RETRIES):
            if self.app.recorder.has_tracking_id(
                tracking.application_name, tracking.notification_id
            ):
                return False
            try:
                self.app.save_processed(tracking, *self._changed_invoices(envelope))
                return True
            except RecordConflictError:
                continue  # an invoice changed under us, or another replica took this position
        if self.app.recorder.has_tracking_id(tracking.application_name, tracking.notification_id):
            return False
        raise ConcurrentUpdate(f"could not apply event {envelope.id}")

    def _changed_invoices(self, envelope: Envelope) -> list[Invoice]:
        data: Any = envelope.model() if envelope.type in (CAPTURED, REFUNDED) else None
        changed = []
        for invoice_id, amount in amounts_by_invoice(envelope).items():
            invoice = self.app.find_invoice(envelope.clinic_id, invoice_id)
            if invoice is None or invoice.currency != data.currency:
                continue
            if envelope.type == CAPTURED:
                invoice.receive_payment(
                    payment_event_id=str(envelope.id), payment_id=data.payment_id, amount=amount
                )
            else:
                invoice.receive_refund(
                    payment_event_id=str(envelope.id), refund_id=data.refund_id, amount=amount
                )
            changed.append(invoice)
        return changed
