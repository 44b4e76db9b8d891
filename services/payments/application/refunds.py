"""Refunds: at most what was captured and not yet refunded, however many arrive at once.

The refund is reserved on the payment (a recorded `RefundRequested`) before the gateway is
asked; the payment's version guards the reservation, so two concurrent refunds cannot both
reserve the last of the money. A refund whose outcome is unknown stays pending and is
resolved later by reference, like a charge.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from payments.application import ids
from payments.application.app import Context
from payments.application.charging import SETTLE_ATTEMPTS
from payments.domain.allocation import allocate_refund
from payments.domain.errors import Conflict
from payments.domain.payment import Payment
from payments.gateway import RefundOutcome, RefundRequest, Refused, Unavailable
from payments.store import effects

log = structlog.get_logger("payments.refunds")

REASONS = (
    "requested_by_customer",
    "duplicate",
    "fraudulent",
    "billing_error",
    "service_not_provided",
    "other",
)


class Refunds:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.app = ctx.app

    def refund(
        self, clinic_id: UUID, payment_id: UUID, refund_id: UUID, amount: int, reason: str
    ) -> tuple[Payment, UUID]:
        for _ in range(SETTLE_ATTEMPTS):
            payment = self.app.payment(clinic_id, payment_id)
            if refund_id in payment.refunds:
                return self.resume(payment, refund_id), refund_id
            payment.request_refund(refund_id, amount, reason, self.ctx.now())
            try:
                self.app.record(
                    payment,
                    effects=[
                        effects.refund_record(payment, refund_id),
                        effects.schedule_work(
                            "refund",
                            payment.id,
                            self.ctx.now() + self.ctx.resolve_after,
                            str(refund_id),
                        ),
                    ],
                )
            except IntegrityError:
                continue  # a concurrent change to the payment: check the amount again
            return self._execute(payment, refund_id), refund_id
        raise Conflict("the payment is changing too fast to reserve a refund; retry")

    def _request(self, payment: Payment, refund_id: UUID) -> RefundRequest:
        assert payment.intent_id is not None
        return RefundRequest(
            reference=str(refund_id),
            idempotency_key=f"clinicpay-refund-{refund_id}",
            intent_id=payment.intent_id,
            amount=payment.refunds[refund_id]["amount"],
        )

    def _execute(self, payment: Payment, refund_id: UUID) -> Payment:
        try:
            outcome = self.ctx.gateway.refund(self._request(payment, refund_id))
        except Unavailable as error:
            log.warning("refund.outcome_unknown", refund_id=str(refund_id), reason=str(error))
            return self.app.payment(None, payment.id)
        except Refused as error:
            outcome = RefundOutcome(False, "", str(error))
        return self.settle(payment.id, refund_id, outcome)

    def resume(self, payment: Payment, refund_id: UUID) -> Payment:
        if payment.pending_refund(refund_id) is None:
            return payment
        assert payment.intent_id is not None
        try:
            outcome = self.ctx.gateway.find_refund(str(refund_id), payment.intent_id)
        except Unavailable:
            return payment
        if outcome is None:
            return self._execute(payment, refund_id)
        return self.settle(payment.id, refund_id, outcome)

    def settle(self, payment_id: UUID, refund_id: UUID, outcome: RefundOutcome) -> Payment:
        for _ in range(SETTLE_ATTEMPTS):
            payment = self.app.payment(None, payment_id)
            refund = payment.pending_refund(refund_id)
            if refund is None:
                return payment
            statements = [effects.work_done("refund", payment.id, str(refund_id))]
            if outcome.succeeded:
                seq = self.ctx.reads.allocation_seq(payment.clinic_id, payment.account_id)
                assert payment.allocation is not None
                allocation = allocate_refund(
                    refund["amount"], payment.allocation, payment.refunded_allocations()
                )
                payment.complete_refund(
                    refund_id, outcome.gateway_refund_id, self.ctx.now(), allocation
                )
                statements += effects.allocation(payment, refund_id, seq + 1, allocation, sign=-1)
            else:
                payment.fail_refund(refund_id, outcome.failure_reason or "refused", self.ctx.now())
            statements.append(effects.refund_record(payment, refund_id))
            try:
                self.app.record(payment, effects=statements)
            except IntegrityError:
                continue
            log.info(
                "refund.settled",
                refund_id=str(refund_id),
                status=payment.refunds[refund_id]["status"].value,
            )
            return payment
        raise Conflict("the payment is changing too fast to record its refund; retry")

    def record_external(self, payment_id: UUID, gateway_refund_id: str, amount: int) -> Payment:
        """A refund made at the gateway directly (its dashboard): recorded once, by its id."""
        refund_id = ids.external_refund(gateway_refund_id)
        for _ in range(SETTLE_ATTEMPTS):
            payment = self.app.payment(None, payment_id)
            if refund_id in payment.refunds:
                break
            payment.request_refund(refund_id, amount, "gateway_dashboard", self.ctx.now())
            try:
                self.app.record(payment, effects=[effects.refund_record(payment, refund_id)])
            except IntegrityError:
                continue
            break
        return self.settle(payment_id, refund_id, RefundOutcome(True, gateway_refund_id))
