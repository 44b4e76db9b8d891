"""The worker's due work: charges and refunds whose outcome is unknown, installment retries."""

from __future__ import annotations

from uuid import UUID

import structlog

from payments.application.app import Context
from payments.application.charging import Charging
from payments.application.paying import Paying
from payments.application.refunds import Refunds
from payments.application.reminders import ChargeReminders
from payments.store.queries import WorkItem
from telemetry import continue_trace

log = structlog.get_logger("payments.resolver")


class Resolver:
    def __init__(
        self,
        ctx: Context,
        charging: Charging,
        refunds: Refunds,
        paying: Paying,
        reminders: ChargeReminders,
        lease_seconds: float,
    ) -> None:
        self.ctx = ctx
        self.charging = charging
        self.refunds = refunds
        self.paying = paying
        self.reminders = reminders
        self.lease_seconds = lease_seconds

    def run_due(self, limit: int = 20) -> int:
        items = self.ctx.reads.claim_due_work(limit, self.lease_seconds)
        for item in items:
            try:
                self._do(item)
            except Exception:  # one bad item must not stop the others; it comes due again
                log.exception(
                    "work.failed", kind=item.kind, subject=str(item.subject), tries=item.tries
                )
        return len(items)

    def _do(self, item: WorkItem) -> None:
        app = self.ctx.app
        if item.kind == "reminder" and item.payload:
            with continue_trace(
                "payments charge reminder",
                correlation_id=item.payload["correlation_id"],
                causation_id=str(item.subject),
                traceparent=item.payload.get("traceparent"),
            ):
                self.reminders.handle(UUID(item.payload["clinic_id"]), item.payload["data"])
            self.ctx.reads.drop_work(item.kind, item.subject, item.detail)
        elif item.kind == "payment":
            self.charging.resume(app.payment(None, item.subject))
        elif item.kind == "refund":
            self.refunds.resume(app.payment(None, item.subject), UUID(item.detail))
        elif item.kind == "plan_retry":
            charged = self.paying.charge_installment(None, item.subject, int(item.detail))
            if charged is None:  # paid, canceled or defaulted meanwhile: nothing left to retry
                self.ctx.reads.drop_work(item.kind, item.subject, item.detail)
        log.info("work.done", kind=item.kind, subject=str(item.subject), tries=item.tries)
