"""Maps payments' recorded domain events to the contract events it publishes.

Internal steps (an attempt started, a refund reserved, a default card changed) never travel.
Each contract is built from the aggregate as it stood at the version that produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.domain import Aggregate

from contracts import Envelope, contract_named, make_envelope
from payments.application.app import PaymentsApp
from payments.domain.allocation import Allocation
from payments.domain.mandate import AutopayMandate
from payments.domain.payment import Payment
from payments.domain.plan import PaymentPlan
from telemetry import Trace, new_correlation_id

Body = Callable[[Any, Any], dict[str, Any] | None]


def _origin(payment: Payment) -> dict[str, Any]:
    origin = payment.origin
    fields = {
        "plan_id": origin.get("plan_id"),
        "installment_number": origin.get("installment_number"),
        "mandate_id": origin.get("mandate_id"),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _allocations(allocation: Allocation) -> dict[str, Any]:
    return {
        "allocations": [
            {"invoice_id": line.invoice_id, "amount": line.amount} for line in allocation.lines
        ],
        "unallocated_amount": allocation.unallocated,
    }


def _money(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "account_id": payment.account_id,
        "amount": payment.amount,
        "currency": payment.currency,
    }


def _scheduled(payment: Payment, event: Any) -> dict[str, Any] | None:
    if payment.scheduled_for is None:
        return None
    body = {**_money(payment), "scheduled_for": payment.scheduled_for}
    return body | ({"invoice_id": payment.invoice_id} if payment.invoice_id else {})


def _captured(payment: Payment, event: Any) -> dict[str, Any]:
    assert payment.allocation is not None
    return {
        **_money(payment),
        "captured_at": payment.captured_at,
        **_allocations(payment.allocation),
        **_origin(payment),
    }


def _failed(payment: Payment, event: Any) -> dict[str, Any]:
    return {
        **_money(payment),
        "failed_at": payment.failed_at,
        "decline_code": payment.decline_code,
        "attempt": payment.origin.get("try", 1),
        **_origin(payment),
    }


def _refunded(payment: Payment, event: Any) -> dict[str, Any]:
    refund = payment.refunds[event.refund_id]
    return {
        **_money(payment),
        "refund_id": event.refund_id,
        "amount": refund["amount"],
        "refunded_at": refund["settled_at"],
        **_allocations(refund["allocation"]),
    }


def _disputed(payment: Payment, event: Any) -> dict[str, Any]:
    return {
        **_money(payment),
        "amount": event.amount,
        "disputed_at": event.at,
        "reason": event.reason,
    }


def _plan_created(plan: PaymentPlan, event: Any) -> dict[str, Any]:
    return {
        "plan_id": plan.id,
        "account_id": plan.account_id,
        "invoice_ids": plan.invoice_ids,
        "currency": plan.currency,
        "total_amount": plan.total_amount,
        "interval": plan.interval.value,
        "installments": [
            {"number": i["number"], "due_date": i["due_date"], "amount": i["amount"]}
            for i in sorted(plan.installments.values(), key=lambda i: i["number"])
        ],
    }


def _plan_ended(field: str) -> Body:
    def body(plan: PaymentPlan, event: Any) -> dict[str, Any]:
        return {"plan_id": plan.id, "account_id": plan.account_id, field: event.at}

    return body


def _plan_defaulted(plan: PaymentPlan, event: Any) -> dict[str, Any]:
    return {
        "plan_id": plan.id,
        "account_id": plan.account_id,
        "defaulted_at": event.at,
        "installment_number": event.number,
        "amount_outstanding": plan.remaining_amount,
        "currency": plan.currency,
    }


def _autopay_enabled(mandate: AutopayMandate, event: Any) -> dict[str, Any]:
    return {
        "mandate_id": mandate.id,
        "account_id": mandate.account_id,
        "cadence": mandate.cadence,
        "weekday": mandate.weekday,
        "enabled_at": mandate.enabled_at,
        "first_charge_on": mandate.first_charge_on,
    }


def _autopay_disabled(mandate: AutopayMandate, event: Any) -> dict[str, Any]:
    return {"mandate_id": mandate.id, "account_id": mandate.account_id, "disabled_at": event.at}


MAPPINGS: dict[type, tuple[str, Body]] = {
    Payment.Requested: ("PaymentScheduled", _scheduled),
    Payment.Captured: ("PaymentCaptured", _captured),
    Payment.Failed: ("PaymentFailed", _failed),
    Payment.Refunded: ("PaymentRefunded", _refunded),
    Payment.Disputed: ("PaymentDisputed", _disputed),
    PaymentPlan.Created: ("PaymentPlanCreated", _plan_created),
    PaymentPlan.Completed: ("PaymentPlanCompleted", _plan_ended("completed_at")),
    PaymentPlan.Canceled: ("PaymentPlanCanceled", _plan_ended("canceled_at")),
    PaymentPlan.Defaulted: ("PaymentPlanDefaulted", _plan_defaulted),
    AutopayMandate.Enabled: ("AutopayEnabled", _autopay_enabled),
    AutopayMandate.Disabled: ("AutopayDisabled", _autopay_disabled),
}


class PaymentContracts:
    def __init__(self, app: PaymentsApp) -> None:
        self.app = app

    def __call__(self, event: Any, trace: Trace | None) -> Envelope | None:
        mapping = MAPPINGS.get(type(event))
        if mapping is None:
            return None
        name, body = mapping
        aggregate: Aggregate = self.app.repository.get(
            event.originator_id, version=event.originator_version
        )
        data = body(aggregate, event)
        if data is None:
            return None
        contract = contract_named("payments", name)
        return make_envelope(
            event_type=contract.type,
            aggregate_id=aggregate.id,
            sequence=event.originator_version,
            clinic_id=aggregate.clinic_id,
            account_id=aggregate.account_id,
            data=contract.model.model_validate(data),
            time=event.timestamp,
            correlation_id=trace.correlation_id if trace else new_correlation_id(),
            causation_id=trace.causation_id if trace else None,
        )
