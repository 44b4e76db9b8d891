"""When each step falls due, as an instant, from dates and hours in the clinic's timezone.

Dates are the clinic's dates (an invoice is due on a day, where the clinic is); a step is due
at the start of that day's sending hours there. Only then is the instant taken to UTC, so a
DST change between two steps moves neither of them off the clinic's morning. No I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reminders.policy import QuietHours, ReminderPolicy

REMINDER_NAMESPACE = uuid.UUID("0b6f5a8e-2c37-5e1d-8f44-6a9d3c2e7b15")


@dataclass(frozen=True)
class PlannedStep:
    step: str
    kind: str
    due_at: datetime  # UTC


def reminder_id(subject_type: str, subject_id: str, kind: str, step: str) -> uuid.UUID:
    """The same (subject, kind, step) always has the same id: the key of exactly-once."""
    return uuid.uuid5(REMINDER_NAMESPACE, f"{subject_type}/{subject_id}/{kind}/{step}")


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` o'clock on `day` in `zone`, in UTC. A wall time skipped by a DST change is read
    with the offset before the change (02:30 on a spring-forward day is 03:30 after it); a
    repeated one is its first occurrence."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_sending_instant(instant: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """`instant` if the clinic's clock is within its sending hours then, else when they open."""
    local = instant.astimezone(zone)
    if local.time() < quiet.send_after:
        return local_instant(local.date(), quiet.send_after, zone)
    if local.time() >= quiet.send_before:
        return local_instant(local.date() + timedelta(days=1), quiet.send_after, zone)
    return instant.astimezone(UTC)


def waits_until(now: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """When sending hours next open, if the clinic is outside them at `now`; else None."""
    opens = next_sending_instant(now, zone, quiet)
    return None if opens == now.astimezone(UTC) else opens


def day_step_instant(day: date, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    return local_instant(day, quiet.send_after, zone)


def invoice_steps(
    policy: ReminderPolicy, zone: ZoneInfo, issued_at: datetime, due_date: date
) -> list[PlannedStep]:
    steps = []
    for step in policy.steps:
        offset = step.offset_days
        if offset is None:
            due_at = next_sending_instant(issued_at, zone, policy.quiet_hours)
        else:
            day = due_date + timedelta(days=offset)
            due_at = day_step_instant(day, zone, policy.quiet_hours)
        steps.append(PlannedStep(step.name, step.kind, due_at))
    return sorted(steps, key=lambda planned: planned.due_at)


def charge_step(kind: str, day: date, zone: ZoneInfo, quiet: QuietHours) -> PlannedStep:
    """A charge (installment, scheduled payment, autopay week) on its day, when hours open."""
    return PlannedStep("due", kind, day_step_instant(day, zone, quiet))


def autopay_steps(period_start: date, zone: ZoneInfo, quiet: QuietHours) -> list[PlannedStep]:
    """The family hears the day before; the charge is asked for on the day."""
    return [
        PlannedStep(
            "due-1", "autopay_upcoming", day_step_instant(period_start - timedelta(1), zone, quiet)
        ),
        charge_step("autopay_charge_due", period_start, zone, quiet),
    ]


def latest_due(
    due: Sequence[PlannedStep], already_sent_up_to: datetime | None
) -> PlannedStep | None:
    """After downtime several steps of one subject may be due at once: only the latest is
    sent (the rest are skipped), and none if a later step was sent already."""
    if not due:
        return None
    latest = max(due, key=lambda planned: planned.due_at)
    if already_sent_up_to is not None and already_sent_up_to >= latest.due_at:
        return None
    return latest
