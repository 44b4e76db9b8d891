from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminders.policy import InvalidPolicy, QuietHours, ReminderPolicy, Step
from reminders.schedule import (
    PlannedStep,
    autopay_steps,
    invoice_steps,
    latest_due,
    local_instant,
    next_sending_instant,
    reminder_id,
    waits_until,
)

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
SYDNEY = ZoneInfo("Australia/Sydney")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
APIA = ZoneInfo("Pacific/Apia")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def by_step(steps):
    return {planned.step: planned for planned in steps}


def test_default_policy_has_the_six_steps_of_the_clinic_calendar():
    steps = invoice_steps(ReminderPolicy(), CHICAGO, utc(2026, 11, 20, 15), date(2026, 12, 20))
    assert [s.step for s in steps] == ["issued", "due-3", "due", "due+7", "due+14", "due+30"]
    assert [s.kind for s in steps] == [
        "invoice_issued",
        "invoice_upcoming",
        "invoice_due",
        "invoice_overdue",
        "invoice_overdue",
        "invoice_overdue",
    ]


def test_steps_stay_at_eight_in_the_morning_across_the_autumn_dst_change():
    # New York falls back on 2026-11-01: 08:00 is 12:00 UTC before, 13:00 UTC after.
    steps = by_step(
        invoice_steps(ReminderPolicy(), NEW_YORK, utc(2026, 10, 20, 14), date(2026, 10, 30))
    )
    assert steps["due"].due_at == utc(2026, 10, 30, 12)
    assert steps["due+7"].due_at == utc(2026, 11, 6, 13)
    assert steps["due"].due_at.astimezone(NEW_YORK).time() == time(8)
    assert steps["due+7"].due_at.astimezone(NEW_YORK).time() == time(8)


def test_steps_stay_at_eight_across_the_spring_change_and_the_southern_hemisphere():
    steps = by_step(
        invoice_steps(ReminderPolicy(), NEW_YORK, utc(2026, 3, 1, 14), date(2026, 3, 7))
    )
    assert steps["due"].due_at == utc(2026, 3, 7, 13)  # EST
    assert steps["due+7"].due_at == utc(2026, 3, 14, 12)  # EDT
    # Sydney leaves daylight time on 2026-04-05: 08:00 AEDT is 21:00 UTC the day before.
    steps = by_step(invoice_steps(ReminderPolicy(), SYDNEY, utc(2026, 3, 20), date(2026, 4, 1)))
    assert steps["due"].due_at == utc(2026, 3, 31, 21)
    assert steps["due+7"].due_at == utc(2026, 4, 7, 22)


def test_a_wall_time_skipped_by_dst_is_read_with_the_offset_before_the_change():
    assert local_instant(date(2026, 3, 8), time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7, 30)
    assert local_instant(date(2026, 3, 8), time(2, 30), NEW_YORK).astimezone(
        NEW_YORK
    ).time() == time(3, 30)


def test_a_repeated_wall_time_is_its_first_occurrence():
    assert local_instant(date(2026, 11, 1), time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)


def test_quarter_hour_offsets_and_a_day_a_country_skipped():
    assert local_instant(date(2026, 5, 1), time(8), KATHMANDU) == utc(2026, 5, 1, 2, 15)
    # Samoa skipped 2011-12-30 when it crossed the date line: a step on that date still
    # gets one instant, the next morning's.
    instant = local_instant(date(2011, 12, 30), time(8), APIA)
    assert instant.astimezone(APIA).date() == date(2011, 12, 31)


def test_a_notice_outside_sending_hours_waits_for_them_in_the_clinic_timezone():
    quiet = QuietHours()
    # 21:30 in Chicago (03:30 UTC next day) waits for 08:00 the next morning.
    assert next_sending_instant(utc(2026, 11, 21, 3, 30), CHICAGO, quiet) == utc(2026, 11, 21, 14)
    # 06:00 in Chicago waits for 08:00 the same day.
    assert next_sending_instant(utc(2026, 11, 20, 12), CHICAGO, quiet) == utc(2026, 11, 20, 14)
    # 15:00 in Chicago goes at once.
    assert next_sending_instant(utc(2026, 11, 20, 21), CHICAGO, quiet) == utc(2026, 11, 20, 21)
    assert next_sending_instant(utc(2026, 11, 21, 2), CHICAGO, quiet) == utc(2026, 11, 21, 14)


