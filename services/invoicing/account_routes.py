"""`/v1/accounts`: billing accounts (the guarantor and the patients they pay for).

Every read or change is in the access log. Reads are for billing staff and for other
services (reminders need contact details); the identity check is for the patient portal.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from fastapi import APIRouter, Response

from httpapi import Accesses, Staff
from invoicing.accounts import Guarantor, Patient
from invoicing.api import (
    BILLING,
    CONTACT_READERS,
    SERVICE,
    IdempotencyKey,
    InvoicingApp,
)
from invoicing.errors import (
    AccountNotFound,
    ConcurrentUpdate,
    ExternalIdInUse,
    InvalidAccount,
)
from invoicing.http_models import (
    AccountIn,
    AccountOut,
    ContactPatchIn,
    IdentityCheckIn,
    IdentityCheckOut,
    PatientIn,
)
from invoicing.problem_types import declared

router = APIRouter(prefix="/v1/accounts", tags=["billing accounts"])


def _patient(body: PatientIn) -> Patient:
    return Patient(id=uuid4(), **body.model_dump())


@router.post(
    "",
    status_code=201,
    response_model=AccountOut,
    dependencies=[BILLING, IdempotencyKey],
    responses=declared(InvalidAccount, ExternalIdInUse, ConcurrentUpdate, post=True),
)
def open_account(
    body: AccountIn, staff: Staff, app: InvoicingApp, access: Accesses, response: Response
) -> AccountOut:
    """Opens an account: the guarantor who pays and the patients they pay for."""
    account = app.open_account(
        staff.clinic_id,
        Guarantor(**body.guarantor.model_dump()),
        [_patient(patient) for patient in body.patients],
    )
    access.change("billing_account", account.id)
    response.headers["Location"] = f"/v1/accounts/{account.id}"
    return AccountOut.of(account)


@router.get(
    "/{account_id}",
    response_model=AccountOut,
    dependencies=[CONTACT_READERS],
    responses=declared(AccountNotFound),
)
def get_account(account_id: UUID, staff: Staff, app: InvoicingApp, access: Accesses) -> AccountOut:
    """The account with the guarantor's contact details (billing staff, or a service such
    as reminders; send `X-Access-Purpose` to say why)."""
    access.read("billing_account", account_id)
    return AccountOut.of(app.get_account(staff.clinic_id, account_id))


@router.patch(
    "/{account_id}",
    response_model=AccountOut,
    dependencies=[BILLING],
    responses=declared(AccountNotFound, InvalidAccount, ConcurrentUpdate, body=True),
)
def change_contact(
    account_id: UUID, body: ContactPatchIn, staff: Staff, app: InvoicingApp, access: Accesses
) -> AccountOut:
    """Changes the guarantor's name, contact details, date of birth or contact preference."""
    access.change("billing_account", account_id)
    return AccountOut.of(app.change_contact(staff.clinic_id, account_id, body.changes()))


@router.post(
    "/{account_id}/patients",
    status_code=201,
    response_model=AccountOut,
    dependencies=[BILLING, IdempotencyKey],
    responses=declared(
        AccountNotFound, InvalidAccount, ExternalIdInUse, ConcurrentUpdate, post=True
    ),
)
def add_patient(
    account_id: UUID, body: PatientIn, staff: Staff, app: InvoicingApp, access: Accesses
) -> AccountOut:
    """Adds a patient the guarantor pays for."""
    access.change("billing_account", account_id)
    return AccountOut.of(app.add_patient(staff.clinic_id, account_id, _patient(body)))


@router.post(
    "/{account_id}/identity-checks",
    response_model=IdentityCheckOut,
    dependencies=[SERVICE, IdempotencyKey],
    responses=declared(AccountNotFound, post=True),
)
def check_identity(
    account_id: UUID, body: IdentityCheckIn, staff: Staff, app: InvoicingApp, access: Accesses
) -> IdentityCheckOut:
    """Whether a date of birth is the guarantor's or one of the patients' (or, with
    `patient_id`, that patient's). Answers match or no match and nothing else."""
    access.read("billing_account", account_id)
    matched = app.check_identity(staff.clinic_id, account_id, body.date_of_birth, body.patient_id)
    return IdentityCheckOut(match=matched)
