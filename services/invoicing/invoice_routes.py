"""`/v1/invoices`: draft, revise, issue, adjust, void, write off, read and list invoices."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from httpapi import Accesses, Staff
from invoicing.api import (
    ANY_STAFF,
    BILLING,
    IdempotencyKey,
    InvoicingApp,
    RequiredIdempotencyKey,
)
from invoicing.domain import Invoice, Status
from invoicing.errors import (
    AdjustmentExceedsAmountDue,
    ConcurrentUpdate,
    CurrencyMismatch,
    InvalidInvoice,
    InvoiceHasPayments,
    InvoiceListBehind,
    InvoiceNotDraft,
    InvoiceNotFound,
    InvoiceNotOpen,
    UnknownAccount,
    UnknownCursor,
    UnknownPatient,
)
from invoicing.http_models import (
    AdjustmentIn,
    InvoiceDraftIn,
    InvoiceList,
    InvoiceOut,
    InvoicePatchIn,
    InvoiceSummary,
    WriteOffIn,
)
from invoicing.invoice_list_reader import InvoiceListReader, ListFilters, is_overdue
from invoicing.problem_types import IdempotencyKeyRequired, declared

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])


def _out(app, staff, invoice: Invoice) -> InvoiceOut:
    return InvoiceOut.of(invoice, app.today_for_display(staff.clinic_id))


@router.post(
    "",
    status_code=201,
    response_model=InvoiceOut,
    dependencies=[BILLING, IdempotencyKey],
    responses=declared(UnknownAccount, UnknownPatient, CurrencyMismatch, InvalidInvoice, post=True),
)
def draft_invoice(
    body: InvoiceDraftIn, staff: Staff, app: InvoicingApp, access: Accesses, response: Response
) -> InvoiceOut:
    """A draft invoice for one of the account's patients; lines may change until it is issued."""
    access.change("billing_account", body.account_id)
    invoice = app.draft_invoice(
        clinic_id=staff.clinic_id,
        account_id=body.account_id,
        patient_id=body.patient_id,
        currency=body.currency,
        due_date=body.due_date,
        lines=[line.to_line() for line in body.lines],
    )
    access.change("invoice", invoice.id)
    response.headers["Location"] = f"/v1/invoices/{invoice.id}"
    return _out(app, staff, invoice)


@router.get(
    "",
    response_model=InvoiceList,
    dependencies=[ANY_STAFF],
    responses=declared(UnknownCursor, InvoiceListBehind),
)
async def list_invoices(
    request: Request,
    staff: Staff,
    app: InvoicingApp,
    access: Accesses,
    account_id: UUID | None = None,
    patient_id: UUID | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: Annotated[
        UUID | None, Query(description="The last invoice id of the previous page")
    ] = None,
) -> InvoiceList:
    """The clinic's invoices, newest first, including everything recorded before the call."""
    reader: InvoiceListReader = request.app.state.invoice_list
    filters = ListFilters(account_id, patient_id, status.value if status else None)
    page = await reader.page(staff.clinic_id, filters, limit, starting_after)
    today = await run_in_threadpool(app.today_for_display, staff.clinic_id)
    for row in page.rows:
        access.read("invoice", row["invoice_id"])
    return InvoiceList(
        data=[InvoiceSummary.of_row(row, is_overdue(row, today)) for row in page.rows],
        has_more=page.has_more,
    )


@router.get(
    "/{invoice_id}",
    response_model=InvoiceOut,
    dependencies=[ANY_STAFF],
    responses=declared(InvoiceNotFound),
)
def get_invoice(invoice_id: UUID, staff: Staff, app: InvoicingApp, access: Accesses) -> InvoiceOut:
    access.read("invoice", invoice_id)
    return _out(app, staff, app.get_invoice(staff.clinic_id, invoice_id))


@router.patch(
    "/{invoice_id}",
    response_model=InvoiceOut,
    dependencies=[BILLING],
    responses=declared(
        InvoiceNotFound, InvoiceNotDraft, InvalidInvoice, ConcurrentUpdate, body=True
    ),
)
def revise_draft(
    invoice_id: UUID, body: InvoicePatchIn, staff: Staff, app: InvoicingApp, access: Accesses
) -> InvoiceOut:
    """Replaces the lines and/or the due date of a draft."""
    access.change("invoice", invoice_id)
    invoice = app.revise_draft(
        staff.clinic_id,
        invoice_id,
        lines=[line.to_line() for line in body.lines] if body.lines is not None else None,
        due_date=body.due_date,
        set_due_date="due_date" in body.model_fields_set,
    )
    return _out(app, staff, invoice)


@router.post(
    "/{invoice_id}/issue",
    response_model=InvoiceOut,
    dependencies=[BILLING, IdempotencyKey],
    responses=declared(
        InvoiceNotFound,
        InvoiceNotDraft,
        InvalidInvoice,
        CurrencyMismatch,
        ConcurrentUpdate,
        post=True,
    ),
)
def issue_invoice(
    invoice_id: UUID, staff: Staff, app: InvoicingApp, access: Accesses
) -> InvoiceOut:
    """Issues a draft: assigns the clinic's next invoice number and the due date."""
    access.change("invoice", invoice_id)
    return _out(app, staff, app.issue_invoice(staff.clinic_id, invoice_id))


@router.post(
    "/{invoice_id}/adjust",
    response_model=InvoiceOut,
    dependencies=[BILLING, RequiredIdempotencyKey],
    responses=declared(
        InvoiceNotFound,
        InvoiceNotOpen,
        AdjustmentExceedsAmountDue,
        InvalidInvoice,
        ConcurrentUpdate,
        IdempotencyKeyRequired,
        post=True,
    ),
)
def adjust_invoice(
    invoice_id: UUID, body: AdjustmentIn, staff: Staff, app: InvoicingApp, access: Accesses
) -> InvoiceOut:
    """A credit that lowers what is owed, never below zero. Needs an Idempotency-Key."""
    access.change("invoice", invoice_id)
    return _out(
        app, staff, app.adjust_invoice(staff.clinic_id, invoice_id, body.amount, body.reason)
    )


@router.post(
    "/{invoice_id}/void",
    response_model=InvoiceOut,
    dependencies=[BILLING, IdempotencyKey],
    responses=declared(
        InvoiceNotFound, InvoiceNotOpen, InvoiceHasPayments, ConcurrentUpdate, post=True
    ),
)
def void_invoice(invoice_id: UUID, staff: Staff, app: InvoicingApp, access: Accesses) -> InvoiceOut:
    """Cancels a draft, or an issued invoice on which nothing is paid (refund first)."""
    access.change("invoice", invoice_id)
    return _out(app, staff, app.void_invoice(staff.clinic_id, invoice_id))


@router.post(
    "/{invoice_id}/write-off",
    response_model=InvoiceOut,
    dependencies=[BILLING, IdempotencyKey],
    responses=declared(InvoiceNotFound, InvoiceNotOpen, ConcurrentUpdate, post=True),
)
def write_off_invoice(
    invoice_id: UUID, body: WriteOffIn, staff: Staff, app: InvoicingApp, access: Accesses
) -> InvoiceOut:
    """Writes the remaining balance off as bad debt."""
    access.change("invoice", invoice_id)
    return _out(app, staff, app.write_off_invoice(staff.clinic_id, invoice_id, body.reason))
