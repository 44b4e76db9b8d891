"""Payment plans and autopay as the family sees them before agreeing: the exact schedule a
plan will charge, and the date autopay charges next. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from payments.domain.schedule import Interval, ScheduledInstallment, schedule

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INTERVALS = {"weekly": "Every week", "biweekly": "Every two weeks", "monthly": "Every month"}
INSTALLMENT_CHOICES = tuple(range(2, 13))


class InvalidPlan(ValueError):
    """The family's choices do not make a plan; the message says what to change."""


@dataclass(frozen=True)
class PlanChoice:
    invoice_ids: tuple[str, ...]
    installments: int
    interval: str
    start_date: date

    @classmethod
    def parse(cls, form: dict, open_invoice_ids: set[str], today: date) -> PlanChoice:
        chosen = tuple(i for i in form.get("invoice_ids", ()) if i in open_invoice_ids)
        if not chosen:
            raise InvalidPlan("Choose at least one invoice to include in the plan.")
        try:
            installments = int(form.get("installments", ""))
        except ValueError:
            raise InvalidPlan("Choose the number of payments.") from None
        if installments not in INSTALLMENT_CHOICES:
            raise InvalidPlan("Choose between 2 and 12 payments.")
        if form.get("interval") not in INTERVALS:
            raise InvalidPlan("Choose how often to pay.")
        try:
            start = date.fromisoformat(form.get("start_date", ""))
        except ValueError:
            raise InvalidPlan("Choose the date of the first payment.") from None
        if start < today:
            raise InvalidPlan("The first payment cannot be in the past.")
        if start > today + timedelta(days=60):
            raise InvalidPlan("The first payment must be within 60 days.")
        return cls(chosen, installments, form["interval"], start)

    def schedule(self, total: int) -> list[ScheduledInstallment]:
        """What payments will charge: the same split and dates it computes when it creates
        the plan (the odd cents on the first installments)."""
        if total < self.installments:
            raise InvalidPlan("The balance is too small to split into that many payments.")
        return schedule(total, self.installments, Interval(self.interval), self.start_date)


def next_charge_on(
    weekday: str, first_charge_on: date, charged: list[date] | set[date], today: date
) -> date:
    """The next weekly charge: on or after the first charge and today, not yet charged."""
    day = max(first_charge_on, today)
    day += timedelta(days=(WEEKDAYS.index(weekday) - day.weekday()) % 7)
    charged_days = set(charged)
    while day in charged_days:
        day += timedelta(weeks=1)
    return day
