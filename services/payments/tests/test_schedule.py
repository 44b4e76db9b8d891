from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain.schedule import Interval, due_dates, schedule, split_evenly


@given(
    total=st.integers(min_value=1, max_value=10**7), count=st.integers(min_value=2, max_value=24)
)
def test_installments_add_up_to_the_cent_and_differ_by_at_most_one(total, count):
    if total < count:
        with pytest.raises(ValueError):
            split_evenly(total, count)
        return
    amounts = split_evenly(total, count)
    assert len(amounts) == count
    assert sum(amounts) == total
    assert min(amounts) >= 1
    assert max(amounts) - min(amounts) <= 1
    assert amounts == sorted(amounts, reverse=True)


@pytest.mark.parametrize("count", [1, 25, 0])
def test_a_plan_has_two_to_twenty_four_installments(count):
    with pytest.raises(ValueError):
        split_evenly(10_000, count)


def test_ten_thousand_cents_over_three_installments():
    assert split_evenly(10_000, 3) == [3_334, 3_333, 3_333]


def test_weekly_and_biweekly_dates_step_from_the_start():
    start = date(2026, 12, 28)
    assert due_dates(start, Interval.WEEKLY, 3) == [start, date(2027, 1, 4), date(2027, 1, 11)]
    assert due_dates(start, Interval.BIWEEKLY, 2) == [start, start + timedelta(weeks=2)]


def test_monthly_dates_keep_the_day_or_take_the_last_day_of_a_shorter_month():
    assert due_dates(date(2027, 1, 31), Interval.MONTHLY, 4) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert due_dates(date(2027, 11, 15), Interval.MONTHLY, 3)[-1] == date(2028, 1, 15)


@given(
    total=st.integers(min_value=24, max_value=10**7),
    count=st.integers(min_value=2, max_value=24),
    interval=st.sampled_from(list(Interval)),
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)),
)
def test_a_schedule_is_numbered_in_date_order_and_sums_to_the_total(total, count, interval, start):
    installments = schedule(total, count, interval, start)
    assert [i.number for i in installments] == list(range(1, count + 1))
    assert sum(i.amount for i in installments) == total
    dates = [i.due_date for i in installments]
    assert dates == sorted(dates) and len(set(dates)) == count
    assert dates[0] == start
