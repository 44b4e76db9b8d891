"""Every rule the payments domain refuses, by kind; the API maps each kind to one status."""

from __future__ import annotations


class PaymentsError(Exception):
    """Base of every refusal of the payments domain."""


class NotFound(PaymentsError):
    """Absent, or another clinic's: the two are indistinguishable on purpose."""


class PaymentNotFound(NotFound):
    pass


class PaymentMethodNotFound(NotFound):
    pass


class PlanNotFound(NotFound):
    pass


class MandateNotFound(NotFound):
    pass


class InvoiceNotOpen(NotFound):
    """The invoice is unknown to payments, belongs to another account, or owes nothing."""


class InvalidPaymentRequest(PaymentsError):
    """A request that breaks a payments rule whatever the state (422)."""


class Conflict(PaymentsError):
    """A request the current state does not allow (409)."""


class PaymentNotChargeable(Conflict):
    pass


class NotRefundable(Conflict):
    pass


class RefundExceedsCaptured(Conflict):
    pass


class PlanNotActive(Conflict):
    pass


class InvoiceAlreadyInPlan(Conflict):
    pass


class AutopayAlreadyEnabled(Conflict):
    pass


class PaymentMethodInUse(Conflict):
    pass


class PaymentMethodRemoved(Conflict):
    pass


class CardDeclined(PaymentsError):
    """The gateway declined the card (402); `decline_code` says why, `payment_id` which payment."""

    def __init__(self, decline_code: str, payment_id: object | None = None) -> None:
        super().__init__(decline_code)
        self.decline_code = decline_code
        self.payment_id = payment_id


class GatewayUnavailable(PaymentsError):
    """The gateway did not answer; nothing we know of changed (503, safe to retry)."""
