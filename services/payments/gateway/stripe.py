"""The Stripe adapter: the real `stripe` SDK through a `StripeClient` (no module globals).

Charges are off-session PaymentIntents confirmed at creation, carrying our reference in their
metadata and our idempotency key. The SDK's own retries are off: a call whose outcome is
unknown surfaces as `Unavailable`, and the caller resolves it with `find_charge`, which finds
the charge by reference whether or not the server honoured the idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import stripe

from payments.gateway.port import (
    ChargeOutcome,
    ChargeRequest,
    ChargeStatus,
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

PAYMENT_KEY = "clinicpay_payment_id"
REFUND_KEY = "clinicpay_refund_id"
ACCOUNT_KEY = "clinicpay_account"
T = TypeVar("T")


def stripe_client(
    secret_key: str, api_base: str | None, timeout_seconds: float
) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.HTTPXClient(allow_sync_methods=True, timeout=timeout_seconds),
        max_network_retries=0,
    )


def _call(request: Callable[[], T]) -> T:
    try:
        return request()
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.IdempotencyError) as error:
        # IdempotencyError: the first call with this key is still in flight at Stripe.
        raise Unavailable(type(error).__name__) from None
    except stripe.APIError as error:
        raise Unavailable(f"{type(error).__name__} {error.http_status}") from None
    except stripe.InvalidRequestError as error:
        raise Refused(error.code or f"invalid request ({error.http_status})") from None
    except stripe.AuthenticationError:
        raise Refused("the gateway refused our credentials") from None


def _decline_code(error: stripe.CardError) -> str:
    body = (error.json_body or {}).get("error", {})
    return body.get("decline_code") or error.code or "card_declined"


def _outcome(intent: Any) -> ChargeOutcome:
    status = intent.status
    if status == "succeeded":
        return ChargeOutcome(ChargeStatus.SUCCEEDED, intent.id)
    if status in ("processing", "requires_capture"):
        return ChargeOutcome(ChargeStatus.PENDING, intent.id)
    error = intent.last_payment_error
    code = (getattr(error, "decline_code", None) or getattr(error, "code", None)) if error else None
    if status == "requires_action":
        code = "authentication_required"
    return ChargeOutcome(ChargeStatus.DECLINED, intent.id, code or "card_declined")


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) or value is None else value.id


def _metadata(resource: Any) -> dict[str, str]:
    metadata = getattr(resource, "metadata", None)
    return metadata.to_dict() if metadata else {}


class StripeGateway(PaymentGateway):
    name = "stripe"

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.v1 = client.v1

    def create_customer(self, reference: str) -> str:
        customer = _call(
            lambda: self.v1.customers.create(
                params={"metadata": {ACCOUNT_KEY: reference}},
                options={"idempotency_key": f"clinicpay-customer-{reference}"},
            )
        )
        return customer.id

    def save_card(self, customer_id: str, token: str) -> SavedCard:
        try:
            method = _call(
                lambda: self.v1.payment_methods.attach(token, params={"customer": customer_id})
            )
        except stripe.CardError as error:
            raise Declined(_decline_code(error)) from None
        card = method.card
        return SavedCard(method.id, card.brand, card.last4, card.exp_month, card.exp_year)

    def remove_card(self, gateway_method_id: str) -> None:
        _call(lambda: self.v1.payment_methods.detach(gateway_method_id))

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        params = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "customer": request.customer_id,
            "payment_method": request.method_id,
            "confirm": True,
            "off_session": True,
            "metadata": {PAYMENT_KEY: request.reference},
        }
        try:
            intent = _call(
                lambda: self.v1.payment_intents.create(
                    params=params, options={"idempotency_key": request.idempotency_key}
                )
            )
        except stripe.CardError as error:
            intent_id = _id((error.json_body or {}).get("error", {}).get("payment_intent"))
            return ChargeOutcome(ChargeStatus.DECLINED, intent_id, _decline_code(error))
        return _outcome(intent)

    def find_charge(
        self, reference: str, customer_id: str, since: datetime
    ) -> ChargeOutcome | None:
        outcomes = [
            _outcome(intent)
            for intent in self._customer_intents(customer_id, since)
            if _metadata(intent).get(PAYMENT_KEY) == reference
        ]
        for status in (ChargeStatus.SUCCEEDED, ChargeStatus.PENDING, ChargeStatus.DECLINED):
            for outcome in outcomes:
                if outcome.status is status:
                    return outcome
        return None

    def _customer_intents(self, customer_id: str, since: datetime) -> Iterator[Any]:
        # Charges list by customer and creation time on every Stripe-compatible server; each
        # names its PaymentIntent, whose metadata holds our reference.
        created_after = int((since - timedelta(minutes=5)).timestamp())
        charges = _call(
            lambda: self.v1.charges.list(
                params={"customer": customer_id, "created": {"gt": created_after}, "limit": 100}
            )
        )
        seen: set[str] = set()
        for charge in charges.auto_paging_iter():
            intent_id = _id(charge.payment_intent)
            if intent_id and intent_id not in seen:
                seen.add(intent_id)
                yield _call(lambda intent_id=intent_id: self.v1.payment_intents.retrieve(intent_id))

    def charge_status(self, intent_id: str) -> tuple[str | None, ChargeOutcome]:
        intent = _call(lambda: self.v1.payment_intents.retrieve(intent_id))
        return _metadata(intent).get(PAYMENT_KEY), _outcome(intent)

    def refund(self, request: RefundRequest) -> RefundOutcome:
        refund = _call(
            lambda: self.v1.refunds.create(
                params={
                    "payment_intent": request.intent_id,
                    "amount": request.amount,
                    "metadata": {REFUND_KEY: request.reference},
                },
                options={"idempotency_key": request.idempotency_key},
            )
        )
        return _refund_outcome(refund)

    def find_refund(self, reference: str, intent_id: str) -> RefundOutcome | None:
        for refund in self._refunds(intent_id):
            if _metadata(refund).get(REFUND_KEY) == reference:
                return _refund_outcome(refund)
        return None

    def refunds_of(self, intent_id: str) -> list[GatewayRefund]:
        return [_gateway_refund(r) for r in self._refunds(intent_id)]

    def _refunds(self, intent_id: str) -> Iterator[Any]:
        listed = _call(lambda: self.v1.refunds.list(params={"payment_intent": intent_id}))
        return listed.auto_paging_iter()

    def charges_between(self, start: datetime, end: datetime) -> list[GatewayCharge]:
        listed = _call(
            lambda: self.v1.charges.list(
                params={"created": {"gt": int(start.timestamp()) - 1}, "limit": 100}
            )
        )
        found = []
        for charge in listed.auto_paging_iter():
            created = _at(charge.created)
            intent_id = _id(charge.payment_intent)
            if created < end and intent_id:
                intent = _call(
                    lambda intent_id=intent_id: self.v1.payment_intents.retrieve(intent_id)
                )
                found.append(
                    GatewayCharge(
                        intent_id=intent_id,
                        reference=_metadata(intent).get(PAYMENT_KEY),
                        amount=charge.amount,
                        currency=charge.currency.upper(),
                        succeeded=charge.status == "succeeded",
                        created_at=created,
                    )
                )
        return found

    def refunds_between(self, start: datetime, end: datetime) -> list[GatewayRefund]:
        # Stripe lists refunds newest first: stop at the first one older than the window.
        listed = _call(lambda: self.v1.refunds.list(params={"limit": 100}))
        found = []
        for refund in listed.auto_paging_iter():
            created = _at(refund.created)
            if created < start:
                break
            if created < end:
                found.append(_gateway_refund(refund))
        return found


def _refund_outcome(refund: Any) -> RefundOutcome:
    if refund.status in ("succeeded", "pending"):
        return RefundOutcome(True, refund.id)
    return RefundOutcome(False, refund.id, getattr(refund, "failure_reason", None) or refund.status)


def _gateway_refund(refund: Any) -> GatewayRefund:
    return GatewayRefund(
        gateway_refund_id=refund.id,
        intent_id=_id(refund.payment_intent),
        reference=_metadata(refund).get(REFUND_KEY),
        amount=refund.amount,
        currency=refund.currency.upper(),
        created_at=_at(refund.created),
    )
