"""A saved payment method: the gateway's tokens and what a patient recognises their card by.

Never a card number: the gateway holds the card, we hold its customer and method ids, the
brand, the last four digits and the expiry.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from payments.domain.errors import PaymentMethodRemoved


class PaymentMethod(Aggregate):
    @event("Saved")
    def __init__(
        self,
        id: UUID,
        clinic_id: UUID,
        account_id: UUID,
        gateway: str,
        gateway_customer_id: str,
        gateway_method_id: str,
        brand: str,
        last4: str,
        exp_month: int,
        exp_year: int,
        is_default: bool,
        saved_at: datetime,
    ) -> None:
        self.clinic_id = clinic_id
        self.account_id = account_id
        self.gateway = gateway
        self.gateway_customer_id = gateway_customer_id
        self.gateway_method_id = gateway_method_id
        self.brand = brand
        self.last4 = last4
        self.exp_month = exp_month
        self.exp_year = exp_year
        self.is_default = is_default
        self.saved_at = saved_at
        self.removed_at: datetime | None = None

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None

    def check_usable(self) -> None:
        if self.is_removed:
            raise PaymentMethodRemoved("this payment method was removed")

    def make_default(self) -> None:
        self.check_usable()
        if not self.is_default:
            self._set_default(is_default=True)

    def clear_default(self) -> None:
        if self.is_default:
            self._set_default(is_default=False)

    @event("DefaultChanged")
    def _set_default(self, is_default: bool) -> None:
        self.is_default = is_default

    def remove(self, at: datetime) -> None:
        if not self.is_removed:
            self._remove(at)

    @event("Removed")
    def _remove(self, at: datetime) -> None:
        self.removed_at = at
        self.is_default = False
