"""Billing accounts: the person who pays (the guarantor) and the patients they pay for.
No I/O here.

Names, contact details, dates of birth and external ids are PHI. They live only in this
aggregate's events, which the application stores encrypted; nothing here puts them into an
exception message, a log line or a published event.
"""

from __future__ import annotations

import hmac
import re
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from invoicing.errors import InvalidAccount, UnknownPatient

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164
EXTERNAL_ID = re.compile(r"^[\x21-\x7e]{1,64}$")
OLDEST_BIRTH_YEAR = 1900
MAX_PATIENTS = 50


class ContactPreference(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    BOTH = "both"


@dataclass(frozen=True)
class Guarantor:
    name: str
    date_of_birth: date
    contact_preference: ContactPreference
    email: str | None = None
    phone: str | None = None

    def check(self, today: date) -> None:
        check_name(self.name)
        check_date_of_birth(self.date_of_birth, today)
        if self.email is not None and (len(self.email) > 254 or not EMAIL.match(self.email)):
            raise InvalidAccount("the guarantor's e-mail address is not valid")
        if self.phone is not None and not PHONE.match(self.phone):
            raise InvalidAccount("the guarantor's phone number is not in E.164 form (+15551234567)")
        wants_email = self.contact_preference in (ContactPreference.EMAIL, ContactPreference.BOTH)
        wants_sms = self.contact_preference in (ContactPreference.SMS, ContactPreference.BOTH)
        if wants_email and self.email is None:
            raise InvalidAccount("contact by e-mail needs the guarantor's e-mail address")
        if wants_sms and self.phone is None:
            raise InvalidAccount("contact by SMS needs the guarantor's phone number")

    def as_state(self) -> dict[str, Any]:
        return asdict(self) | {"contact_preference": self.contact_preference.value}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Guarantor:
        return cls(**state | {"contact_preference": ContactPreference(state["contact_preference"])})


@dataclass(frozen=True)
class Patient:
    id: uuid.UUID
    name: str
    date_of_birth: date
    external_id: str | None = None

    def check(self, today: date) -> None:
        check_name(self.name)
        check_date_of_birth(self.date_of_birth, today)
        if self.external_id is not None and not EXTERNAL_ID.match(self.external_id):
            raise InvalidAccount("an external id is 1-64 visible ASCII characters")


def check_name(name: str) -> None:
    if not name.strip() or len(name) > 200:
        raise InvalidAccount("a name is 1-200 characters")


def check_date_of_birth(date_of_birth: date, today: date) -> None:
    if date_of_birth > today or date_of_birth.year < OLDEST_BIRTH_YEAR:
        raise InvalidAccount("a date of birth must be in the past, after 1900")


class BillingAccount(Aggregate):
    @event("Opened")
    def __init__(
        self, clinic_id: uuid.UUID, guarantor: dict[str, Any], patients: list[dict[str, Any]]
    ) -> None:
        self.clinic_id = clinic_id
        self._guarantor = guarantor
        self._patients = patients

    @classmethod
    def open(
        cls, *, clinic_id: uuid.UUID, guarantor: Guarantor, patients: list[Patient], today: date
    ) -> BillingAccount:
        guarantor.check(today)
        check_patients(patients, today)
        return cls(
            clinic_id=clinic_id,
            guarantor=guarantor.as_state(),
            patients=[asdict(patient) for patient in patients],
        )

    @property
    def guarantor(self) -> Guarantor:
        return Guarantor.from_state(self._guarantor)

    @property
    def patients(self) -> list[Patient]:
        return [Patient(**patient) for patient in self._patients]

    def patient(self, patient_id: uuid.UUID) -> Patient:
        for patient in self.patients:
            if patient.id == patient_id:
                return patient
        raise UnknownPatient(f"account {self.id} has no patient {patient_id}")

    def change_contact(self, changes: dict[str, Any], today: date) -> None:
        """Replaces the named guarantor fields; the result must still be a valid guarantor."""
        unknown = set(changes) - set(self._guarantor)
        if unknown:
            raise InvalidAccount(f"not a guarantor field: {sorted(unknown)}")
        changed = replace(self.guarantor, **changes)
        changed.check(today)
        if changed != self.guarantor:
            self._change_contact(guarantor=changed.as_state())

    @event("ContactChanged")
    def _change_contact(self, guarantor: dict[str, Any]) -> None:
        self._guarantor = guarantor

    def add_patient(self, patient: Patient, today: date) -> None:
        check_patients([*self.patients, patient], today)
        self._add_patient(patient=asdict(patient))

    @event("PatientAdded")
    def _add_patient(self, patient: dict[str, Any]) -> None:
        self._patients = [*self._patients, patient]

    def date_of_birth_matches(self, claimed: date, patient_id: uuid.UUID | None = None) -> bool:
        """Whether `claimed` is the date of birth of the named patient (no match if the
        account has no such patient), or else of the guarantor or any patient. Every
        candidate is compared in constant time, so the answer's timing says nothing about
        which one matched."""
        if patient_id is not None:
            candidates = [p.date_of_birth for p in self.patients if p.id == patient_id]
        else:
            candidates = [self.guarantor.date_of_birth, *(p.date_of_birth for p in self.patients)]
        claimed_bytes = claimed.isoformat().encode()
        matches = [hmac.compare_digest(claimed_bytes, c.isoformat().encode()) for c in candidates]
        return any(matches)


def check_patients(patients: list[Patient], today: date) -> None:
    if not patients:
        raise InvalidAccount("an account pays for at least one patient")
    if len(patients) > MAX_PATIENTS:
        raise InvalidAccount(f"an account pays for at most {MAX_PATIENTS} patients")
    for patient in patients:
        patient.check(today)
    external_ids = [p.external_id for p in patients if p.external_id is not None]
    if len(external_ids) != len(set(external_ids)):
        raise InvalidAccount("two patients of the account have the same external id")
