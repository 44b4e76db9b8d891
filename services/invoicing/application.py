"""The invoicing application: commands on clinics, billing accounts and invoices, recorded
as events in PostgreSQL (encrypted with the configured cipher).

Every command loads what it changes, lets the aggregates decide, and saves all of it in
one transaction. A command that loses an optimistic-concurrency race is run again on the
fresh state; after a few losses the caller is told to retry.
"""

from __future__ import annotations

import hashlib
from base64 import b64decode
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    RecordConflictError,
    Tracking,
    Transcoding,
)

from eventbus.tracing_mapper import TracingMapper
from invoicing.accounts import BillingAccount, Guarantor, Patient
from invoicing.caches import KnownPatients, RecentSettings
from invoicing.clinics import DEFAULT_SETTINGS, Clinic, ClinicSettings, clinic_aggregate_id
from invoicing.domain import Invoice, Line
from invoicing.errors import (
    AccountNotFound,
    ConcurrentUpdate,
    CurrencyMismatch,
    ExternalIdInUse,
    InvoiceNotFound,
    UnknownAccount,
)
from invoicing.identifiers import FhirInvoiceIdentifier, IdentifierDigest, PatientIdentifier
from invoicing.numbering import IssueBatches

T = TypeVar("T")
A = TypeVar("A")
CONFLICT_RETRIES = 5


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def utc_now() -> datetime:
    return datetime.now(UTC)


def identifier_key(cipher_key: str | None) -> bytes:
    """The key of identifier digests, derived from the cipher key (one secret to manage)."""
    material = b64decode(cipher_key) if cipher_key else b""
    return hashlib.sha256(b"clinicpay-invoicing-identifiers\x00" + material).digest()


