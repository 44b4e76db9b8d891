"""Identifiers that other systems give our records, each one claimed by exactly one record.

An EHR names a patient by its own id (an MRN) and an invoice by its `Invoice.identifier`.
Each claim is an aggregate whose id derives from the clinic and a keyed digest of the
identifier: recording it in the same transaction as the record it points to makes the
identifier unique per clinic (a second claim conflicts on the aggregate id), and the
stored row holds a digest, never the identifier itself (an MRN is PHI). No I/O here.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from eventsourcing.domain import Aggregate, event

IDENTIFIER_NAMESPACE = uuid.UUID("5b0e3c1d-7f2a-4e8b-9c6d-1a2b3c4d5e6f")


class IdentifierDigest:
    """Keyed digests of external identifiers (HMAC-SHA256), so that lookups by identifier
    work without storing the identifier."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def __call__(self, kind: str, value: str) -> str:
        return hmac.new(self.key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()


class PatientIdentifier(Aggregate):
    """An external patient id of a clinic, pointing at the patient and their account."""

    @staticmethod
    def create_id(clinic_id: uuid.UUID, digest: str) -> uuid.UUID:
        return uuid.uuid5(IDENTIFIER_NAMESPACE, f"patient/{clinic_id}/{digest}")

    @event("Claimed")
    def __init__(
        self, clinic_id: uuid.UUID, digest: str, account_id: uuid.UUID, patient_id: uuid.UUID
    ) -> None:
        self.clinic_id = clinic_id
        self.account_id = account_id
        self.patient_id = patient_id


class FhirInvoiceIdentifier(Aggregate):
    """An EHR's `Invoice.identifier` (system|value), pointing at the invoice made from it."""

    @staticmethod
    def create_id(clinic_id: uuid.UUID, digest: str) -> uuid.UUID:
        return uuid.uuid5(IDENTIFIER_NAMESPACE, f"fhir-invoice/{clinic_id}/{digest}")

    @event("Claimed")
    def __init__(self, clinic_id: uuid.UUID, digest: str, invoice_id: uuid.UUID) -> None:
        self.clinic_id = clinic_id
        self.invoice_id = invoice_id
