"""Maps invoicing's recorded domain events to the contract events it publishes.

Internal events (a draft, an edit of a draft, accounts, clinic settings, payments learned
from the payments service) never travel; each published contract is built from the
invoice as it stood at the version that produced it, and carries ids, amounts, dates and
codes only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts import Envelope, contract_named, make_envelope
from invoicing.application import Invoicing
from invoicing.domain import Invoice
from invoicing.invoice_states import InvoiceStates
from telemetry import Trace, new_correlation_id

INVOICE_ISSUED = contract_named("invoicing", "InvoiceIssued")
INVOICE_ADJUSTED = contract_named("invoicing", "InvoiceAdjusted")
INVOICE_VOIDED = contract_named("invoicing", "InvoiceVoided")
INVOICE_WRITTEN_OFF = contract_named("invoicing", "InvoiceWrittenOff")


def _issued(invoice: Invoice, event: Any) -> dict[str, Any]:
    return {
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "patient_id": invoice.patient_id,
        "invoice_number": invoice.number,
        "currency": invoice.currency,
        "total_amount": invoice.total_amount,
        "issued_on": invoice.issued_on,
        "due_date": invoice.due_date,
        "lines": [
            {
                "code": line.code,
                "service_date": line.service_date,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "amount": line.amount,
            }
            for line in invoice.lines
        ],
    }


def _adjusted(invoice: Invoice, event: Any) -> dict[str, Any]:
    return {
        "adjustment_id": event.id,
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "currency": invoice.currency,
        "amount": event.amount,
        "adjusted_on": event.adjusted_on,
        "amount_due": invoice.amount_due,
    }


def _voided(invoice: Invoice, event: Any) -> dict[str, Any] | None:
    if invoice.issued_on is None:  # a discarded draft was never owed: nothing to reverse
        return None
    return {
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "currency": invoice.currency,
        "voided_amount": event.voided_amount,
        "voided_on": event.voided_on,
    }


def _written_off(invoice: Invoice, event: Any) -> dict[str, Any]:
    return {
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "currency": invoice.currency,
        "amount": event.amount,
        "written_off_on": event.written_off_on,
    }


Mapping = tuple[Any, Callable[[Invoice, Any], dict[str, Any] | None]]
PUBLISHED: dict[type, Mapping] = {
    Invoice.Issued: (INVOICE_ISSUED, _issued),
    Invoice.Adjusted: (INVOICE_ADJUSTED, _adjusted),
    Invoice.Voided: (INVOICE_VOIDED, _voided),
    Invoice.WrittenOff: (INVOICE_WRITTEN_OFF, _written_off),
}


class InvoiceContracts:
    """Called with every recorded event, in order (the relay's notification log)."""

    def __init__(self, app: Invoicing) -> None:
        self.states = InvoiceStates(app.repository)

    def __call__(self, event: Any, trace: Trace | None) -> Envelope | None:
        if not isinstance(event, Invoice.Event):
            return None
        invoice = self.states.after(event)
        mapping = PUBLISHED.get(type(event))
        if mapping is None:
            return None
        contract, body_of = mapping
        body = body_of(invoice, event)
        if body is None:
            return None
        return make_envelope(
            event_type=contract.type,
            aggregate_id=invoice.id,
            sequence=event.originator_version,
            clinic_id=invoice.clinic_id,
            account_id=invoice.account_id,
            data=contract.model.model_validate(body),
            time=event.timestamp,
            correlation_id=trace.correlation_id if trace else new_correlation_id(),
            causation_id=trace.causation_id if trace else None,
        )
