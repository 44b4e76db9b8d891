"""HTTP entrypoint of invoicing: parse, call the application, map errors. Nothing else."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from httpapi import Accesses, Staff, require_roles
from httpapi.problems import problem_responses
from invoicing.application import Invoicing
from invoicing.domain import Invoice, Line

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
MinorUnits = Annotated[StrictInt, Field(ge=0, le=100_000_000, description="Minor units (cents)")]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(min_length=1, max_length=500)]
    service_date: date
    quantity: Annotated[StrictInt, Field(ge=1, le=1000)]
    unit_amount: MinorUnits


class InvoiceDraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: UUID
    patient_id: UUID
    currency: Currency
    due_date: date
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]


class LineOut(BaseModel):
    description: str
    service_date: date
    quantity: int
    unit_amount: int
    amount: int


class InvoiceOut(BaseModel):
    id: UUID
    account_id: UUID
    patient_id: UUID
    status: str
    currency: str
    total_amount: int
    due_date: date
    issued_on: date | None
    lines: list[LineOut]

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls(
            id=invoice.id,
            account_id=invoice.account_id,
            patient_id=invoice.patient_id,
            status=invoice.status.value,
            currency=invoice.currency,
            total_amount=invoice.total_amount,
            due_date=invoice.due_date,
            issued_on=invoice.issued_on,
            lines=[LineOut(amount=line.amount, **line.as_state()) for line in invoice.lines],
        )


def application(request: Request) -> Invoicing:
    return request.app.state.invoicing


InvoicingApp = Annotated[Invoicing, Depends(application)]
router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
BILLING = require_roles("billing", "admin")


@router.post(
    "",
    status_code=201,
    response_model=InvoiceOut,
    dependencies=[BILLING],
    responses=problem_responses(401, 403, 413, 422),
)
def draft_invoice(
    body: InvoiceDraftIn, staff: Staff, app: InvoicingApp, access: Accesses, response: Response
) -> InvoiceOut:
    access.change("billing_account", body.account_id)
    invoice = app.draft_invoice(
        clinic_id=staff.clinic_id,
        account_id=body.account_id,
        patient_id=body.patient_id,
        currency=body.currency,
        due_date=body.due_date,
        lines=[Line(**line.model_dump()) for line in body.lines],
    )
    response.headers["Location"] = f"/v1/invoices/{invoice.id}"
    return InvoiceOut.of(invoice)


@router.post(
    "/{invoice_id}/issue",
    response_model=InvoiceOut,
    dependencies=[BILLING],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def issue_invoice(
    invoice_id: UUID, staff: Staff, app: InvoicingApp, access: Accesses
) -> InvoiceOut:
    access.change("invoice", invoice_id)
    return InvoiceOut.of(app.issue_invoice(staff.clinic_id, invoice_id))


@router.get("/{invoice_id}", response_model=InvoiceOut, responses=problem_responses(401, 404, 422))
def get_invoice(invoice_id: UUID, staff: Staff, app: InvoicingApp, access: Accesses) -> InvoiceOut:
    access.read("invoice", invoice_id)
    return InvoiceOut.of(app.get_invoice(staff.clinic_id, invoice_id))
