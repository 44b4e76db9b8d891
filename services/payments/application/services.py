"""Every payments use case over one context: what the API, the worker and the CLI call."""

from __future__ import annotations

from dataclasses import dataclass

from payments.application.app import Context
from payments.application.charging import Charging
from payments.application.methods import Methods
from payments.application.paying import Paying
from payments.application.plans import Autopay, Plans
from payments.application.reconcile import Reconciliation
from payments.application.refunds import Refunds
from payments.application.reminders import ChargeReminders
from payments.application.resolver import Resolver
from payments.application.webhooks import Webhooks


@dataclass(frozen=True)
class Services:
    ctx: Context
    methods: Methods
    charging: Charging
    paying: Paying
    refunds: Refunds
    plans: Plans
    autopay: Autopay
    webhooks: Webhooks
    reminders: ChargeReminders
    resolver: Resolver
    reconciliation: Reconciliation

    @classmethod
    def over(cls, ctx: Context, work_lease_seconds: float = 15.0) -> Services:
        charging = Charging(ctx)
        paying = Paying(ctx, charging)
        refunds = Refunds(ctx)
        reminders = ChargeReminders(paying)
        return cls(
            ctx=ctx,
            methods=Methods(ctx),
            charging=charging,
            paying=paying,
            refunds=refunds,
            plans=Plans(ctx, paying),
            autopay=Autopay(ctx, paying),
            webhooks=Webhooks(ctx, charging, refunds),
            reminders=reminders,
            resolver=Resolver(ctx, charging, refunds, paying, reminders, work_lease_seconds),
            reconciliation=Reconciliation(ctx),
        )
