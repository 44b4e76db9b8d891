"""Charging a payment: record the attempt, ask the gateway, record what it answered.

The attempt is committed before the gateway is called, and the payment's resolution is queued
in the same transaction. If the answer never arrives (timeout, 5xx, a crash), the payment
stays `processing` until `resume` asks the gateway what became of our reference: it records
that outcome, or charges again with the same idempotency key when the gateway has no trace.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from payments.application.app import Context
from payments.domain.allocation import allocate_payment
from payments.domain.errors import Conflict
from payments.domain.method import PaymentMethod
from payments.domain.payment import Payment, Status
from payments.domain.plan import PlanStatus
from payments.gateway import ChargeOutcome, ChargeRequest, ChargeStatus, Refused, Unavailable
from payments.store import effects
from payments.store.recorder import Statement

log = structlog.get_logger("payments.charging")
SETTLE_ATTEMPTS = 10


class Charging:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.app = ctx.app

    def start(self, payments: list[Payment], related=(), extra: list[Statement] = ()) -> bool:
        """Commit the attempts (with `related` aggregates); False if they were recorded already."""
        now = self.ctx.now()
        statements = list(extra)
        for payment in payments:
            if payment.status is not Status.PROCESSING:
                payment.start_attempt(now)
            statements.append(effects.payment_record(payment))
            statements.append(
                effects.schedule_work("payment", payment.id, now + self.ctx.resolve_after)
            )
        try:
            self.app.record(*payments, *related, effects=statements)
        except IntegrityError:
            return False
        for payment in payments:
            log.info("payment.attempt_started", payment_id=str(payment.id), amount=payment.amount)
        return True

    def charge(self, payment: Payment, method: PaymentMethod | None = None) -> Payment:
        method = method or self.app.method(None, payment.method_id)
        request = ChargeRequest(
            reference=payment.gateway_reference,
            idempotency_key=payment.idempotency_key,
            customer_id=method.gateway_customer_id,
            method_id=method.gateway_method_id,
            amount=payment.amount,
            currency=payment.currency,
        )
        try:
            outcome = self.ctx.gateway.charge(request)
        except Unavailable as error:
            log.warning("payment.outcome_unknown", payment_id=str(payment.id), reason=str(error))
            return self.app.payment(None, payment.id)
        except Refused as error:
            log.warning("payment.refused", payment_id=str(payment.id), reason=str(error))
            outcome = ChargeOutcome(ChargeStatus.DECLINED, None, "gateway_refused")
        return self.settle(payment.id, outcome, payment)

    def resume(self, payment: Payment) -> Payment:
        """Find out what became of a `processing` payment; charge it if the gateway has nothing."""
        if payment.status is not Status.PROCESSING:
            return payment
        method = self.app.method(None, payment.method_id)
        assert payment.attempt_started_at is not None
        try:
            outcome = self.ctx.gateway.find_charge(
                payment.gateway_reference, method.gateway_customer_id, payment.attempt_started_at
            )
        except Unavailable:
            return payment
        if outcome is None:
            log.info("payment.recharging", payment_id=str(payment.id))
            return self.charge(payment, method)
        return self.settle(payment.id, outcome, payment)

    def settle(
        self, payment_id: UUID, outcome: ChargeOutcome, in_hand: Payment | None = None
    ) -> Payment:
        """Record the gateway's answer once, however many times and in whatever order it comes.

        `in_hand` is the payment as this process last saved it, saving a read; after a
        conflict the payment is read again.
        """
        for attempt in range(SETTLE_ATTEMPTS):
            payment = in_hand if attempt == 0 and in_hand else self.app.payment(None, payment_id)
            if outcome.status is ChargeStatus.PENDING:
                return payment
            if outcome.status is ChargeStatus.SUCCEEDED:
                if payment.status is Status.CAPTURED:
                    return payment
                aggregates, statements = self._capture(payment, outcome.intent_id or "")
            else:
                if payment.status is not Status.PROCESSING:
                    return payment
                aggregates, statements = self._fail(payment, outcome)
            try:
                self.app.record(*aggregates, effects=statements)
            except IntegrityError:
                continue  # another writer got there first, or the account's allocations moved
            log.info(
                "payment.settled",
                payment_id=str(payment.id),
                status=payment.status.value,
                decline_code=payment.decline_code,
            )
            return payment
        raise Conflict("the payment is changing too fast to record its outcome; retry")

    def _capture(self, payment: Payment, intent_id: str):
        state = self.ctx.reads.account_state(
            payment.clinic_id, payment.account_id, payment.currency, payment.invoice_ids
        )
        allocation = allocate_payment(payment.amount, state.open_invoices)
        payment.capture(intent_id, self.ctx.now(), allocation)
        related, statements = self._consequences(payment)
        return [payment, *related], [
            *effects.allocation(payment, payment.id, state.seq + 1, allocation, sign=1),
            effects.payment_record(payment),
            effects.work_done("payment", payment.id),
            *statements,
        ]

    def _fail(self, payment: Payment, outcome: ChargeOutcome):
        payment.fail(outcome.intent_id, outcome.decline_code or "card_declined", self.ctx.now())
        related, statements = self._consequences(payment)
        return [payment, *related], [
            effects.payment_record(payment),
            effects.work_done("payment", payment.id),
            *statements,
        ]

    def _consequences(self, payment: Payment):
        """A settled installment moves its plan: paid, retried later, or defaulted."""
        if payment.origin.get("kind") != "installment":
            return [], []
        plan = self.app.plan(None, payment.origin["plan_id"])
        number = payment.origin["installment_number"]
        statements = []
        if payment.status is Status.CAPTURED:
            plan.installment_paid(number, payment.id, self.ctx.now())
            statements.append(effects.work_done("plan_retry", plan.id, str(number)))
        else:
            plan.try_failed(number, self.ctx.now())
            installment = plan.installment(number)
            retry_at = self.ctx.retry_policy.next_try_at(
                installment["first_try_at"], len(installment["tries"])
            )
            if plan.status is PlanStatus.ACTIVE and retry_at is not None:
                statements.append(
                    effects.schedule_work("plan_retry", plan.id, retry_at, str(number))
                )
        return [plan], [*effects.plan(plan), *statements]
