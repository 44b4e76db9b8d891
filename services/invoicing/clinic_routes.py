"""`/v1/clinic`: the caller's clinic's billing settings."""

from __future__ import annotations

from fastapi import APIRouter

from httpapi import Staff
from invoicing.api import ADMIN, ANY_STAFF, InvoicingApp
from invoicing.errors import ConcurrentUpdate, InvalidClinicSettings
from invoicing.http_models import ClinicIn, ClinicOut
from invoicing.problem_types import declared

router = APIRouter(prefix="/v1/clinic", tags=["clinic"])


@router.get("", response_model=ClinicOut, dependencies=[ANY_STAFF], responses=declared())
def get_clinic(staff: Staff, app: InvoicingApp) -> ClinicOut:
    """The settings invoices are issued with; the defaults until an admin saves them."""
    settings = app.clinic_settings(staff.clinic_id)
    return ClinicOut.of(staff.clinic_id, settings, app.is_configured(staff.clinic_id))


@router.put(
    "",
    response_model=ClinicOut,
    dependencies=[ADMIN],
    responses=declared(InvalidClinicSettings, ConcurrentUpdate, body=True),
)
def configure_clinic(body: ClinicIn, staff: Staff, app: InvoicingApp) -> ClinicOut:
    """Name, IANA timezone, currency, payment terms and invoice number prefix. Numbers
    continue from the last one issued, whatever the prefix."""
    settings = app.configure_clinic(staff.clinic_id, body.to_settings())
    return ClinicOut.of(staff.clinic_id, settings, configured=True)