class Invoicing(Application):
    name = "invoicing"
    # A clinic gains an event per issued invoice; a snapshot keeps loading it cheap.
    snapshotting_intervals = {Clinic: 100}

    def __init__(
        self, env: dict[str, Any] | None = None, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.digest = IdentifierDigest(identifier_key(self.env.get("CIPHER_KEY")))
        self._recent_settings = RecentSettings()
        self._known_patients = KnownPatients()
        self._issues = IssueBatches(self._clinic_for_numbering, self._issue, self.save)

    def construct_mapper(self) -> Mapper:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=TracingMapper
        )

    def construct_recorder(self):
        # A process recorder: the payments worker stores its positions beside the events.
        return self.factory.process_recorder()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- clinics

    def clinic_settings(self, clinic_id: UUID) -> ClinicSettings:
        clinic = self._find(clinic_aggregate_id(clinic_id), Clinic)
        settings = clinic.settings if clinic is not None else DEFAULT_SETTINGS
        self._recent_settings.put(clinic_id, settings)
        return settings

    def is_configured(self, clinic_id: UUID) -> bool:
        return self._find(clinic_aggregate_id(clinic_id), Clinic) is not None

    def today(self, clinic_id: UUID) -> date:
        """The date at the clinic now, to record (an adjustment's, a void's date)."""
        return self.clinic_settings(clinic_id).today(self.clock())

    def today_for_display(self, clinic_id: UUID) -> date:
        """The date at the clinic now, by settings at most a few seconds old."""
        settings = self._recent_settings.get(clinic_id) or self.clinic_settings(clinic_id)
        return settings.today(self.clock())

    def configure_clinic(self, clinic_id: UUID, settings: ClinicSettings) -> ClinicSettings:
        def configure() -> ClinicSettings:
            with self._issues.lock(clinic_id):
                self._issues.forget(clinic_id)
                clinic = self._find(clinic_aggregate_id(clinic_id), Clinic)
                if clinic is None:
                    clinic = Clinic.configure(clinic_id, settings)
                else:
                    clinic.reconfigure(settings)
                self.save(clinic)
                return clinic.settings

        return self._retrying(configure)

    # -- billing accounts

    def open_account(
        self, clinic_id: UUID, guarantor: Guarantor, patients: list[Patient]
    ) -> BillingAccount:
        def open_() -> BillingAccount:
            account = BillingAccount.open(
                clinic_id=clinic_id, guarantor=guarantor, patients=patients, today=self._utc_today()
            )
            claims = [self._claim_external_id(clinic_id, account.id, p) for p in patients]
            self.save(account, *claims)
            return account

        return self._retrying(open_)

    def get_account(self, clinic_id: UUID, account_id: UUID) -> BillingAccount:
        """The clinic's account; another clinic's account is as absent as a missing one."""
        account = self._find(account_id, BillingAccount)
        if account is None or account.clinic_id != clinic_id:
            raise AccountNotFound(str(account_id))
        return account

    def change_contact(
        self, clinic_id: UUID, account_id: UUID, changes: dict[str, Any]
    ) -> BillingAccount:
        def change() -> BillingAccount:
            account = self.get_account(clinic_id, account_id)
            account.change_contact(changes, today=self._utc_today())
            self.save(account)
            return account

        return self._retrying(change)

    def add_patient(self, clinic_id: UUID, account_id: UUID, patient: Patient) -> BillingAccount:
        def add() -> BillingAccount:
            account = self.get_account(clinic_id, account_id)
            account.add_patient(patient, today=self._utc_today())
            self.save(account, self._claim_external_id(clinic_id, account_id, patient))
            return account

        return self._retrying(add)

    def check_identity(
        self, clinic_id: UUID, account_id: UUID, date_of_birth: date, patient_id: UUID | None
    ) -> bool:
        account = self.get_account(clinic_id, account_id)
        return account.date_of_birth_matches(date_of_birth, patient_id)

    def find_patient(self, clinic_id: UUID, external_id: str) -> tuple[UUID, UUID] | None:
        """(account id, patient id) of the clinic's patient with this external id."""
        claim_id = PatientIdentifier.create_id(clinic_id, self.digest("patient", external_id))
        claim = self._find(claim_id, PatientIdentifier)
        return (claim.account_id, claim.patient_id) if claim is not None else None

    def _claim_external_id(
        self, clinic_id: UUID, account_id: UUID, patient: Patient
    ) -> PatientIdentifier | None:
        if patient.external_id is None:
            return None
        if self.find_patient(clinic_id, patient.external_id) is not None:
            raise ExternalIdInUse("another patient of the clinic has this external id")
        return PatientIdentifier(
            clinic_id=clinic_id,
            digest=self.digest("patient", patient.external_id),
            account_id=account_id,
            patient_id=patient.id,
        )

    # -- invoices

    def draft_invoice(
        self,
        *,
        clinic_id: UUID,
        account_id: UUID,
        patient_id: UUID,
        currency: str | None,
        due_date: date | None,
        lines: list[Line],
    ) -> Invoice:
        invoice = self._new_draft(clinic_id, account_id, patient_id, currency, due_date, lines)
        self.save(invoice)
        return invoice

    def import_invoice(
        self,
        *,
        clinic_id: UUID,
        identifier: str,
        account_id: UUID,
        patient_id: UUID,
        currency: str,
        lines: list[Line],
        issue: bool,
    ) -> tuple[Invoice, bool]:
        """An invoice from another system, once per `identifier`: (invoice, newly created)."""
        claim_id = FhirInvoiceIdentifier.create_id(clinic_id, self.digest("invoice", identifier))

        def import_() -> tuple[Invoice, bool]:
            claim = self._find(claim_id, FhirInvoiceIdentifier)
            if claim is not None:
                return self.get_invoice(clinic_id, claim.invoice_id), False
            invoice = self._new_draft(
                clinic_id, account_id, patient_id, currency, None, lines, fhir_identifier=identifier
            )
            claim = FhirInvoiceIdentifier(
                clinic_id=clinic_id,
                digest=self.digest("invoice", identifier),
                invoice_id=invoice.id,
            )
            if not issue:
                self.save(invoice, claim)
                return invoice, True
            self._issues.issue(clinic_id, invoice, claim)
            return invoice, True

        return self._retrying(import_)

    def revise_draft(
        self,
        clinic_id: UUID,
        invoice_id: UUID,
        *,
        lines: list[Line] | None,
        due_date: date | None,
        set_due_date: bool,
    ) -> Invoice:
        def revise() -> Invoice:
            invoice = self.get_invoice(clinic_id, invoice_id)
            invoice.revise(lines=lines, due_date=due_date, set_due_date=set_due_date)
            self.save(invoice)
            return invoice

        return self._retrying(revise)

    def issue_invoice(self, clinic_id: UUID, invoice_id: UUID) -> Invoice:
        def issue() -> Invoice:
            invoice = self.get_invoice(clinic_id, invoice_id)
            invoice.check_is_draft()
            self._issues.issue(clinic_id, invoice)
            return invoice

        return self._retrying(issue)

    def adjust_invoice(self, clinic_id: UUID, invoice_id: UUID, amount: int, reason: str):
        def adjust() -> Invoice:
            invoice = self.get_invoice(clinic_id, invoice_id)
            invoice.adjust(
                adjustment_id=uuid4(),
                amount=amount,
                reason=reason,
                adjusted_on=self.today(clinic_id),
            )
            self.save(invoice)
            return invoice

        return self._retrying(adjust)

    def void_invoice(self, clinic_id: UUID, invoice_id: UUID) -> Invoice:
        def void() -> Invoice:
            invoice = self.get_invoice(clinic_id, invoice_id)
            invoice.void(voided_on=self.today(clinic_id))
            self.save(invoice)
            return invoice

        return self._retrying(void)

    def write_off_invoice(self, clinic_id: UUID, invoice_id: UUID, reason: str) -> Invoice:
        def write_off() -> Invoice:
            invoice = self.get_invoice(clinic_id, invoice_id)
            invoice.write_off(written_off_on=self.today(clinic_id), reason=reason)
            self.save(invoice)
            return invoice

        return self._retrying(write_off)

    def get_invoice(self, clinic_id: UUID, invoice_id: UUID) -> Invoice:
        """The clinic's invoice; another clinic's invoice is as absent as a missing one."""
        invoice = self._find(invoice_id, Invoice)
        if invoice is None or invoice.clinic_id != clinic_id:
            raise InvoiceNotFound(str(invoice_id))
        return invoice

    def find_invoice(self, clinic_id: UUID, invoice_id: UUID) -> Invoice | None:
        try:
            return self.get_invoice(clinic_id, invoice_id)
        except InvoiceNotFound:
            return None

    def save_processed(self, tracking: Tracking, *aggregates: Any) -> None:
        """Saves the aggregates' new events and `tracking` (how far a consumer got) in one
        transaction; a tracking position already recorded makes it conflict."""
        processing = ProcessingEvent(tracking=tracking)
        processing.collect_events(*aggregates)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)

    def _new_draft(
        self,
        clinic_id: UUID,
        account_id: UUID,
        patient_id: UUID,
        currency: str | None,
        due_date: date | None,
        lines: list[Line],
        fhir_identifier: str | None = None,
    ) -> Invoice:
        self._check_patient_of(clinic_id, account_id, patient_id)
        # The issue checks the currency again with the settings as they are then.
        settings = self._recent_settings.get(clinic_id) or self.clinic_settings(clinic_id)
        currency = currency or settings.currency
        check_currency(currency, settings)
        return Invoice.draft(
            clinic_id=clinic_id,
            account_id=account_id,
            patient_id=patient_id,
            currency=currency,
            due_date=due_date,
            lines=lines,
            fhir_identifier=fhir_identifier,
        )

    def _check_patient_of(self, clinic_id: UUID, account_id: UUID, patient_id: UUID) -> None:
        if self._known_patients.includes(clinic_id, account_id, patient_id):
            return
        account = self._find(account_id, BillingAccount)
        if account is None or account.clinic_id != clinic_id:
            raise UnknownAccount(f"the clinic has no billing account {account_id}")
        self._known_patients.remember(account)
        account.patient(patient_id)

    def _issue(self, invoice: Invoice, clinic: Clinic) -> None:
        """Issues `invoice` with the clinic's next number; refuses before taking one."""
        settings = clinic.settings
        self._recent_settings.put(clinic.clinic_id, settings)
        check_currency(invoice.currency, settings)
        issued_on = settings.today(self.clock())
        default_due_date = settings.default_due_date(issued_on)
        invoice.check_can_issue(issued_on=issued_on, default_due_date=default_due_date)
        invoice.issue(
            issued_on=issued_on,
            number=clinic.assign_invoice_number(invoice.id),
            default_due_date=default_due_date,
        )

    def _clinic_for_numbering(self, clinic_id: UUID) -> Clinic:
        """The clinic aggregate; a clinic issuing before anyone configured it gets the
        defaults recorded, so that its numbers are counted from the first one."""
        clinic = self._find(clinic_aggregate_id(clinic_id), Clinic)
        return clinic if clinic is not None else Clinic.configure(clinic_id, DEFAULT_SETTINGS)

    def _find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _utc_today(self) -> date:
        return self.clock().astimezone(UTC).date()

    def _retrying(self, command: Callable[[], T]) -> T:
        for _ in range(CONFLICT_RETRIES):
            try:
                return command()
            except RecordConflictError:
                continue
        raise ConcurrentUpdate("the record kept changing; retry the request")


def check_currency(currency: str, settings: ClinicSettings) -> None:
    if currency != settings.currency:
        raise CurrencyMismatch(
            f"the clinic bills in {settings.currency}; this invoice is in {currency}"
        )
