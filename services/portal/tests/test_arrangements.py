from datetime import date

import pytest

from portal.arrangements import InvalidPlan, PlanChoice, next_charge_on

TODAY = date(2026, 11, 27)  # a Friday


def choice(**overrides) -> PlanChoice:
    form = {
        "invoice_ids": ["a", "b"],
        "installments": "3",
        "interval": "monthly",
        "start_date": "2027-01-31",
        **overrides,
    }
    return PlanChoice.parse(form, {"a", "b"}, date(2026, 12, 15))


def test_the_preview_adds_up_to_the_cent_with_the_odd_cents_first():
    installments = choice().schedule(10_000)
    assert [i.amount for i in installments] == [3_334, 3_333, 3_333]
    assert [i.due_date for i in installments] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"invoice_ids": ["zzz"]}, "at least one invoice"),
        ({"installments": "1"}, "between 2 and 12"),
        ({"installments": "x"}, "number of payments"),
        ({"interval": "daily"}, "how often"),
        ({"start_date": "2026-12-01"}, "past"),
        ({"start_date": "2027-06-01"}, "within 60 days"),
    ],
)
def test_choices_that_make_no_plan_say_what_to_change(overrides, message):
    with pytest.raises(InvalidPlan, match=message):
        choice(**overrides)


def test_autopay_charges_next_on_its_weekday_skipping_weeks_already_charged():
    assert next_charge_on("monday", date(2026, 11, 30), [], TODAY) == date(2026, 11, 30)
    assert next_charge_on("friday", date(2026, 11, 20), [], TODAY) == TODAY
    assert next_charge_on("friday", date(2026, 11, 20), [TODAY], TODAY) == date(2026, 12, 4)
    assert next_charge_on("wednesday", date(2026, 11, 4), [], TODAY) == date(2026, 12, 2)