def test_the_issued_step_is_deferred_by_quiet_hours_and_the_others_follow_them():
    policy = ReminderPolicy(quiet_hours=QuietHours(time(9, 30), time(17)))
    steps = by_step(invoice_steps(policy, CHICAGO, utc(2026, 11, 20, 23, 30), date(2026, 12, 1)))
    assert steps["issued"].due_at == utc(2026, 11, 21, 15, 30)
    assert steps["due"].due_at == utc(2026, 12, 1, 15, 30)


def test_autopay_family_hears_the_day_before_and_the_charge_is_asked_on_the_day():
    upcoming, charge = autopay_steps(date(2026, 11, 2), NEW_YORK, QuietHours())
    assert (upcoming.kind, upcoming.step) == ("autopay_upcoming", "due-1")
    assert upcoming.due_at == utc(2026, 11, 1, 13)  # Sunday 08:00 EST, the day clocks fall back
    assert (charge.kind, charge.due_at) == ("autopay_charge_due", utc(2026, 11, 2, 13))


def test_after_downtime_only_the_latest_due_step_is_sent():
    due = [
        PlannedStep("due", "invoice_due", utc(2026, 12, 1, 14)),
        PlannedStep("due+7", "invoice_overdue", utc(2026, 12, 8, 14)),
        PlannedStep("due-3", "invoice_upcoming", utc(2026, 11, 28, 14)),
    ]
    assert latest_due(due, None).step == "due+7"
    assert latest_due(due, utc(2026, 12, 15, 14)) is None
    assert latest_due(due, utc(2026, 12, 1, 14)).step == "due+7"
    assert latest_due([], None) is None


def test_reminder_ids_are_stable_per_subject_kind_and_step():
    first = reminder_id("invoice", "a", "invoice_due", "due")
    assert first == reminder_id("invoice", "a", "invoice_due", "due")
    assert first != reminder_id("invoice", "a", "invoice_overdue", "due+7")
    assert first != reminder_id("invoice", "b", "invoice_due", "due")


def test_policy_refuses_what_cannot_be_applied():
    with pytest.raises(InvalidPolicy):
        ReminderPolicy(steps=(Step("due+400"),)).check()
    with pytest.raises(InvalidPolicy):
        ReminderPolicy(steps=(Step("due", ("fax",)),)).check()
    with pytest.raises(InvalidPolicy):
        ReminderPolicy(steps=(Step("due"), Step("due"))).check()
    with pytest.raises(InvalidPolicy):
        ReminderPolicy(quiet_hours=QuietHours(time(20), time(8))).check()
    with pytest.raises(InvalidPolicy):
        ReminderPolicy(steps=(Step("tomorrow"),)).check()


def test_policy_round_trips_through_json_and_knows_its_floor():
    policy = ReminderPolicy(
        steps=(Step("issued", ("email", "sms")), Step("due+10", ("sms",))),
        quiet_hours=QuietHours(time(9), time(18, 30)),
        floor_amount=100,
    )
    assert ReminderPolicy.from_json(policy.to_json()) == policy
    assert policy.below_floor(99) and not policy.below_floor(100)
    assert not ReminderPolicy().below_floor(1)
    assert policy.step("due+10").offset_days == 10
    assert timedelta(days=policy.step("due+10").offset_days) == timedelta(days=10)


def test_a_late_tick_at_night_waits_for_the_morning_and_a_day_tick_goes_at_once():
    quiet = QuietHours()
    assert waits_until(utc(2026, 12, 2, 4), CHICAGO, quiet) == utc(2026, 12, 2, 14)  # 22:00
    assert waits_until(utc(2026, 12, 1, 20), CHICAGO, quiet) is None  # 14:00
