"""What payments needs from a card processor, in its own terms.

Every charge and refund carries our reference (the payment or refund id) and an idempotency
key derived from it. When a call's outcome is unknown (a timeout, a 5xx), the caller keeps the
payment `processing` and later asks `find_charge` / `find_refund` what happened, charging
again with the same key only when the gateway has no trace of the first call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class GatewayError(Exception):
    """Base of what a gateway call can end in besides an answer."""


class Unavailable(GatewayError):
    """No answer (timeout, connection error, 5xx, rate limit): the outcome is unknown."""


class Refused(GatewayError):
    """The gateway refused the request itself (unknown token, bad parameters)."""


class Declined(GatewayError):
    """The card was declined when it was saved."""

    def __init__(self, decline_code: str) -> None:
        super().__init__(decline_code)
        self.decline_code = decline_code


@dataclass(frozen=True)
class SavedCard:
    gateway_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeRequest:
    reference: str
    idempotency_key: str
    customer_id: str
    method_id: str
    amount: int
    currency: str


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    PENDING = "pending"


@dataclass(frozen=True)
class ChargeOutcome:
    status: ChargeStatus
    intent_id: str | None
    decline_code: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    reference: str
    idempotency_key: str
    intent_id: str
    amount: int


@dataclass(frozen=True)
class RefundOutcome:
    succeeded: bool
    gateway_refund_id: str
    failure_reason: str | None = None


@dataclass(frozen=True)
class GatewayCharge:
    """A charge as the gateway lists it, for reconciliation."""

    intent_id: str
    reference: str | None
    amount: int
    currency: str
    succeeded: bool
    created_at: datetime


@dataclass(frozen=True)
class GatewayRefund:
    gateway_refund_id: str
    intent_id: str | None
    reference: str | None
    amount: int
    currency: str
    created_at: datetime


class PaymentGateway(ABC):
    name: str

    @abstractmethod
    def create_customer(self, reference: str) -> str:
        """A gateway customer for one billing account; returns its id."""

    @abstractmethod
    def save_card(self, customer_id: str, token: str) -> SavedCard:
        """Attach a tokenised card to the customer. Raises Declined, Refused, Unavailable."""

    @abstractmethod
    def remove_card(self, gateway_method_id: str) -> None: ...

    @abstractmethod
    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        """Charge off-session. Raises Unavailable when the outcome is unknown."""

    @abstractmethod
    def find_charge(
        self, reference: str, customer_id: str, since: datetime
    ) -> ChargeOutcome | None:
        """What became of the charge made for `reference`, or None if the gateway has none."""

    @abstractmethod
    def charge_status(self, intent_id: str) -> tuple[str | None, ChargeOutcome]:
        """Our reference and the outcome of a charge the gateway names (for webhooks)."""

    @abstractmethod
    def refund(self, request: RefundRequest) -> RefundOutcome: ...

    @abstractmethod
    def find_refund(self, reference: str, intent_id: str) -> RefundOutcome | None: ...

    @abstractmethod
    def refunds_of(self, intent_id: str) -> list[GatewayRefund]: ...

    @abstractmethod
    def charges_between(self, start: datetime, end: datetime) -> list[GatewayCharge]: ...

    @abstractmethod
    def refunds_between(self, start: datetime, end: datetime) -> list[GatewayRefund]: ...
