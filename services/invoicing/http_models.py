"""What invoicing's HTTP API accepts and answers: every field typed and bounded."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from invoicing.accounts import BillingAccount, ContactPreference
from invoicing.clinics import ClinicSettings
from invoicing.domain import Invoice, Line, Status

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
MinorUnits = Annotated[StrictInt, Field(ge=0, le=100_000_000, description="Minor units (cents)")]
Credit = Annotated[StrictInt, Field(ge=1, le=100_000_000_000, description="Minor units (cents)")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[
    str, Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164", examples=["+15551234567"])
]
ExternalId = Annotated[
    str, Field(pattern=r"^[\x21-\x7e]{1,64}$", description="The EHR's id (e.g. MRN)")
]
Code = Annotated[
    str,
    Field(pattern=r"^[A-Z0-9]{5}(-[A-Z0-9]{2}){0,3}$", description="CPT/HCPCS code, modifiers"),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- invoices


class LineIn(Strict):
    description: Annotated[str, Field(min_length=1, max_length=500)]
    service_date: date
    code: Code | None = None
    provider: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    quantity: Annotated[StrictInt, Field(ge=1, le=1000)]
    unit_amount: MinorUnits

    def to_line(self) -> Line:
        return Line(**self.model_dump())


Lines = Annotated[list[LineIn], Field(min_length=1, max_length=200)]


class InvoiceDraftIn(Strict):
    account_id: UUID
    patient_id: UUID
    currency: Currency | None = Field(default=None, description="Defaults to the clinic's")
    due_date: date | None = Field(
        default=None, description="Defaults to the issue date plus the clinic's payment terms"
    )
    lines: Lines


class InvoicePatchIn(Strict):
    """Only while a draft. `due_date: null` goes back to the default due date."""

    lines: Lines | None = None
    due_date: date | None = None

    @model_validator(mode="after")
    def check_something_changes(self) -> InvoicePatchIn:
        if not self.model_fields_set:
            raise ValueError("name lines, due_date or both")
        if "lines" in self.model_fields_set and self.lines is None:
            raise ValueError("lines cannot be null")
        return self


class AdjustmentIn(Strict):
    amount: Credit
    reason: Reason


class WriteOffIn(Strict):
    reason: Reason


class LineOut(BaseModel):
    description: str
    service_date: date
    code: str | None
    provider: str | None
    quantity: int
    unit_amount: int
    amount: int


class AdjustmentOut(BaseModel):
    id: UUID
    amount: int
    reason: str
    adjusted_on: date


class InvoiceSummary(BaseModel):
    object: Literal["invoice"] = "invoice"
    id: UUID
    number: str | None = Field(description="Assigned at issue, e.g. INV-000123")
    account_id: UUID
    patient_id: UUID
    status: Status
    currency: str
    total_amount: int
    amount_paid: int
    amount_due: int
    issued_on: date | None
    due_date: date | None
    overdue: bool = Field(description="Past its due date in the clinic's timezone, still owed")
    created_at: datetime

    @classmethod
    def of_row(cls, row: Mapping[str, Any], overdue: bool) -> InvoiceSummary:
        """From a row of the invoice list (invoicing.invoice_list)."""
        fields = {name: row[name] for name in cls.model_fields if name in row}
        return cls(id=row["invoice_id"], overdue=overdue, **fields)


class InvoiceOut(InvoiceSummary):
    amount_adjusted: int
    amount_written_off: int
    voided_on: date | None
    written_off_on: date | None
    lines: list[LineOut]
    adjustments: list[AdjustmentOut]

    @classmethod
    def of(cls, invoice: Invoice, today: date) -> InvoiceOut:
        return cls(
            id=invoice.id,
            number=invoice.number,
            account_id=invoice.account_id,
            patient_id=invoice.patient_id,
            status=invoice.status,
            currency=invoice.currency,
            total_amount=invoice.total_amount,
            amount_paid=invoice.amount_paid,
            amount_due=invoice.amount_due,
            amount_adjusted=invoice.amount_adjusted,
            amount_written_off=invoice.amount_written_off,
            issued_on=invoice.issued_on,
            due_date=invoice.due_date,
            overdue=invoice.is_overdue(today),
            voided_on=invoice.voided_on,
            written_off_on=invoice.written_off_on,
            created_at=invoice.created_on,
            lines=[LineOut(amount=line.amount, **line.as_state()) for line in invoice.lines],
            adjustments=[AdjustmentOut(**vars(a)) for a in invoice.adjustments],
        )


class InvoiceList(BaseModel):
    object: Literal["list"] = "list"
    data: list[InvoiceSummary]
    has_more: bool


# -- billing accounts


class GuarantorIn(Strict):
    name: Name
    email: Email | None = None
    phone: Phone | None = None
    date_of_birth: date
    contact_preference: ContactPreference


class PatientIn(Strict):
    name: Name
    date_of_birth: date
    external_id: ExternalId | None = None


class AccountIn(Strict):
    guarantor: GuarantorIn
    patients: Annotated[list[PatientIn], Field(min_length=1, max_length=50)]


class ContactPatchIn(Strict):
    """The guarantor fields to change; `email` or `phone` null removes it."""

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    date_of_birth: date | None = None
    contact_preference: ContactPreference | None = None

    @model_validator(mode="after")
    def check_something_changes(self) -> ContactPatchIn:
        if not self.model_fields_set:
            raise ValueError("name at least one guarantor field")
        for required in ("name", "date_of_birth", "contact_preference"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be null")
        return self

    def changes(self) -> dict:
        return {field: getattr(self, field) for field in self.model_fields_set}


class IdentityCheckIn(Strict):
    date_of_birth: date
    patient_id: UUID | None = Field(
        default=None, description="Check this patient only; else the guarantor or any patient"
    )


class IdentityCheckOut(BaseModel):
    match: bool


class GuarantorOut(BaseModel):
    name: str
    email: str | None
    phone: str | None
    date_of_birth: date
    contact_preference: ContactPreference


class PatientOut(BaseModel):
    id: UUID
    name: str
    date_of_birth: date
    external_id: str | None


class AccountOut(BaseModel):
    object: Literal["billing_account"] = "billing_account"
    id: UUID
    guarantor: GuarantorOut
    patients: list[PatientOut]
    created_at: datetime

    @classmethod
    def of(cls, account: BillingAccount) -> AccountOut:
        return cls(
            id=account.id,
            guarantor=GuarantorOut(**vars(account.guarantor)),
            patients=[PatientOut(**vars(patient)) for patient in account.patients],
            created_at=account.created_on,
        )


# -- clinic settings


class ClinicIn(Strict):
    name: Name
    timezone: Annotated[str, Field(max_length=64, examples=["America/Chicago"])]
    currency: Currency
    payment_terms_days: Annotated[StrictInt, Field(ge=0, le=365)]
    invoice_number_prefix: Annotated[
        str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{0,11}$", examples=["INV-"])
    ]

    def to_settings(self) -> ClinicSettings:
        return ClinicSettings(**self.model_dump())


class ClinicOut(BaseModel):
    object: Literal["clinic"] = "clinic"
    clinic_id: UUID
    configured: bool = Field(description="False until an admin saves settings: defaults apply")
    name: str
    timezone: str
    currency: str
    payment_terms_days: int
    invoice_number_prefix: str

    @classmethod
    def of(cls, clinic_id: UUID, settings: ClinicSettings, configured: bool) -> ClinicOut:
        return cls(clinic_id=clinic_id, configured=configured, **vars(settings))
