"""Invoices: what a clinic bills a billing account for a patient's sessions. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class InvoicingError(Exception):
    """Base of every rule the invoicing domain refuses."""


class InvoiceNotFound(InvoicingError):
    pass


class InvoiceNotDraft(InvoicingError):
    pass


class InvalidInvoice(InvoicingError):
    pass


class Status(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"


@dataclass(frozen=True)
class Line:
    description: str
    service_date: date
    quantity: int
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount

    def as_state(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "service_date": self.service_date,
            "quantity": self.quantity,
            "unit_amount": self.unit_amount,
        }


def check_lines(lines: list[Line]) -> None:
    if not lines:
        raise InvalidInvoice("an invoice needs at least one line")
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
        due_date: date,
        lines: list[dict[str, Any]],
    ) -> None:
        self.clinic_id = clinic_id
        self.account_id = account_id
        self.patient_id = patient_id
        self.currency = currency
        self.due_date = due_date
        self._lines = lines
        self.status = Status.DRAFT
        self.issued_on: date | None = None

    @classmethod
    def draft(
        cls,
        *,
        clinic_id: UUID,
        account_id: UUID,
        patient_id: UUID,
        currency: str,
        due_date: date,
        lines: list[Line],
    ) -> Invoice:
        check_lines(lines)
        return cls(
            clinic_id=clinic_id,
            account_id=account_id,
            patient_id=patient_id,
            currency=currency,
            due_date=due_date,
            lines=[line.as_state() for line in lines],
        )

    @property
    def lines(self) -> list[Line]:
        return [Line(**line) for line in self._lines]

    @property
    def total_amount(self) -> int:
        return sum(line.amount for line in self.lines)

    def issue(self, issued_on: date) -> None:
        self.check_is_draft()
        if self.due_date < issued_on:
            raise InvalidInvoice("the due date cannot be before the issue date")
        self._issue(issued_on)

    @event("Issued")
    def _issue(self, issued_on: date) -> None:
        self.status = Status.ISSUED
        self.issued_on = issued_on

    def check_is_draft(self) -> None:
        if self.status is not Status.DRAFT:
            raise InvoiceNotDraft(f"the invoice is {self.status}, not a draft")
