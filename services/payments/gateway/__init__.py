"""The payment gateway port and its adapters: Stripe, and a sandbox with Stripe's test cards."""

from payments.gateway.port import (
    ChargeOutcome,
    ChargeRequest,
    ChargeStatus,
    Declined,
    GatewayCharge,
    GatewayError,
    GatewayRefund,
    PaymentGateway,
    RefundOutcome,
    RefundRequest,
    Refused,
    SavedCard,
    Unavailable,
)

__all__ = [
    "ChargeOutcome",
    "ChargeRequest",
    "ChargeStatus",
    "Declined",
    "GatewayCharge",
    "GatewayError",
    "GatewayRefund",
    "PaymentGateway",
    "RefundOutcome",
    "RefundRequest",
    "Refused",
    "SavedCard",
    "Unavailable",
]
