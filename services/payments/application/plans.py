"""Payment plans and autopay mandates: creating, showing and ending them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from payments.application.app import Context
from payments.application.paying import Paying
from payments.domain.errors import (
    AutopayAlreadyEnabled,
    InvalidPaymentRequest,
    InvoiceAlreadyInPlan,
    InvoiceNotOpen,
)
from payments.domain.mandate import AutopayMandate, first_charge_on
from payments.domain.plan import PaymentPlan
from payments.domain.schedule import Interval
from payments.store import effects


@dataclass(frozen=True)
class PlanRequest:
    clinic_id: UUID
    plan_id: UUID
    account_id: UUID
    invoice_ids: list[UUID]
    installments: int
    interval: Interval
    start_date: date
    method_id: UUID


class Plans:
    def __init__(self, ctx: Context, paying: Paying) -> None:
        self.ctx = ctx
        self.app = ctx.app
        self.paying = paying

    def create(self, request: PlanRequest) -> PaymentPlan:
        existing = self.app.find(PaymentPlan, request.plan_id)
        if existing is not None:
            return self.app.plan(request.clinic_id, request.plan_id)
        self.paying.usable_method(request.clinic_id, request.account_id, request.method_id)
        if request.start_date < self.ctx.today(request.clinic_id):
            raise InvalidPaymentRequest("start_date cannot be in the past")
        owed = self.ctx.reads.open_invoices(
            request.clinic_id, request.account_id, request.invoice_ids
        )
        missing = [str(i) for i in request.invoice_ids if i not in owed]
        if missing:
            raise InvoiceNotOpen(
                f"these invoices owe nothing on this account: {', '.join(missing)}"
            )
        currencies = {currency for currency, _ in owed.values()}
        if len(currencies) != 1:
            raise InvalidPaymentRequest("a plan's invoices must share one currency")
        plan = PaymentPlan.create(
            id=request.plan_id,
            clinic_id=request.clinic_id,
            account_id=request.account_id,
            invoice_ids=list(request.invoice_ids),
            currency=currencies.pop(),
            total_amount=sum(amount for _, amount in owed.values()),
            count=request.installments,
            interval=request.interval,
            start_date=request.start_date,
            method_id=request.method_id,
            policy=self.ctx.retry_policy,
            created_at=self.ctx.now(),
        )
        try:
            self.app.record(plan, effects=effects.plan(plan))
        except IntegrityError:
            if self.app.find(PaymentPlan, request.plan_id) is not None:
                return self.app.plan(request.clinic_id, request.plan_id)
            raise InvoiceAlreadyInPlan("an invoice is already in an active payment plan") from None
        return plan

    def cancel(self, clinic_id: UUID, plan_id: UUID) -> PaymentPlan:
        plan = self.app.plan(clinic_id, plan_id)
        plan.cancel(self.ctx.now())
        self.app.record(plan, effects=effects.plan(plan))
        return plan


class Autopay:
    def __init__(self, ctx: Context, paying: Paying) -> None:
        self.ctx = ctx
        self.app = ctx.app
        self.paying = paying

    def enable(
        self, clinic_id: UUID, mandate_id: UUID, account_id: UUID, method_id: UUID, weekday: str
    ) -> AutopayMandate:
        existing = self.app.find(AutopayMandate, mandate_id)
        if existing is not None:
            return self.app.mandate(clinic_id, mandate_id)
        self.paying.usable_method(clinic_id, account_id, method_id)
        mandate = AutopayMandate(
            id=mandate_id,
            clinic_id=clinic_id,
            account_id=account_id,
            method_id=method_id,
            cadence="weekly",
            weekday=weekday,
            enabled_at=self.ctx.now(),
            first_charge_on=first_charge_on(weekday, self.ctx.today(clinic_id)),
        )
        try:
            self.app.record(mandate, effects=[effects.mandate(mandate)])
        except IntegrityError:
            if self.app.find(AutopayMandate, mandate_id) is not None:
                return self.app.mandate(clinic_id, mandate_id)
            raise AutopayAlreadyEnabled("autopay is already on for this account") from None
        return mandate

    def disable(self, clinic_id: UUID, mandate_id: UUID) -> AutopayMandate:
        mandate = self.app.mandate(clinic_id, mandate_id)
        mandate.disable(self.ctx.now())
        self.app.record(mandate, effects=[effects.mandate(mandate)])
        return mandate
