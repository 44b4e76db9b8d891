"""Paying: now, on a later date, an installment when it falls due, or a week's autopay.

Every entry point names its payment deterministically, so a retried request or a redelivered
reminder finds the payment it already started and never charges twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from payments.application import ids
from payments.application.app import Context
from payments.application.charging import Charging
from payments.domain.errors import (
    InvalidPaymentRequest,
    InvoiceNotOpen,
    PaymentMethodNotFound,
    PaymentsError,
)
from payments.domain.method import PaymentMethod
from payments.domain.payment import Payment, Status
from payments.store import effects

log = structlog.get_logger("payments.paying")


@dataclass(frozen=True)
class PayRequest:
    clinic_id: UUID
    payment_id: UUID
    account_id: UUID
    amount: int
    currency: str
    method_id: UUID
    invoice_id: UUID | None = None
    scheduled_for: date | None = None


class Paying:
    def __init__(self, ctx: Context, charging: Charging) -> None:
        self.ctx = ctx
        self.app = ctx.app
        self.charging = charging

    def usable_method(self, clinic_id: UUID, account_id: UUID, method_id: UUID) -> PaymentMethod:
        method = self.app.method(clinic_id, method_id)
        if method.account_id != account_id:
            raise PaymentMethodNotFound(str(method_id))
        method.check_usable()
        if method.gateway != self.ctx.gateway.name:
            raise InvalidPaymentRequest("this payment method was saved with another gateway")
        return method

    def pay(self, request: PayRequest) -> Payment:
        try:
            method = self.usable_method(request.clinic_id, request.account_id, request.method_id)
            self._check_invoice(request)
        except PaymentsError:
            # A retry of a payment that went through (its invoice is now paid): answer with it.
            existing = self.app.find(Payment, request.payment_id)
            if existing is None:
                raise
            return self.charging.resume(existing)
        if request.scheduled_for is not None:
            return self._schedule(request)
        payment = self._new_payment(request)
        if not self.charging.start([payment]):
            return self.charging.resume(self.app.payment(request.clinic_id, payment.id))
        return self.charging.charge(payment, method)

    def _check_invoice(self, request: PayRequest) -> None:
        if request.invoice_id is None:
            return
        found = self.ctx.reads.open_invoices(
            request.clinic_id, request.account_id, [request.invoice_id]
        )
        if request.invoice_id not in found:
            raise InvoiceNotOpen(f"invoice {request.invoice_id} owes nothing on this account")
        if found[request.invoice_id][0] != request.currency:
            raise InvalidPaymentRequest("the payment's currency differs from the invoice's")

    def _schedule(self, request: PayRequest) -> Payment:
        assert request.scheduled_for is not None
        if request.scheduled_for <= self.ctx.today(request.clinic_id):
            raise InvalidPaymentRequest(
                "scheduled_for must be a later date in the clinic's timezone; "
                "leave it out to pay now"
            )
        payment = self._new_payment(request)
        try:
            self.app.record(payment, effects=[effects.payment_record(payment)])
        except IntegrityError:
            return self.app.payment(request.clinic_id, payment.id)
        return payment

    def _new_payment(self, request: PayRequest) -> Payment:
        return Payment(
            id=request.payment_id,
            clinic_id=request.clinic_id,
            account_id=request.account_id,
            amount=request.amount,
            currency=request.currency,
            method_id=request.method_id,
            invoice_ids=[request.invoice_id] if request.invoice_id else None,
            scheduled_for=request.scheduled_for,
            origin={"kind": "api"},
            requested_at=self.ctx.now(),
        )

    # -- time-based charges, triggered by ReminderDue ---------------------------------------

    def charge_scheduled(self, clinic_id: UUID, payment_id: UUID) -> Payment | None:
        payment = self.app.payment(clinic_id, payment_id)
        if payment.status is not Status.SCHEDULED:
            return self.charging.resume(payment)
        method = self.app.method(None, payment.method_id)
        if method.is_removed:
            return self._fail_unchargeable(payment, "payment_method_removed")
        if not self.charging.start([payment]):
            return None
        return self.charging.charge(payment, method)

    def _fail_unchargeable(self, payment: Payment, reason: str) -> Payment:
        payment.start_attempt(self.ctx.now())
        payment.fail(None, reason, self.ctx.now())
        self.app.record(payment, effects=[effects.payment_record(payment)])
        return payment

    def charge_installment(
        self, clinic_id: UUID | None, plan_id: UUID, number: int
    ) -> Payment | None:
        plan = self.app.plan(clinic_id, plan_id)
        if not plan.can_try(number):
            log.info("installment.not_chargeable", plan_id=str(plan_id), installment=number)
            return None
        installment = plan.installment(number)
        try_number = len(installment["tries"]) + 1
        payment = Payment(
            id=ids.installment_payment(plan.id, number, try_number),
            clinic_id=plan.clinic_id,
            account_id=plan.account_id,
            amount=installment["amount"],
            currency=plan.currency,
            method_id=plan.method_id,
            invoice_ids=list(plan.invoice_ids),
            scheduled_for=None,
            origin={
                "kind": "installment",
                "plan_id": plan.id,
                "installment_number": number,
                "try": try_number,
            },
            requested_at=self.ctx.now(),
        )
        plan.start_try(number, payment.id, self.ctx.now())
        extra = [effects.work_done("plan_retry", plan.id, str(number))]
        if not self.charging.start([payment], [plan], extra=extra):
            return None
        return self.charging.charge(payment)

    def charge_autopay(
        self, clinic_id: UUID, mandate_id: UUID, period_start: date
    ) -> list[Payment]:
        mandate = self.app.mandate(clinic_id, mandate_id)
        if not mandate.should_charge(period_start):
            log.info("autopay.not_chargeable", mandate_id=str(mandate_id), period=str(period_start))
            return []
        owed = self.ctx.reads.outstanding(mandate.clinic_id, mandate.account_id)
        method = self.app.method(None, mandate.method_id)
        payments = [
            Payment(
                id=ids.autopay_payment(mandate.id, period_start, currency),
                clinic_id=mandate.clinic_id,
                account_id=mandate.account_id,
                amount=amount,
                currency=currency,
                method_id=method.id,
                invoice_ids=None,
                scheduled_for=None,
                origin={"kind": "autopay", "mandate_id": mandate.id, "period_start": period_start},
                requested_at=self.ctx.now(),
            )
            for currency, amount in sorted(owed.items())
        ]
        mandate.charge_period(period_start, [p.id for p in payments])
        if not self.charging.start(payments, [mandate]):
            return []
        return [self.charging.charge(p, method) for p in payments]
