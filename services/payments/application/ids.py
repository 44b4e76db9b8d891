"""Deterministic ids: the same request, retried or redelivered, names the same aggregate.

That is what makes a retry after a crash find the work already recorded instead of doing it
again, at every layer: the API (Idempotency-Key), reminders (plan and installment, mandate
and period) and webhooks (the gateway's own ids).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from typing import Any

NAMESPACE = uuid.UUID("0b1e5f3c-7a52-5c1e-9d43-6a2f8e4b7c90")


def for_request(clinic_id: uuid.UUID, kind: str, idempotency_key: str, body: Any) -> uuid.UUID:
    """A created aggregate's id from the caller's Idempotency-Key and the request's content."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return uuid.uuid5(NAMESPACE, f"{clinic_id}/{kind}/{idempotency_key}/{digest}")


def installment_payment(plan_id: uuid.UUID, number: int, try_number: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"plan/{plan_id}/installment/{number}/try/{try_number}")


def autopay_payment(mandate_id: uuid.UUID, period_start: date, currency: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"mandate/{mandate_id}/period/{period_start}/{currency}")


def external_refund(gateway_refund_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"gateway-refund/{gateway_refund_id}")
