"""Maps invoicing's recorded domain events to the contract events it publishes.

Internal events (a draft, an edit of a draft) never travel; each published contract is
built from the invoice as it stood at the version that produced it.
"""

from __future__ import annotations

from typing import Any

from contracts import Envelope, contract_named, make_envelope
from invoicing.application import Invoicing
from invoicing.domain import Invoice
from telemetry import Trace, new_correlation_id

INVOICE_ISSUED = contract_named("invoicing", "InvoiceIssued")


class InvoiceContracts:
    def __init__(self, app: Invoicing) -> None:
        self.app = app

    def __call__(self, event: Any, trace: Trace | None) -> Envelope | None:
        if isinstance(event, Invoice.Issued):
            invoice = self.app.repository.get(event.originator_id, version=event.originator_version)
            return _envelope(INVOICE_ISSUED.type, invoice, event, trace, _issued(invoice))
        return None


def _issued(invoice: Invoice) -> Any:
    return INVOICE_ISSUED.model.model_validate(
        {
            "invoice_id": invoice.id,
            "account_id": invoice.account_id,
            "patient_id": invoice.patient_id,
            "currency": invoice.currency,
            "total_amount": invoice.total_amount,
            "issued_on": invoice.issued_on,
            "due_date": invoice.due_date,
            "lines": [
                {
                    "service_date": line.service_date,
                    "quantity": line.quantity,
                    "unit_amount": line.unit_amount,
                    "amount": line.amount,
                }
                for line in invoice.lines
            ],
        }
    )


def _envelope(
    event_type: str, invoice: Invoice, event: Any, trace: Trace | None, data: Any
) -> Envelope:
    return make_envelope(
        event_type=event_type,
        aggregate_id=invoice.id,
        sequence=event.originator_version,
        clinic_id=invoice.clinic_id,
        account_id=invoice.account_id,
        data=data,
        time=event.timestamp,
        correlation_id=trace.correlation_id if trace else new_correlation_id(),
        causation_id=trace.causation_id if trace else None,
    )
