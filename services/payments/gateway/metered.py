"""Counts every gateway call by operation and outcome, and times it, around any adapter."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from payments.gateway.port import (
    ChargeOutcome,
    ChargeRequest,
    Declined,
    GatewayCharge,
    GatewayRefund,
    PaymentGateway,
    RefundOutcome,
    RefundRequest,
    Refused,
    SavedCard,
    Unavailable,
)
from telemetry.metrics import GATEWAY_CALL_DURATION, GATEWAY_CALLS

T = TypeVar("T")
_ERRORS = ((Declined, "declined"), (Unavailable, "unavailable"), (Refused, "refused"))


def outcome_of(result: object) -> str:
    if result is None:
        return "not_found"
    if isinstance(result, ChargeOutcome):
        return result.status.value
    if isinstance(result, RefundOutcome):
        return "succeeded" if result.succeeded else "failed"
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], ChargeOutcome):
        return result[1].status.value
    return "ok"


class MeteredGateway(PaymentGateway):
    def __init__(self, inner: PaymentGateway) -> None:
        self.inner = inner
        self.name = inner.name

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = call()
            outcome = outcome_of(result)
            return result
        except Exception as error:
            outcome = next((name for kind, name in _ERRORS if isinstance(error, kind)), "error")
            raise
        finally:
            GATEWAY_CALLS.labels(self.name, operation, outcome).inc()
            GATEWAY_CALL_DURATION.labels(self.name, operation).observe(
                time.perf_counter() - started
            )

    def create_customer(self, reference: str) -> str:
        return self._call("create_customer", lambda: self.inner.create_customer(reference))

    def save_card(self, customer_id: str, token: str) -> SavedCard:
        return self._call("save_card", lambda: self.inner.save_card(customer_id, token))

    def remove_card(self, gateway_method_id: str) -> None:
        self._call("remove_card", lambda: self.inner.remove_card(gateway_method_id))

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        return self._call("charge", lambda: self.inner.charge(request))

    def find_charge(
        self, reference: str, customer_id: str, since: datetime
    ) -> ChargeOutcome | None:
        return self._call(
            "find_charge", lambda: self.inner.find_charge(reference, customer_id, since)
        )

    def charge_status(self, intent_id: str) -> tuple[str | None, ChargeOutcome]:
        return self._call("charge_status", lambda: self.inner.charge_status(intent_id))

    def refund(self, request: RefundRequest) -> RefundOutcome:
        return self._call("refund", lambda: self.inner.refund(request))

    def find_refund(self, reference: str, intent_id: str) -> RefundOutcome | None:
        return self._call("find_refund", lambda: self.inner.find_refund(reference, intent_id))

    def refunds_of(self, intent_id: str) -> list[GatewayRefund]:
        return self._call("refunds_of", lambda: self.inner.refunds_of(intent_id))

    def charges_between(self, start: datetime, end: datetime) -> list[GatewayCharge]:
        return self._call("charges_between", lambda: self.inner.charges_between(start, end))

    def refunds_between(self, start: datetime, end: datetime) -> list[GatewayRefund]:
        return self._call("refunds_between", lambda: self.inner.refunds_between(start, end))
