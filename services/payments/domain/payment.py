"""A payment: one charge of a saved payment method, its refunds and disputes.

The attempt is recorded before the gateway is called and the outcome after, so a crash in
between leaves a `processing` payment whose gateway reference finds what really happened.
A success reported by the gateway always wins: money moved, so even a payment recorded as
failed is captured when the gateway later says it succeeded.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from payments.domain.allocation import Allocation
from payments.domain.errors import NotRefundable, PaymentNotChargeable, RefundExceedsCaptured


class Status(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    CAPTURED = "captured"
    FAILED = "failed"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Payment(Aggregate):
    @event("Requested")
    def __init__(
        self,
        id: UUID,
        clinic_id: UUID,
        account_id: UUID,
        amount: int,
        currency: str,
        method_id: UUID,
        invoice_ids: list[UUID] | None,
        scheduled_for: date | None,
        origin: dict,
        requested_at: datetime,
    ) -> None:
        self.clinic_id = clinic_id
        self.account_id = account_id
        self.amount = amount
        self.currency = currency
        self.method_id = method_id
        self.invoice_ids = invoice_ids
        self.scheduled_for = scheduled_for
        self.origin = origin
        self.requested_at = requested_at
        self.status = Status.SCHEDULED if scheduled_for else Status.REQUESTED
        self.attempt_started_at: datetime | None = None
        self.intent_id: str | None = None
        self.captured_at: datetime | None = None
        self.allocation: Allocation | None = None
        self.decline_code: str | None = None
        self.failed_at: datetime | None = None
        self.refunds: dict[UUID, dict] = {}
        self.disputes: dict[str, dict] = {}

    @property
    def gateway_reference(self) -> str:
        return str(self.id)

    @property
    def idempotency_key(self) -> str:
        """One per payment: every call for this charge, first or retried, carries it."""
        return f"clinicpay-payment-{self.id}"

    @property
    def invoice_id(self) -> UUID | None:
        if self.origin.get("kind") == "api" and self.invoice_ids:
            return self.invoice_ids[0]
        return None

    # -- the charge ------------------------------------------------------------------------

    def start_attempt(self, started_at: datetime) -> None:
        if self.status not in (Status.REQUESTED, Status.SCHEDULED):
            raise PaymentNotChargeable(f"the payment is {self.status}; it cannot be charged again")
        self._start_attempt(started_at)

    @event("AttemptStarted")
    def _start_attempt(self, started_at: datetime) -> None:
        self.status = Status.PROCESSING
        self.attempt_started_at = started_at

    @property
    def is_settled(self) -> bool:
        return self.status in (Status.CAPTURED, Status.FAILED)

    def capture(self, intent_id: str, captured_at: datetime, allocation: Allocation) -> None:
        if self.status not in (Status.PROCESSING, Status.FAILED):
            raise PaymentNotChargeable(f"a {self.status} payment cannot be captured")
        if allocation.total != self.amount:
            raise ValueError("the allocation must account for the whole amount")
        self._capture(intent_id, captured_at, allocation.as_state())

    @event("Captured")
    def _capture(self, intent_id: str, captured_at: datetime, allocation: dict) -> None:
        self.status = Status.CAPTURED
        self.intent_id = intent_id
        self.captured_at = captured_at
        self.allocation = Allocation.of(allocation)

    def fail(self, intent_id: str | None, decline_code: str, failed_at: datetime) -> None:
        if self.status is not Status.PROCESSING:
            raise PaymentNotChargeable(f"a {self.status} payment cannot fail")
        self._fail(intent_id, decline_code[:64], failed_at)

    @event("Failed")
    def _fail(self, intent_id: str | None, decline_code: str, failed_at: datetime) -> None:
        self.status = Status.FAILED
        self.intent_id = intent_id
        self.decline_code = decline_code
        self.failed_at = failed_at

    # -- refunds ---------------------------------------------------------------------------

    @property
    def refunded_amount(self) -> int:
        return self._refunds_in(RefundStatus.SUCCEEDED)

    @property
    def refundable_amount(self) -> int:
        """Captured, less what is refunded and what refunds in flight may take."""
        if self.status is not Status.CAPTURED:
            return 0
        return self.amount - self.refunded_amount - self._refunds_in(RefundStatus.PENDING)

    def _refunds_in(self, status: RefundStatus) -> int:
        return sum(r["amount"] for r in self.refunds.values() if r["status"] is status)

    def refunded_allocations(self) -> list[Allocation]:
        return [r["allocation"] for r in self.refunds.values() if r["allocation"] is not None]

    def request_refund(self, refund_id: UUID, amount: int, reason: str, at: datetime) -> None:
        if self.status is not Status.CAPTURED:
            raise NotRefundable(f"only a captured payment can be refunded, not a {self.status} one")
        if amount < 1:
            raise RefundExceedsCaptured("a refund is at least one minor unit")
        if amount > self.refundable_amount:
            raise RefundExceedsCaptured(
                f"at most {self.refundable_amount} can still be refunded on this payment"
            )
        self._request_refund(refund_id, amount, reason, at)

    @event("RefundRequested")
    def _request_refund(self, refund_id: UUID, amount: int, reason: str, at: datetime) -> None:
        self.refunds[refund_id] = {
            "refund_id": refund_id,
            "amount": amount,
            "reason": reason,
            "requested_at": at,
            "status": RefundStatus.PENDING,
            "gateway_refund_id": None,
            "allocation": None,
            "settled_at": None,
        }

    def pending_refund(self, refund_id: UUID) -> dict | None:
        refund = self.refunds.get(refund_id)
        return refund if refund and refund["status"] is RefundStatus.PENDING else None

    def complete_refund(
        self, refund_id: UUID, gateway_refund_id: str, at: datetime, allocation: Allocation
    ) -> None:
        refund = self.pending_refund(refund_id)
        if refund is None:
            raise NotRefundable("no such refund is in flight")
        if allocation.total != refund["amount"]:
            raise ValueError("the allocation must account for the whole refund")
        self._complete_refund(refund_id, gateway_refund_id, at, allocation.as_state())

    @event("Refunded")
    def _complete_refund(
        self, refund_id: UUID, gateway_refund_id: str, at: datetime, allocation: dict
    ) -> None:
        refund = self.refunds[refund_id]
        refund.update(
            status=RefundStatus.SUCCEEDED,
            gateway_refund_id=gateway_refund_id,
            allocation=Allocation.of(allocation),
            settled_at=at,
        )

    def fail_refund(self, refund_id: UUID, reason: str, at: datetime) -> None:
        if self.pending_refund(refund_id) is None:
            raise NotRefundable("no such refund is in flight")
        self._fail_refund(refund_id, reason[:64], at)

    @event("RefundFailed")
    def _fail_refund(self, refund_id: UUID, reason: str, at: datetime) -> None:
        self.refunds[refund_id].update(status=RefundStatus.FAILED, settled_at=at, failure=reason)

    # -- disputes --------------------------------------------------------------------------

    def dispute(self, dispute_id: str, amount: int, reason: str, at: datetime) -> None:
        if dispute_id in self.disputes:
            return
        self._dispute(dispute_id, amount, reason[:64], at)

    @event("Disputed")
    def _dispute(self, dispute_id: str, amount: int, reason: str, at: datetime) -> None:
        self.disputes[dispute_id] = {"amount": amount, "reason": reason, "disputed_at": at}
