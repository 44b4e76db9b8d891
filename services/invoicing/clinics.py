"""A clinic's billing settings and its invoice numbers. No I/O here.

Dates a clinic bills by (issue dates, due dates, "overdue") are calendar dates where the
clinic is: an instant becomes a date in the clinic's IANA timezone once, at the command,
and from then on only dates are compared or added. So a due date never moves by a day
across a DST change or around midnight UTC, whatever the clinic's offset.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from eventsourcing.domain import Aggregate, event

from invoicing.errors import InvalidClinicSettings

CLINIC_NAMESPACE = uuid.UUID("0c7b9b8e-5d55-4f59-8d0a-6f7c3e1f2a44")
PREFIX_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,11}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
NUMBER_DIGITS = 6
MAX_PAYMENT_TERMS_DAYS = 365


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True)
class ClinicSettings:
    name: str
    timezone: str
    currency: str
    payment_terms_days: int
    invoice_number_prefix: str

    def __post_init__(self) -> None:
        if len(self.name) > 200:
            raise InvalidClinicSettings("a clinic name is at most 200 characters")
        if self.timezone not in known_timezones():
            raise InvalidClinicSettings(f"{self.timezone!r} is not an IANA timezone")
        if not CURRENCY_PATTERN.match(self.currency):
            raise InvalidClinicSettings("a currency is an ISO 4217 code such as USD")
        if not 0 <= self.payment_terms_days <= MAX_PAYMENT_TERMS_DAYS:
            raise InvalidClinicSettings(f"payment terms are 0 to {MAX_PAYMENT_TERMS_DAYS} days")
        if not PREFIX_PATTERN.match(self.invoice_number_prefix):
            raise InvalidClinicSettings(
                "an invoice number prefix is 1-12 upper-case letters, digits or hyphens"
            )

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except ZoneInfoNotFoundError:  # pragma: no cover - checked on construction
            raise InvalidClinicSettings(self.timezone) from None

    def today(self, now: datetime) -> date:
        """The calendar date at the clinic at instant `now` (timezone-aware)."""
        return now.astimezone(self.zone).date()

    def default_due_date(self, issued_on: date) -> date:
        return issued_on + timedelta(days=self.payment_terms_days)


DEFAULT_SETTINGS = ClinicSettings(
    name="",
    timezone="UTC",
    currency="USD",
    payment_terms_days=30,
    invoice_number_prefix="INV-",
)


def format_invoice_number(prefix: str, sequence: int) -> str:
    return f"{prefix}{sequence:0{NUMBER_DIGITS}d}"


class Clinic(Aggregate):
    """One per clinic: its settings, and the last invoice number it gave out."""

    @staticmethod
    def create_id(clinic_id: uuid.UUID) -> uuid.UUID:
        return clinic_aggregate_id(clinic_id)

    @event("Configured")
    def __init__(self, clinic_id: uuid.UUID, settings: dict) -> None:
        self.clinic_id = clinic_id
        self._settings = settings
        self.last_invoice_number = 0

    @classmethod
    def configure(cls, clinic_id: uuid.UUID, settings: ClinicSettings) -> Clinic:
        return cls(clinic_id=clinic_id, settings=asdict(settings))

    @property
    def settings(self) -> ClinicSettings:
        return ClinicSettings(**self._settings)

    def reconfigure(self, settings: ClinicSettings) -> None:
        if asdict(settings) != self._settings:
            self._reconfigure(settings=asdict(settings))

    @event("Reconfigured")
    def _reconfigure(self, settings: dict) -> None:
        self._settings = settings

    def assign_invoice_number(self, invoice_id: uuid.UUID) -> str:
        """The next number, recorded so that it is never given out again."""
        self._assign_invoice_number(invoice_id=invoice_id)
        return format_invoice_number(self.settings.invoice_number_prefix, self.last_invoice_number)

    @event("InvoiceNumberAssigned")
    def _assign_invoice_number(self, invoice_id: uuid.UUID) -> None:
        self.last_invoice_number += 1


def clinic_aggregate_id(clinic_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(CLINIC_NAMESPACE, f"clinic/{clinic_id}")
