"""Payment plan schedules: amounts that add up to the cent, and the dates they fall due."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

MIN_INSTALLMENTS = 2
MAX_INSTALLMENTS = 24


class Interval(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class ScheduledInstallment:
    number: int
    due_date: date
    amount: int


def split_evenly(total: int, count: int) -> list[int]:
    """`count` amounts summing to `total`, none differing by more than one minor unit.

    The odd units go to the first installments, so nothing is left for a last one to mop up.
    """
    if not MIN_INSTALLMENTS <= count <= MAX_INSTALLMENTS:
        raise ValueError(f"a plan has {MIN_INSTALLMENTS} to {MAX_INSTALLMENTS} installments")
    if total < count:
        raise ValueError("every installment must be at least one minor unit")
    base, odd = divmod(total, count)
    return [base + 1 if number < odd else base for number in range(count)]


def due_dates(start: date, interval: Interval, count: int) -> list[date]:
    """Monthly dates keep the start's day of month, or the month's last day when shorter."""
    if interval is Interval.MONTHLY:
        return [_add_months(start, n) for n in range(count)]
    step = timedelta(weeks=1 if interval is Interval.WEEKLY else 2)
    return [start + step * n for n in range(count)]


def schedule(total: int, count: int, interval: Interval, start: date) -> list[ScheduledInstallment]:
    return [
        ScheduledInstallment(number, due, amount)
        for number, (due, amount) in enumerate(
            zip(due_dates(start, interval, count), split_evenly(total, count), strict=True),
            start=1,
        )
    ]


def _add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
