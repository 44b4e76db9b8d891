"""Double-entry posting rules: which ledger accounts each contract event debits and credits.

Amounts are integer minor units; a debit is positive, a credit negative, and every journal
entry sums to zero. The rules read the event's data as decoded (already validated against
its schema by the consumer). No I/O here.

| event             | debit                          | credit                          |
|-------------------|--------------------------------|---------------------------------|
| InvoiceIssued     | patient receivable             | service revenue                 |
| InvoiceAdjusted   | revenue adjustments            | patient receivable              |
| InvoiceVoided     | service revenue                | patient receivable (remaining)  |
| InvoiceWrittenOff | bad-debt expense               | patient receivable              |
| PaymentCaptured   | processor clearing             | patient receivable (allocated + credit) |
| PaymentRefunded   | patient receivable (reopened + credit) | processor clearing      |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from contracts import Envelope


class LedgerAccount(StrEnum):
    RECEIVABLE = "patient_receivable"
    SERVICE_REVENUE = "service_revenue"
    REVENUE_ADJUSTMENTS = "revenue_adjustments"
    PROCESSOR_CLEARING = "processor_clearing"
    BAD_DEBT_EXPENSE = "bad_debt_expense"


class UnpostableEvent(ValueError):
    """A well-formed event whose money does not add up; it goes to the dead-letter topic."""


class UnbalancedEntry(UnpostableEvent):
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
    posted_on: date | None = None
    occurred_at: datetime | None = None
    description: str = ""
    invoice_id: UUID | None = None
    payment_id: UUID | None = None
    due_date: date | None = None

    def __post_init__(self) -> None:
        if sum(p.amount for p in self.postings) != 0:
            raise UnbalancedEntry(f"{self.event_type} {self.event_id} does not balance")

    def receivable_change(self) -> int:
        return sum(p.amount for p in self.postings if p.ledger_account is LedgerAccount.RECEIVABLE)

    def invoice_changes(self) -> dict[UUID, int]:
        changes: dict[UUID, int] = {}
        for p in self.postings:
            if p.ledger_account is LedgerAccount.RECEIVABLE and p.invoice_id is not None:
                changes[p.invoice_id] = changes.get(p.invoice_id, 0) + p.amount
        return changes


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


def _entry(
    envelope: Envelope,
    data: dict[str, Any],
    posted_on: date,
    description: str,
    *postings: Posting,
    invoice_id: UUID | None = None,
    payment_id: UUID | None = None,
    due_date: date | None = None,
) -> JournalEntry:
    if UUID(data["account_id"]) != envelope.account_id:
        raise UnpostableEvent(f"{envelope.type} {envelope.id}: data and envelope name two accounts")
    return JournalEntry(
        event_id=envelope.id,
        event_type=envelope.type,
        clinic_id=envelope.clinic_id,
        account_id=envelope.account_id,
        currency=data["currency"],
        postings=tuple(p for p in postings if p.amount != 0),
        posted_on=posted_on,
        occurred_at=envelope.time,
        description=description,
        invoice_id=invoice_id,
        payment_id=payment_id,
        due_date=due_date,
    )


_R = LedgerAccount.RECEIVABLE


def _invoice_rule(
    debit: LedgerAccount, credit: LedgerAccount, amount_field: str, date_field: str, what: str
) -> Callable[[Envelope], JournalEntry]:
    """Rules of the invoicing events: one amount moved between two accounts for one invoice."""

    def rule(envelope: Envelope) -> JournalEntry:
        data = envelope.data
        invoice_id, account_id = UUID(data["invoice_id"]), envelope.account_id
        amount = data[amount_field]
        number = data.get("invoice_number")
        on_receivable = {"account_id": account_id, "invoice_id": invoice_id}
        on_other = {"invoice_id": invoice_id}
        return _entry(
            envelope,
            data,
            date.fromisoformat(data[date_field]),
            f"Invoice {number} {what}" if number else f"Invoice {what}",
            Posting(debit, amount, **(on_receivable if debit is _R else on_other)),
            Posting(credit, -amount, **(on_receivable if credit is _R else on_other)),
            invoice_id=invoice_id,
            due_date=date.fromisoformat(data["due_date"]) if "due_date" in data else None,
        )

    return rule


def _allocated(data: dict[str, Any]) -> list[tuple[UUID, int]]:
    allocations = [(UUID(a["invoice_id"]), a["amount"]) for a in data["allocations"]]
    if sum(a for _, a in allocations) + data["unallocated_amount"] != data["amount"]:
        raise UnbalancedEntry(
            f"allocations and unallocated_amount do not add up to the amount ({data['amount']})"
        )
    return allocations


def _single_invoice(allocations: list[tuple[UUID, int]]) -> UUID | None:
    return allocations[0][0] if len(allocations) == 1 else None


def _payment_captured(envelope: Envelope) -> JournalEntry:
    data = envelope.data
    allocations = _allocated(data)
    account_id = envelope.account_id
    return _entry(
        envelope,
        data,
        datetime.fromisoformat(data["captured_at"].replace("Z", "+00:00")).date(),
        "Payment received",
        Posting(LedgerAccount.PROCESSOR_CLEARING, data["amount"]),
        *(Posting(_R, -amount, account_id, invoice) for invoice, amount in allocations),
        Posting(_R, -data["unallocated_amount"], account_id),
        invoice_id=_single_invoice(allocations),
        payment_id=UUID(data["payment_id"]),
    )


def _payment_refunded(envelope: Envelope) -> JournalEntry:
    data = envelope.data
    allocations = _allocated(data)
    account_id = envelope.account_id
    return _entry(
        envelope,
        data,
        datetime.fromisoformat(data["refunded_at"].replace("Z", "+00:00")).date(),
        "Payment refunded",
        *(Posting(_R, amount, account_id, invoice) for invoice, amount in allocations),
        Posting(_R, data["unallocated_amount"], account_id),
        Posting(LedgerAccount.PROCESSOR_CLEARING, -data["amount"]),
        invoice_id=_single_invoice(allocations),
        payment_id=UUID(data["payment_id"]),
    )


RULES: dict[str, Callable[[Envelope], JournalEntry]] = {
    "clinicpay.invoicing.InvoiceIssued.v1": _invoice_rule(
        _R, LedgerAccount.SERVICE_REVENUE, "total_amount", "issued_on", "issued"
    ),
    "clinicpay.invoicing.InvoiceAdjusted.v1": _invoice_rule(
        LedgerAccount.REVENUE_ADJUSTMENTS, _R, "amount", "adjusted_on", "adjusted"
    ),
    "clinicpay.invoicing.InvoiceVoided.v1": _invoice_rule(
        LedgerAccount.SERVICE_REVENUE, _R, "voided_amount", "voided_on", "voided"
    ),
    "clinicpay.invoicing.InvoiceWrittenOff.v1": _invoice_rule(
        LedgerAccount.BAD_DEBT_EXPENSE, _R, "amount", "written_off_on", "written off"
    ),
    "clinicpay.payments.PaymentCaptured.v1": _payment_captured,
    "clinicpay.payments.PaymentRefunded.v1": _payment_refunded,
}

MONEY_EVENTS = frozenset(RULES)


def journal_entry_for(envelope: Envelope) -> JournalEntry | None:
    """The entry an event posts, or None for events that move no money (audit log only)."""
    rule = RULES.get(envelope.type)
    return rule(envelope) if rule else None


def postable_entry(envelope: Envelope) -> JournalEntry | None:
    """The event's entry, or UnpostableEvent for an event the ledger must not project; the
    consumer calls it before its transaction and dead-letters what it refuses."""
    try:
        return journal_entry_for(envelope)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, UnpostableEvent):
            raise
        raise UnpostableEvent(f"{envelope.type}: {type(error).__name__}: {error}") from None
