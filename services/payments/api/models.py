"""Request and response bodies. Amounts are integer minor units; nothing here is a card number."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from payments.application.refunds import REASONS
from payments.domain.mandate import WEEKDAYS, AutopayMandate
from payments.domain.payment import Payment
from payments.domain.plan import PaymentPlan

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
Amount = Annotated[StrictInt, Field(ge=1, le=99_999_999, description="Minor units (cents)")]
# A gateway token (Stripe.js `pm_...`, a test token such as `pm_card_visa`): never a card number.
Token = Annotated[str, Field(min_length=4, max_length=255, pattern=r"^(pm|tok)_[A-Za-z0-9_]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaymentMethodIn(Strict):
    account_id: UUID
    token: Token
    make_default: StrictBool = False


class PaymentMethodOut(BaseModel):
    id: UUID
    account_id: UUID
    gateway: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool


class PaymentMethodList(BaseModel):
    items: list[PaymentMethodOut]


class PaymentIn(Strict):
    account_id: UUID
    amount: Amount
    currency: Currency
    payment_method_id: UUID
    invoice_id: UUID | None = None
    scheduled_for: date | None = None


class AllocationOut(BaseModel):
    invoice_id: UUID
    amount: int


class RefundOut(BaseModel):
    id: UUID
    payment_id: UUID
    amount: int
    reason: str
    status: str
    allocations: list[AllocationOut] | None
    unallocated_amount: int | None
    requested_at: datetime
    settled_at: datetime | None


class PaymentOut(BaseModel):
    id: UUID
    account_id: UUID
    amount: int
    currency: str
    status: str
    payment_method_id: UUID
    invoice_id: UUID | None
    scheduled_for: date | None
    decline_code: str | None
    allocations: list[AllocationOut] | None
    unallocated_amount: int | None
    refunded_amount: int
    refundable_amount: int
    refunds: list[RefundOut]
    disputed: bool
    requested_at: datetime
    captured_at: datetime | None

    @classmethod
    def of(cls, payment: Payment) -> PaymentOut:
        allocation = payment.allocation
        return cls(
            id=payment.id,
            account_id=payment.account_id,
            amount=payment.amount,
            currency=payment.currency,
            status=payment.status.value,
            payment_method_id=payment.method_id,
            invoice_id=payment.invoice_id,
            scheduled_for=payment.scheduled_for,
            decline_code=payment.decline_code,
            allocations=_lines(allocation),
            unallocated_amount=allocation.unallocated if allocation else None,
            refunded_amount=payment.refunded_amount,
            refundable_amount=payment.refundable_amount,
            refunds=[refund_out(payment, refund_id) for refund_id in payment.refunds],
            disputed=bool(payment.disputes),
            requested_at=payment.requested_at,
            captured_at=payment.captured_at,
        )


def _lines(allocation) -> list[AllocationOut] | None:
    if allocation is None:
        return None
    return [
        AllocationOut(invoice_id=line.invoice_id, amount=line.amount) for line in allocation.lines
    ]


def refund_out(payment: Payment, refund_id: UUID) -> RefundOut:
    refund = payment.refunds[refund_id]
    allocation = refund["allocation"]
    return RefundOut(
        id=refund_id,
        payment_id=payment.id,
        amount=refund["amount"],
        reason=refund["reason"],
        status=refund["status"].value,
        allocations=_lines(allocation),
        unallocated_amount=allocation.unallocated if allocation else None,
        requested_at=refund["requested_at"],
        settled_at=refund["settled_at"],
    )


class PaymentList(BaseModel):
    items: list[PaymentOut]


class RefundIn(Strict):
    amount: Amount
    reason: Literal[REASONS]  # type: ignore[valid-type]


class PlanIn(Strict):
    account_id: UUID
    invoice_ids: Annotated[list[UUID], Field(min_length=1, max_length=100)]
    installments: Annotated[StrictInt, Field(ge=2, le=24)]
    interval: Literal["weekly", "biweekly", "monthly"]
    start_date: date
    payment_method_id: UUID


class InstallmentOut(BaseModel):
    number: int
    due_date: date
    amount: int
    status: str
    tries: int
    paid_by_payment_id: UUID | None


class PlanOut(BaseModel):
    id: UUID
    account_id: UUID
    status: str
    currency: str
    total_amount: int
    paid_amount: int
    remaining_amount: int
    interval: str
    invoice_ids: list[UUID]
    payment_method_id: UUID
    installments: list[InstallmentOut]

    @classmethod
    def of(cls, plan: PaymentPlan) -> PlanOut:
        return cls(
            id=plan.id,
            account_id=plan.account_id,
            status=plan.status.value,
            currency=plan.currency,
            total_amount=plan.total_amount,
            paid_amount=plan.paid_amount,
            remaining_amount=plan.remaining_amount,
            interval=plan.interval.value,
            invoice_ids=plan.invoice_ids,
            payment_method_id=plan.method_id,
            installments=[
                InstallmentOut(
                    number=i["number"],
                    due_date=i["due_date"],
                    amount=i["amount"],
                    status=i["status"].value,
                    tries=len(i["tries"]),
                    paid_by_payment_id=i["paid_by"],
                )
                for i in sorted(plan.installments.values(), key=lambda i: i["number"])
            ],
        )


class AutopayIn(Strict):
    account_id: UUID
    payment_method_id: UUID
    cadence: Literal["weekly"]
    weekday: Literal[WEEKDAYS]  # type: ignore[valid-type]


class AutopayOut(BaseModel):
    id: UUID
    account_id: UUID
    payment_method_id: UUID
    status: str
    cadence: str
    weekday: str
    first_charge_on: date
    charged_periods: list[date]

    @classmethod
    def of(cls, mandate: AutopayMandate) -> AutopayOut:
        return cls(
            id=mandate.id,
            account_id=mandate.account_id,
            payment_method_id=mandate.method_id,
            status=mandate.status.value,
            cadence=mandate.cadence,
            weekday=mandate.weekday,
            first_charge_on=mandate.first_charge_on,
            charged_periods=sorted(mandate.periods),
        )
