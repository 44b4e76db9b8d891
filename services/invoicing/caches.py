"""What an invoicing process remembers between requests, and why each is safe to remember."""

from __future__ import annotations

import threading
import time
from uuid import UUID

from invoicing.accounts import BillingAccount
from invoicing.clinics import ClinicSettings

MAX_ENTRIES = 100_000


class RecentSettings:
    """Clinic settings as read moments ago, for what only displays with them (is an invoice
    overdue today?) or is checked again later (a draft's currency, checked at issue).
    Commands that record a date or a number read the settings afresh."""

    def __init__(self, seconds: float = 2.0) -> None:
        self.seconds = seconds
        self._guard = threading.Lock()
        self._settings: dict[UUID, tuple[float, ClinicSettings]] = {}

    def get(self, clinic_id: UUID) -> ClinicSettings | None:
        with self._guard:
            found = self._settings.get(clinic_id)
        if found is None or time.monotonic() - found[0] > self.seconds:
            return None
        return found[1]

    def put(self, clinic_id: UUID, settings: ClinicSettings) -> None:
        with self._guard:
            if len(self._settings) > MAX_ENTRIES:
                self._settings.clear()
            self._settings[clinic_id] = (time.monotonic(), settings)


class KnownPatients:
    """Which patients each account pays for. An account never changes clinic and never
    loses a patient, so what was seen stays true; only a miss needs the account loaded."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._accounts: dict[UUID, tuple[UUID, frozenset[UUID]]] = {}

    def includes(self, clinic_id: UUID, account_id: UUID, patient_id: UUID) -> bool:
        with self._guard:
            known = self._accounts.get(account_id)
        return known is not None and known[0] == clinic_id and patient_id in known[1]

    def remember(self, account: BillingAccount) -> None:
        patients = frozenset(patient.id for patient in account.patients)
        with self._guard:
            if len(self._accounts) > MAX_ENTRIES:
                self._accounts.clear()
            self._accounts[account.id] = (account.clinic_id, patients)
