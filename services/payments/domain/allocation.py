"""Which invoices a payment pays, and which a refund reopens. Exact in minor units.

A payment without an invoice pays the account's open invoices oldest first; what is left is
account credit. A refund gives back the payment's credit first (money that never settled a
bill), then reopens the invoices it paid, the most recently paid first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

_DAWN = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OpenInvoice:
    invoice_id: UUID
    issued_on: date
    due_date: date
    open_amount: int
    issued_at: datetime | None = None  # when it was issued, to order a day's invoices

    @property
    def age_order(self) -> tuple[date, datetime, date, str]:
        return (self.issued_on, self.issued_at or _DAWN, self.due_date, str(self.invoice_id))


@dataclass(frozen=True)
class Line:
    invoice_id: UUID
    amount: int

    def as_state(self) -> dict:
        return {"invoice_id": self.invoice_id, "amount": self.amount}

    @classmethod
    def of(cls, state: dict) -> Line:
        return cls(invoice_id=state["invoice_id"], amount=state["amount"])


@dataclass(frozen=True)
class Allocation:
    lines: tuple[Line, ...]
    unallocated: int

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines) + self.unallocated

    def as_state(self) -> dict:
        return {
            "lines": [line.as_state() for line in self.lines],
            "unallocated": self.unallocated,
        }

    @classmethod
    def of(cls, state: dict) -> Allocation:
        return cls(tuple(Line.of(s) for s in state["lines"]), state["unallocated"])


def allocate_payment(amount: int, open_invoices: Iterable[OpenInvoice]) -> Allocation:
    """Oldest open invoice first, each up to what it owes; the rest is account credit."""
    if amount < 1:
        raise ValueError("a payment allocates at least one minor unit")
    candidates = sorted((i for i in open_invoices if i.open_amount > 0), key=lambda i: i.age_order)
    lines, left = [], amount
    for invoice in candidates:
        if left == 0:
            break
        paid = min(left, invoice.open_amount)
        lines.append(Line(invoice.invoice_id, paid))
        left -= paid
    return Allocation(tuple(lines), left)


def allocate_refund(amount: int, paid: Allocation, refunded: Sequence[Allocation]) -> Allocation:
    """Take `amount` back from what `paid` settled, less what earlier refunds took back."""
    credit_left = paid.unallocated - sum(r.unallocated for r in refunded)
    from_credit = min(amount, credit_left)
    left = amount - from_credit
    already = _per_invoice(line for r in refunded for line in r.lines)
    lines = []
    for line in reversed(paid.lines):
        if left == 0:
            break
        reopen = min(left, line.amount - already.get(line.invoice_id, 0))
        if reopen > 0:
            lines.append(Line(line.invoice_id, reopen))
            left -= reopen
    if left:
        raise ValueError("a refund cannot give back more than the payment settled")
    return Allocation(tuple(lines), from_credit)


def _per_invoice(lines: Iterable[Line]) -> dict[UUID, int]:
    totals: dict[UUID, int] = {}
    for line in lines:
        totals[line.invoice_id] = totals.get(line.invoice_id, 0) + line.amount
    return totals
