"""A payment plan: invoices spread over 2-24 installments, each charged when it falls due.

A failed installment is tried again (by default three tries over seven days); when its last
try fails the plan is `defaulted`. Money that moved is always recorded, whatever the plan's
status: an installment captured after a cancel is still paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from payments.domain.errors import InvalidPaymentRequest, PlanNotActive
from payments.domain.schedule import Interval, schedule


class PlanStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DEFAULTED = "defaulted"
    CANCELED = "canceled"


class InstallmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CHARGING = "charging"
    FAILED = "failed"
    PAID = "paid"


@dataclass(frozen=True)
class RetryPolicy:
    """When each try after the first is made, counted from the first try."""

    retry_after: tuple[timedelta, ...] = (timedelta(days=3), timedelta(days=7))

    @property
    def max_tries(self) -> int:
        return 1 + len(self.retry_after)

    def next_try_at(self, first_try_at: datetime, tries_made: int) -> datetime | None:
        if tries_made >= self.max_tries:
            return None
        return first_try_at + self.retry_after[tries_made - 1]


class PaymentPlan(Aggregate):
    @event("Created")
    def __init__(
        self,
        id: UUID,
        clinic_id: UUID,
        account_id: UUID,
        invoice_ids: list[UUID],
        currency: str,
        total_amount: int,
        interval: str,
        method_id: UUID,
        installments: list[dict],
        max_tries: int,
        created_at: datetime,
    ) -> None:
        self.clinic_id = clinic_id
        self.account_id = account_id
        self.invoice_ids = invoice_ids
        self.currency = currency
        self.total_amount = total_amount
        self.interval = Interval(interval)
        self.method_id = method_id
        self.installments = {
            i["number"]: {
                **i,
                "status": InstallmentStatus.SCHEDULED,
                "tries": [],
                "first_try_at": None,
                "paid_by": None,
            }
            for i in installments
        }
        self.max_tries = max_tries
        self.created_at = created_at
        self.status = PlanStatus.ACTIVE
        self.ended_at: datetime | None = None
        self.defaulted_installment: int | None = None

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        clinic_id: UUID,
        account_id: UUID,
        invoice_ids: list[UUID],
        currency: str,
        total_amount: int,
        count: int,
        interval: Interval,
        start_date: date,
        method_id: UUID,
        policy: RetryPolicy,
        created_at: datetime,
    ) -> PaymentPlan:
        try:
            installments = schedule(total_amount, count, interval, start_date)
        except ValueError as error:
            raise InvalidPaymentRequest(str(error)) from None
        return cls(
            id=id,
            clinic_id=clinic_id,
            account_id=account_id,
            invoice_ids=invoice_ids,
            currency=currency,
            total_amount=total_amount,
            interval=interval.value,
            method_id=method_id,
            installments=[
                {"number": i.number, "due_date": i.due_date, "amount": i.amount}
                for i in installments
            ],
            max_tries=policy.max_tries,
            created_at=created_at,
        )

    def installment(self, number: int) -> dict:
        try:
            return self.installments[number]
        except KeyError:
            raise InvalidPaymentRequest(f"the plan has no installment {number}") from None

    @property
    def paid_amount(self) -> int:
        return sum(
            i["amount"] for i in self.installments.values() if i["status"] is InstallmentStatus.PAID
        )

    @property
    def remaining_amount(self) -> int:
        return self.total_amount - self.paid_amount

    def can_try(self, number: int) -> bool:
        """Whether installment `number` may be charged now: active, unpaid, idle, tries left."""
        installment = self.installment(number)
        return (
            self.status is PlanStatus.ACTIVE
            and installment["status"] in (InstallmentStatus.SCHEDULED, InstallmentStatus.FAILED)
            and len(installment["tries"]) < self.max_tries
        )

    def start_try(self, number: int, payment_id: UUID, at: datetime) -> int:
        if not self.can_try(number):
            raise PlanNotActive(f"installment {number} cannot be charged now")
        self._start_try(number, payment_id, at)
        return len(self.installment(number)["tries"])

    @event("TryStarted")
    def _start_try(self, number: int, payment_id: UUID, at: datetime) -> None:
        installment = self.installments[number]
        installment["tries"].append(payment_id)
        installment["status"] = InstallmentStatus.CHARGING
        installment["first_try_at"] = installment["first_try_at"] or at

    def installment_paid(self, number: int, payment_id: UUID, at: datetime) -> None:
        if self.installment(number)["status"] is InstallmentStatus.PAID:
            return
        self._installment_paid(number, payment_id)
        if self.status is PlanStatus.ACTIVE and self.remaining_amount == 0:
            self._complete(at)

    @event("InstallmentPaid")
    def _installment_paid(self, number: int, payment_id: UUID) -> None:
        self.installments[number].update(status=InstallmentStatus.PAID, paid_by=payment_id)

    @event("Completed")
    def _complete(self, at: datetime) -> None:
        self.status = PlanStatus.COMPLETED
        self.ended_at = at

    def try_failed(self, number: int, at: datetime) -> None:
        """The installment's latest try was declined: wait for the next, or default."""
        installment = self.installment(number)
        if installment["status"] is not InstallmentStatus.CHARGING:
            return
        self._try_failed(number)
        if self.status is PlanStatus.ACTIVE and len(installment["tries"]) >= self.max_tries:
            self._default(number, at)

    @event("TryFailed")
    def _try_failed(self, number: int) -> None:
        self.installments[number]["status"] = InstallmentStatus.FAILED

    @event("Defaulted")
    def _default(self, number: int, at: datetime) -> None:
        self.status = PlanStatus.DEFAULTED
        self.defaulted_installment = number
        self.ended_at = at

    def cancel(self, at: datetime) -> None:
        if self.status is not PlanStatus.ACTIVE:
            raise PlanNotActive(f"the plan is {self.status}; only an active plan can be canceled")
        self._cancel(at)

    @event("Canceled")
    def _cancel(self, at: datetime) -> None:
        self.status = PlanStatus.CANCELED
        self.ended_at = at
