"""`clinicpay payments reconcile --date`: the gateway's charges and refunds of a day against ours.

Every difference is a mismatch to look at: money the gateway moved that we did not record (or
recorded otherwise), and money we recorded that the gateway has no trace of.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from payments.application import ids
from payments.application.app import Context
from payments.domain.payment import Payment, RefundStatus, Status
from payments.gateway import GatewayCharge, GatewayRefund

# Our settlement lags the gateway's timestamp a little: look that far beyond the day for ours.
MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class Mismatch:
    kind: str
    gateway_id: str | None
    our_id: str | None
    detail: str

    def line(self) -> str:
        ids = f"gateway={self.gateway_id or '-'} ours={self.our_id or '-'}"
        return f"{self.kind:<28} {ids} {self.detail}"


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, zone).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)


class Reconciliation:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run(self, day: date, zone: ZoneInfo) -> tuple[int, int, list[Mismatch]]:
        start, end = day_window(day, zone)
        gateway = self.ctx.gateway
        charges = gateway.charges_between(start - MARGIN, end + MARGIN)
        refunds = gateway.refunds_between(start - MARGIN, end + MARGIN)
        ours, our_refunds = self.ctx.reads.settled_between(start, end)
        in_day = [c for c in charges if start <= c.created_at < end]
        refunds_in_day = [r for r in refunds if start <= r.created_at < end]
        mismatches = [m for c in in_day if (m := self._charge(c)) is not None]
        mismatches += self._ours_missing(ours, charges)
        mismatches += [m for r in refunds_in_day if (m := self._refund(r)) is not None]
        mismatches += self._refunds_missing(our_refunds, refunds)
        return len(in_day), len(refunds_in_day), mismatches

    def _charge(self, charge: GatewayCharge) -> Mismatch | None:
        payment = self._payment(charge.reference)
        if payment is None:
            return Mismatch(
                "charge_unknown_here",
                charge.intent_id,
                charge.reference,
                f"{charge.amount} {charge.currency}",
            )
        ours = str(payment.id)
        if (payment.amount, payment.currency) != (charge.amount, charge.currency):
            detail = f"gateway {charge.amount}, ours {payment.amount} {payment.currency}"
            return Mismatch("amount_differs", charge.intent_id, ours, detail)
        if charge.succeeded and payment.status is not Status.CAPTURED:
            return Mismatch(
                "captured_there_not_here", charge.intent_id, ours, f"ours is {payment.status}"
            )
        if (
            not charge.succeeded
            and payment.status is Status.CAPTURED
            and payment.intent_id == charge.intent_id
        ):
            return Mismatch("captured_here_failed_there", charge.intent_id, ours, "")
        return None

    def _payment(self, reference: str | None) -> Payment | None:
        try:
            return self.ctx.app.find(Payment, UUID(reference or ""))
        except ValueError:
            return None

    def _ours_missing(self, ours: list[dict], charges: list[GatewayCharge]) -> list[Mismatch]:
        succeeded = {c.intent_id for c in charges if c.succeeded}
        return [
            Mismatch(
                "captured_here_not_there",
                row["intent_id"],
                str(row["payment_id"]),
                f"{row['amount']} {row['currency'].strip()}",
            )
            for row in ours
            if row["status"] == Status.CAPTURED.value and row["intent_id"] not in succeeded
        ]

    def _refund(self, refund: GatewayRefund) -> Mismatch | None:
        payment = self._payment_of_intent(refund)
        refund_id = self._refund_id(refund, payment)
        if payment is None or refund_id is None:
            return Mismatch(
                "refund_unknown_here",
                refund.gateway_refund_id,
                refund.reference,
                f"{refund.amount} {refund.currency}",
            )
        ours = payment.refunds[refund_id]
        if ours["amount"] != refund.amount:
            detail = f"gateway {refund.amount}, ours {ours['amount']}"
            return Mismatch(
                "refund_amount_differs", refund.gateway_refund_id, str(refund_id), detail
            )
        if ours["status"] is not RefundStatus.SUCCEEDED:
            return Mismatch(
                "refunded_there_not_here",
                refund.gateway_refund_id,
                str(refund_id),
                f"ours is {ours['status']}",
            )
        return None

    def _payment_of_intent(self, refund: GatewayRefund) -> Payment | None:
        if refund.intent_id is None:
            return None
        reference, _ = self.ctx.gateway.charge_status(refund.intent_id)
        return self._payment(reference)

    def _refund_id(self, refund: GatewayRefund, payment: Payment | None) -> UUID | None:
        if payment is None:
            return None
        candidates = [ids.external_refund(refund.gateway_refund_id)]
        with contextlib.suppress(ValueError):
            candidates.insert(0, UUID(refund.reference or ""))
        return next((c for c in candidates if c in payment.refunds), None)

    def _refunds_missing(self, ours: list[dict], refunds: list[GatewayRefund]) -> list[Mismatch]:
        known = {r.gateway_refund_id for r in refunds}
        return [
            Mismatch(
                "refunded_here_not_there",
                row["gateway_refund_id"],
                str(row["refund_id"]),
                f"{row['amount']}",
            )
            for row in ours
            if row["status"] == RefundStatus.SUCCEEDED.value
            and row["gateway_refund_id"] not in known
        ]
