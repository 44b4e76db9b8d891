"""Double-entry posting rules: which ledger accounts each contract event debits and credits.

Amounts are integer minor units; a debit is positive, a credit negative, and every journal
entry sums to zero. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from contracts import Envelope


class LedgerAccount(StrEnum):
    RECEIVABLE = "patient_receivable"
    SERVICE_REVENUE = "service_revenue"
    REVENUE_ADJUSTMENTS = "revenue_adjustments"
    PROCESSOR_CLEARING = "processor_clearing"
    BAD_DEBT_EXPENSE = "bad_debt_expense"


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Posting:
    ledger_account: LedgerAccount
    amount: int
    account_id: UUID | None = None
    invoice_id: UUID | None = None


@dataclass(frozen=True)
class JournalEntry:
    event_id: UUID
    event_type: str
    clinic_id: UUID
    account_id: UUID
    currency: str
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if sum(p.amount for p in self.postings) != 0:
            raise UnbalancedEntry(f"{self.event_type} {self.event_id} does not balance")

    def receivable_change(self) -> int:
        return sum(p.amount for p in self.postings if p.ledger_account is LedgerAccount.RECEIVABLE)


def _entry(envelope: Envelope, currency: str, *postings: Posting) -> JournalEntry:
    return JournalEntry(
        event_id=envelope.id,
        event_type=envelope.type,
        clinic_id=envelope.clinic_id,
        account_id=envelope.account_id,
        currency=currency,
        postings=tuple(p for p in postings if p.amount != 0),
    )


def _invoice_issued(envelope: Envelope) -> JournalEntry:
    data = envelope.model()
    return _entry(
        envelope,
        data.currency,
        Posting(LedgerAccount.RECEIVABLE, data.total_amount, data.account_id, data.invoice_id),
        Posting(LedgerAccount.SERVICE_REVENUE, -data.total_amount, invoice_id=data.invoice_id),
    )


def _payment_captured(envelope: Envelope) -> JournalEntry:
    data = envelope.model()
    receivable = [
        Posting(LedgerAccount.RECEIVABLE, -a.amount, data.account_id, a.invoice_id)
        for a in data.allocations
    ]
    credit = Posting(LedgerAccount.RECEIVABLE, -data.unallocated_amount, data.account_id)
    return _entry(
        envelope,
        data.currency,
        Posting(LedgerAccount.PROCESSOR_CLEARING, data.amount),
        *receivable,
        credit,
    )


RULES = {
    "clinicpay.invoicing.InvoiceIssued.v1": _invoice_issued,
    "clinicpay.payments.PaymentCaptured.v1": _payment_captured,
}


def journal_entry_for(envelope: Envelope) -> JournalEntry | None:
    """The entry an event posts, or None for events that move no money."""
    rule = RULES.get(envelope.type)
    return rule(envelope) if rule else None
