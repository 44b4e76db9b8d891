"""Invoices: what a clinic bills a billing account for a patient's sessions. No I/O here.

An invoice is drafted, revised while it is a draft, issued (with its number and due date),
then settled by payments or credits, or closed by a void or a write-off. Its status is not
stored: it follows from what was recorded (issued? how much owed, paid, closed?), so
payments and refunds reach the same status in whatever order they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from invoicing.errors import (
    AdjustmentExceedsAmountDue,
    InvalidInvoice,
    InvoiceHasPayments,
    InvoiceNotDraft,
    InvoiceNotOpen,
)

MAX_LINES = 200


class Status(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    WRITTEN_OFF = "written_off"


OPEN = frozenset({Status.ISSUED, Status.PARTIALLY_PAID})


@dataclass(frozen=True)
class Line:
    description: str
    service_date: date
    quantity: int
    unit_amount: int
    code: str | None = None
    provider: str | None = None

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount

    def as_state(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "service_date": self.service_date,
            "quantity": self.quantity,
            "unit_amount": self.unit_amount,
            "code": self.code,
            "provider": self.provider,
        }


@dataclass(frozen=True)
class Adjustment:
    id: UUID
    amount: int
    reason: str
    adjusted_on: date


def check_lines(lines: list[Line]) -> None:
    if not lines:
        raise InvalidInvoice("an invoice needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidInvoice(f"an invoice has at most {MAX_LINES} lines")
    for line in lines:
        if line.quantity < 1:
            raise InvalidInvoice("a line's quantity must be at least 1")
        if line.unit_amount < 0:
            raise InvalidInvoice("a line's unit amount cannot be negative")


class Invoice(Aggregate):
    @event("Drafted")
    def __init__(
        self,
        clinic_id: UUID,
        account_id: UUID,
        patient_id: UUID,
        currency: str,
        due_date: date | None,
        lines: list[dict[str, Any]],
        fhir_identifier: str | None = None,
    ) -> None:
        self.clinic_id = clinic_id
        self.account_id = account_id
        self.patient_id = patient_id
        self.currency = currency
        self.due_date = due_date
        self._lines = lines
        # The `system|value` of the EHR invoice this one was made from, if any.
        self.fhir_identifier = fhir_identifier
        self.number: str | None = None
        self.issued_on: date | None = None
        self.voided_on: date | None = None
        self.voided_amount = 0
        self.written_off_on: date | None = None
        self.amount_written_off = 0
        self.write_off_reason: str | None = None
        self._adjustments: list[dict[str, Any]] = []
        # Signed amounts by the id of the payment event that moved them: the dedupe key.
        self._payments: dict[str, int] = {}

    @classmethod
    def draft(
        cls,
        *,
        clinic_id: UUID,
        account_id: UUID,
        patient_id: UUID,
        currency: str,
        due_date: date | None,
        lines: list[Line],
        fhir_identifier: str | None = None,
    ) -> Invoice:
        check_lines(lines)
        return cls(
            clinic_id=clinic_id,
            account_id=account_id,
            patient_id=patient_id,
            currency=currency,
            due_date=due_date,
            lines=[line.as_state() for line in lines],
            fhir_identifier=fhir_identifier,
        )

    # -- what it amounts to

    @property
    def lines(self) -> list[Line]:
        return [Line(**line) for line in self._lines]

    @property
    def adjustments(self) -> list[Adjustment]:
        return [Adjustment(**adjustment) for adjustment in self._adjustments]

    @property
    def total_amount(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def amount_adjusted(self) -> int:
        return sum(adjustment["amount"] for adjustment in self._adjustments)

    @property
    def net_payments(self) -> int:
        """Captured minus refunded. Negative only while a refund has overtaken its capture."""
        return sum(self._payments.values())

    @property
    def amount_paid(self) -> int:
        return max(0, self.net_payments)

    @property
    def amount_owed(self) -> int:
        return self.total_amount - self.amount_adjusted

    @property
    def amount_due(self) -> int:
        if self.voided_on is not None or self.written_off_on is not None:
            return 0
        return max(0, self.amount_owed - self.amount_paid)

    @property
    def status(self) -> Status:
        if self.voided_on is not None:
            return Status.VOID
        if self.written_off_on is not None:
            return Status.WRITTEN_OFF
        if self.issued_on is None:
            return Status.DRAFT
        if self.amount_paid >= self.amount_owed:
            return Status.PAID
        if self.amount_paid > 0:
            return Status.PARTIALLY_PAID
        return Status.ISSUED

    def is_overdue(self, today: date) -> bool:
        """Past due in the clinic's own calendar: `today` is the date where the clinic is."""
        return self.status in OPEN and self.due_date is not None and today > self.due_date

    def has_applied(self, payment_event_id: str) -> bool:
        return payment_event_id in self._payments

    # -- while a draft

    def revise(self, *, lines: list[Line] | None, due_date: date | None, set_due_date: bool):
        self.check_is_draft()
        if lines is not None:
            check_lines(lines)
        self._revise(
            lines=[line.as_state() for line in lines] if lines is not None else self._lines,
            due_date=due_date if set_due_date else self.due_date,
        )

    @event("Revised")
    def _revise(self, lines: list[dict[str, Any]], due_date: date | None) -> None:
        self._lines = lines
        self.due_date = due_date

    def issue(self, *, issued_on: date, number: str, default_due_date: date) -> None:
        self.check_can_issue(issued_on=issued_on, default_due_date=default_due_date)
        due_date = self.due_date or default_due_date
        self._issue(issued_on=issued_on, number=number, due_date=due_date)

    @event("Issued")
    def _issue(self, issued_on: date, number: str, due_date: date) -> None:
        self.issued_on = issued_on
        self.number = number
        self.due_date = due_date

    # -- once issued

    def adjust(self, *, adjustment_id: UUID, amount: int, reason: str, adjusted_on: date):
        self.check_is_open("adjusted")
        if amount < 1:
            raise InvalidInvoice("an adjustment is a credit of at least 1 minor unit")
        if amount > self.amount_due:
            raise AdjustmentExceedsAmountDue(
                f"a credit of {amount} exceeds the {self.amount_due} still due"
            )
        self._adjust(id=adjustment_id, amount=amount, reason=reason, adjusted_on=adjusted_on)

    @event("Adjusted")
    def _adjust(self, id: UUID, amount: int, reason: str, adjusted_on: date) -> None:
        self._adjustments = [
            *self._adjustments,
            {"id": id, "amount": amount, "reason": reason, "adjusted_on": adjusted_on},
        ]

    def void(self, *, voided_on: date) -> None:
        """Cancels a draft, or an issued invoice on which nothing is paid."""
        if self.status in (Status.VOID, Status.WRITTEN_OFF):
            raise InvoiceNotOpen(f"the invoice is {self.status.value}")
        if self.net_payments != 0:
            raise InvoiceHasPayments(
                f"{self.net_payments} is paid on this invoice; refund it before voiding"
            )
        voided_amount = self.amount_due if self.issued_on is not None else 0
        self._void(voided_on=voided_on, voided_amount=voided_amount)

    @event("Voided")
    def _void(self, voided_on: date, voided_amount: int) -> None:
        self.voided_on = voided_on
        self.voided_amount = voided_amount

    def write_off(self, *, written_off_on: date, reason: str) -> None:
        self.check_is_open("written off")
        self._write_off(written_off_on=written_off_on, amount=self.amount_due, reason=reason)

    @event("WrittenOff")
    def _write_off(self, written_off_on: date, amount: int, reason: str) -> None:
        self.written_off_on = written_off_on
        self.amount_written_off = amount
        self.write_off_reason = reason

    # -- what the payments service reports: facts, recorded once each, in any state

    def receive_payment(self, *, payment_event_id: str, payment_id: UUID, amount: int) -> None:
        if not self.has_applied(payment_event_id):
            self._receive_payment(
                payment_event_id=payment_event_id, payment_id=payment_id, amount=amount
            )

    @event("PaymentReceived")
    def _receive_payment(self, payment_event_id: str, payment_id: UUID, amount: int) -> None:
        self._payments = {**self._payments, payment_event_id: amount}

    def receive_refund(self, *, payment_event_id: str, refund_id: UUID, amount: int) -> None:
        if not self.has_applied(payment_event_id):
            self._receive_refund(
                payment_event_id=payment_event_id, refund_id=refund_id, amount=amount
            )

    @event("RefundReceived")
    def _receive_refund(self, payment_event_id: str, refund_id: UUID, amount: int) -> None:
        self._payments = {**self._payments, payment_event_id: -amount}

    # -- guards

    def check_is_draft(self) -> None:
        if self.status is not Status.DRAFT:
            raise InvoiceNotDraft(f"the invoice is {self.status.value}, not a draft")

    def check_can_issue(self, *, issued_on: date, default_due_date: date) -> None:
        """Every rule of `issue`, checked before a number is taken for the invoice."""
        self.check_is_draft()
        if (self.due_date or default_due_date) < issued_on:
            raise InvalidInvoice("the due date cannot be before the issue date")

    def check_is_open(self, action: str) -> None:
        if self.status not in OPEN:
            raise InvoiceNotOpen(
                f"the invoice is {self.status.value}; only an issued invoice with an amount "
                f"due can be {action}"
            )
