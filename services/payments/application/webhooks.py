"""Stripe's webhook events, applied in whatever order and as often as they arrive.

A webhook is a hint, the gateway is the truth: for every event we ask the gateway for the
charge's current state and record that, so a `payment_failed` arriving after a `succeeded`,
or a refund reported before the capture, ends in the same state as the orderly sequence.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from payments.application import ids
from payments.application.app import Context
from payments.application.charging import SETTLE_ATTEMPTS, Charging
from payments.application.refunds import Refunds
from payments.domain.payment import Payment, Status
from payments.gateway import RefundOutcome, Refused

log = structlog.get_logger("payments.webhooks")

INTENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})
HANDLED = INTENT_EVENTS | {"charge.refunded", "charge.dispute.created"}


class Webhooks:
    def __init__(self, ctx: Context, charging: Charging, refunds: Refunds) -> None:
        self.ctx = ctx
        self.app = ctx.app
        self.charging = charging
        self.refunds = refunds

    def handle(self, event: dict[str, Any]) -> Payment | None:
        """Apply one verified event once; returns the payment it concerned, if ours."""
        event_id, event_type = str(event.get("id", "")), str(event.get("type", ""))
        if self.ctx.reads.seen_webhook(event_id):
            return None
        resource = (event.get("data") or {}).get("object") or {}
        payment = None
        if event_type in INTENT_EVENTS:
            payment = self._settle_intent(resource.get("id"))
        elif event_type == "charge.refunded":
            payment = self._refunded(resource.get("payment_intent"))
        elif event_type == "charge.dispute.created":
            payment = self._disputed(resource)
        self.ctx.reads.mark_webhook(event_id, event_type)
        log.info("webhook.handled", event_type=event_type, ours=payment is not None)
        return payment

    def _settle_intent(self, intent_id: Any) -> Payment | None:
        if not isinstance(intent_id, str):
            return None
        try:
            reference, outcome = self.ctx.gateway.charge_status(intent_id)
        except Refused:
            return None
        payment = self._ours(reference)
        return self.charging.settle(payment.id, outcome) if payment else None

    def _ours(self, reference: str | None) -> Payment | None:
        try:
            payment_id = UUID(reference or "")
        except ValueError:
            return None
        return self.app.find(Payment, payment_id)

    def _refunded(self, intent_id: Any) -> Payment | None:
        payment = self._settle_intent(intent_id)
        if payment is None or payment.status is not Status.CAPTURED:
            return payment
        for refund in self.ctx.gateway.refunds_of(intent_id):
            ours = self._ours_refund(payment, refund.reference)
            if ours is not None:
                payment = self.refunds.settle(
                    payment.id, ours, RefundOutcome(True, refund.gateway_refund_id)
                )
            elif ids.external_refund(refund.gateway_refund_id) not in payment.refunds:
                payment = self.refunds.record_external(
                    payment.id, refund.gateway_refund_id, refund.amount
                )
        return payment

    def _ours_refund(self, payment: Payment, reference: str | None) -> UUID | None:
        try:
            refund_id = UUID(reference or "")
        except ValueError:
            return None
        return refund_id if refund_id in payment.refunds else None

    def _disputed(self, dispute: dict[str, Any]) -> Payment | None:
        payment = self._settle_intent(dispute.get("payment_intent"))
        if payment is None:
            return None
        for _ in range(SETTLE_ATTEMPTS):
            payment = self.app.payment(None, payment.id)
            payment.dispute(
                str(dispute.get("id")),
                int(dispute.get("amount") or payment.amount),
                str(dispute.get("reason") or "unknown"),
                self.ctx.now(),
            )
            try:
                self.app.record(payment)
            except IntegrityError:
                continue
            return payment
        return payment
