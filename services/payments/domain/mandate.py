"""An autopay mandate: every week, on the family's chosen weekday, the account's outstanding
balance is charged to the saved payment method. Each period is charged at most once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from payments.domain.errors import Conflict

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class MandateStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class PeriodAlreadyHandled(Conflict):
    pass


def first_charge_on(weekday: str, today: date) -> date:
    """The next `weekday` after today: enabling autopay never charges on the same day."""
    days_ahead = (WEEKDAYS.index(weekday) - today.weekday() - 1) % 7 + 1
    return today + timedelta(days=days_ahead)


class AutopayMandate(Aggregate):
    @event("Enabled")
    def __init__(
        self,
        id: UUID,
        clinic_id: UUID,
        account_id: UUID,
        method_id: UUID,
        cadence: str,
        weekday: str,
        enabled_at: datetime,
        first_charge_on: date,
    ) -> None:
        self.clinic_id = clinic_id
        self.account_id = account_id
        self.method_id = method_id
        self.cadence = cadence
        self.weekday = weekday
        self.enabled_at = enabled_at
        self.first_charge_on = first_charge_on
        self.status = MandateStatus.ENABLED
        self.disabled_at: datetime | None = None
        self.periods: dict[date, list[UUID]] = {}

    @property
    def is_enabled(self) -> bool:
        return self.status is MandateStatus.ENABLED

    def should_charge(self, period_start: date) -> bool:
        return (
            self.is_enabled
            and period_start >= self.first_charge_on
            and period_start not in self.periods
        )

    def charge_period(self, period_start: date, payment_ids: list[UUID]) -> None:
        """Record what `period_start` charged (nothing, when nothing was owed)."""
        if not self.should_charge(period_start):
            raise PeriodAlreadyHandled(f"the period of {period_start} is not chargeable")
        self._charge_period(period_start, payment_ids)

    @event("PeriodCharged")
    def _charge_period(self, period_start: date, payment_ids: list[UUID]) -> None:
        self.periods[period_start] = payment_ids

    def disable(self, at: datetime) -> None:
        if self.is_enabled:
            self._disable(at)

    @event("Disabled")
    def _disable(self, at: datetime) -> None:
        self.status = MandateStatus.DISABLED
        self.disabled_at = at
