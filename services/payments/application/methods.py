"""Saved payment methods: the gateway keeps the card, we keep its tokens. One default each."""

from __future__ import annotations

from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from payments.application.app import Context
from payments.domain import errors
from payments.domain.method import PaymentMethod
from payments.gateway import Declined, Refused, Unavailable
from payments.store import effects

log = structlog.get_logger("payments.methods")
SAVE_ATTEMPTS = 5


class Methods:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.app = ctx.app
        self.gateway = ctx.gateway

    def save(
        self, clinic_id: UUID, method_id: UUID, account_id: UUID, token: str, make_default: bool
    ) -> PaymentMethod:
        existing = self.app.find(PaymentMethod, method_id)
        if existing is not None:
            return self.app.method(clinic_id, method_id)
        customer_id = self._customer(clinic_id, account_id)
        try:
            card = self.gateway.save_card(customer_id, token)
        except Declined as declined:
            raise errors.CardDeclined(declined.decline_code) from None
        except Refused:
            raise errors.InvalidPaymentRequest("the gateway did not accept this token") from None
        except Unavailable:
            raise errors.GatewayUnavailable("the payment gateway did not answer") from None
        for _ in range(SAVE_ATTEMPTS):
            current_default = self._default(clinic_id, account_id)
            method = PaymentMethod(
                id=method_id,
                clinic_id=clinic_id,
                account_id=account_id,
                gateway=self.gateway.name,
                gateway_customer_id=customer_id,
                gateway_method_id=card.gateway_method_id,
                brand=card.brand,
                last4=card.last4,
                exp_month=card.exp_month,
                exp_year=card.exp_year,
                is_default=make_default or current_default is None,
                saved_at=self.ctx.now(),
            )
            changed = [method]
            if method.is_default and current_default is not None:
                current_default.clear_default()
                changed.insert(0, current_default)  # the old default gives way first
            try:
                self.app.record(*changed, effects=[effects.payment_method(m) for m in changed])
            except IntegrityError:
                if self.app.find(PaymentMethod, method_id) is not None:
                    return self.app.method(clinic_id, method_id)
                continue  # another card became the default meanwhile
            log.info("payment_method.saved", method_id=str(method_id), brand=card.brand)
            return method
        raise errors.Conflict("the account's payment methods are changing too fast; retry")

    def _customer(self, clinic_id: UUID, account_id: UUID) -> str:
        known = self.ctx.reads.customer_of(clinic_id, account_id, self.gateway.name)
        if known is not None:
            return known
        try:
            return self.gateway.create_customer(f"{clinic_id}/{account_id}")
        except (Unavailable, Refused):
            raise errors.GatewayUnavailable("the payment gateway did not answer") from None

    def _default(self, clinic_id: UUID, account_id: UUID) -> PaymentMethod | None:
        for row in self.ctx.reads.methods_of(clinic_id, account_id):
            if row["is_default"]:
                return self.app.method(clinic_id, row["method_id"])
        return None

    def listed(self, clinic_id: UUID, account_id: UUID) -> list[dict]:
        return self.ctx.reads.methods_of(clinic_id, account_id)

    def remove(self, clinic_id: UUID, method_id: UUID) -> None:
        method = self.app.method(clinic_id, method_id)
        if method.is_removed:
            return
        if self.ctx.reads.method_in_use(method_id):
            raise errors.PaymentMethodInUse("an active payment plan or autopay uses this method")
        try:
            self.gateway.remove_card(method.gateway_method_id)
        except Unavailable:
            raise errors.GatewayUnavailable("the payment gateway did not answer") from None
        except Refused:
            log.warning("payment_method.gateway_forgot", method_id=str(method_id))
        was_default = method.is_default
        method.remove(self.ctx.now())
        changed = [method]
        if was_default:
            successor = self._newest_other(clinic_id, method)
            if successor is not None:
                successor.make_default()
                changed.append(successor)
        self.app.record(*changed, effects=[effects.payment_method(m) for m in changed])

    def _newest_other(self, clinic_id: UUID, removed: PaymentMethod) -> PaymentMethod | None:
        others = [
            row
            for row in self.ctx.reads.methods_of(clinic_id, removed.account_id)
            if row["method_id"] != removed.id
        ]
        return self.app.method(clinic_id, others[-1]["method_id"]) if others else None
