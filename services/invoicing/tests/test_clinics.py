"""Clinic settings, invoice numbers, and dates in the clinic's own timezone."""

import uuid
from datetime import UTC, date, datetime

import pytest

from invoicing.clinics import DEFAULT_SETTINGS, Clinic, ClinicSettings, format_invoice_number
from invoicing.errors import InvalidClinicSettings


def settings(**overrides) -> ClinicSettings:
    fields = dict(
        name="Sunny Speech",
        timezone="America/Chicago",
        currency="USD",
        payment_terms_days=30,
        invoice_number_prefix="INV-",
    )
    fields.update(overrides)
    return ClinicSettings(**fields)


@pytest.mark.parametrize(
    "field,value",
    [
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "CST"),  # an abbreviation, not an IANA zone
        ("currency", "usd"),
        ("payment_terms_days", -1),
        ("payment_terms_days", 366),
        ("invoice_number_prefix", ""),
        ("invoice_number_prefix", "inv-"),
        ("invoice_number_prefix", "A-PREFIX-TOO-LONG"),
    ],
)
def test_settings_that_cannot_work_are_refused(field, value):
    with pytest.raises(InvalidClinicSettings):
        settings(**{field: value})


def test_invoice_numbers_are_the_prefix_and_six_digits():
    assert format_invoice_number("INV-", 123) == "INV-000123"
    assert format_invoice_number("SS", 1_234_567) == "SS1234567"


def test_a_clinic_numbers_invoices_one_after_another_and_never_twice():
    clinic = Clinic.configure(uuid.uuid4(), settings())
    numbers = [clinic.assign_invoice_number(uuid.uuid4()) for _ in range(3)]
    assert numbers == ["INV-000001", "INV-000002", "INV-000003"]


def test_a_new_prefix_continues_the_sequence():
    clinic = Clinic.configure(uuid.uuid4(), settings())
    clinic.assign_invoice_number(uuid.uuid4())
    clinic.reconfigure(settings(invoice_number_prefix="SSP-"))
    assert clinic.assign_invoice_number(uuid.uuid4()) == "SSP-000002"


def test_reconfiguring_to_the_same_settings_records_nothing():
    clinic = Clinic.configure(uuid.uuid4(), settings())
    clinic.collect_events()
    clinic.reconfigure(settings())
    assert clinic.collect_events() == []


def test_a_clinics_aggregate_id_is_derived_from_the_clinic_id():
    clinic_id = uuid.uuid4()
    assert Clinic.configure(clinic_id, settings()).id == Clinic.create_id(clinic_id)


def test_the_defaults_are_valid_settings():
    assert DEFAULT_SETTINGS.currency == "USD"
    assert DEFAULT_SETTINGS.today(datetime(2026, 1, 1, tzinfo=UTC)) == date(2026, 1, 1)


# -- "today" and due dates where the clinic is


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    "zone,instant,today",
    [
        # UTC-10, no DST: late afternoon of the previous day when UTC passes midnight.
        ("Pacific/Honolulu", "2026-11-28T09:59:00+00:00", date(2026, 11, 27)),
        ("Pacific/Honolulu", "2026-11-28T10:00:00+00:00", date(2026, 11, 28)),
        # UTC+13: already tomorrow before UTC reaches noon.
        ("Pacific/Tongatapu", "2026-11-27T10:59:00+00:00", date(2026, 11, 27)),
        ("Pacific/Tongatapu", "2026-11-27T11:00:00+00:00", date(2026, 11, 28)),
        ("Pacific/Apia", "2026-12-31T11:30:00+00:00", date(2027, 1, 1)),
        # US DST starts 2026-03-08 at 02:00 local: the date turns at local midnight anyway.
        ("America/Chicago", "2026-03-08T05:59:00+00:00", date(2026, 3, 7)),
        ("America/Chicago", "2026-03-08T06:00:00+00:00", date(2026, 3, 8)),
        # ... and ends 2026-11-01 at 02:00 local.
        ("America/Chicago", "2026-11-02T05:59:00+00:00", date(2026, 11, 1)),
        ("America/Chicago", "2026-11-02T06:00:00+00:00", date(2026, 11, 2)),
    ],
)
def test_today_is_the_calendar_date_at_the_clinic(zone, instant, today):
    assert settings(timezone=zone).today(at(instant)) == today


@pytest.mark.parametrize(
    "zone,issued_on,terms,due",
    [
        ("America/New_York", date(2026, 3, 7), 1, date(2026, 3, 8)),  # over the spring change
        ("America/New_York", date(2026, 10, 31), 1, date(2026, 11, 1)),  # over the autumn one
        ("America/New_York", date(2026, 2, 20), 30, date(2026, 3, 22)),
        ("Pacific/Honolulu", date(2026, 12, 31), 30, date(2027, 1, 30)),
        ("Pacific/Tongatapu", date(2028, 2, 28), 1, date(2028, 2, 29)),
    ],
)
def test_the_due_date_is_whole_days_after_the_issue_date(zone, issued_on, terms, due):
    assert settings(timezone=zone, payment_terms_days=terms).default_due_date(issued_on) == due
