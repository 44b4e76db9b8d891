"""Clinic settings over HTTP, and what they decide about invoices."""

from __future__ import annotations

from datetime import date, timedelta

from tests.integration.harness import StaffClient
from tests.integration.invoicing_api import (
    configure_clinic,
    draft,
    issue,
    open_account,
    recorded_events,
    send,
)

SETTINGS = {
    "name": "Bright Steps ABA",
    "timezone": "Pacific/Honolulu",
    "currency": "USD",
    "payment_terms_days": 14,
    "invoice_number_prefix": "BSA-",
}


def test_a_clinic_starts_on_the_defaults_until_an_admin_saves_its_settings(suite, codec, clinic_id):
    billing = StaffClient(codec, clinic_id, ["billing"])
    url = f"{suite.invoicing_api.url}/v1/clinic"
    before = billing.get(url).json()
    assert before["configured"] is False
    assert (before["timezone"], before["currency"], before["payment_terms_days"]) == (
        "UTC",
        "USD",
        30,
    )
    saved = configure_clinic(suite, codec, clinic_id, **SETTINGS)
    assert saved == {
        "object": "clinic",
        "clinic_id": str(clinic_id),
        "configured": True,
        **SETTINGS,
    }
    assert billing.get(url).json() == saved


async def test_only_an_admin_changes_the_settings_and_bad_ones_change_nothing(
    suite, codec, clinic_id, db
):
    url = f"{suite.invoicing_api.url}/v1/clinic"
    billing = StaffClient(codec, clinic_id, ["billing"])
    admin = StaffClient(codec, clinic_id, ["admin"])
    before = await recorded_events(db)
    assert send("PUT", billing, url, json=SETTINGS).status_code == 403
    for bad in (
        {**SETTINGS, "timezone": "Hawaii Standard Time"},
        {**SETTINGS, "currency": "dollars"},
        {**SETTINGS, "payment_terms_days": -1},
        {**SETTINGS, "invoice_number_prefix": "bad prefix"},
        {k: v for k, v in SETTINGS.items() if k != "name"},
    ):
        response = send("PUT", admin, url, json=bad)
        assert response.status_code == 422, bad
        assert response.json()["type"].rsplit("/", 1)[1] in (
            "invalid-request",
            "invalid-clinic-settings",
        )
    assert await recorded_events(db) == before
    assert admin.get(url).json()["configured"] is False


def test_invoices_are_numbered_in_order_with_the_prefix_of_the_day(suite, staff, codec):
    configure_clinic(suite, codec, staff.clinic_id, **SETTINGS)
    account = open_account(suite, staff)
    drafts = [draft(suite, staff, account) for _ in range(3)]
    numbers = [issue(suite, staff, d["id"])["number"] for d in drafts[:2]]
    configure_clinic(suite, codec, staff.clinic_id, **{**SETTINGS, "invoice_number_prefix": "B2-"})
    numbers.append(issue(suite, staff, drafts[2]["id"])["number"])
    assert numbers == ["BSA-000001", "BSA-000002", "B2-000003"]


def test_the_default_due_date_is_the_issue_date_in_the_clinics_timezone_plus_terms(
    suite, staff, codec
):
    configure_clinic(suite, codec, staff.clinic_id, **SETTINGS)
    created = draft(suite, staff, open_account(suite, staff), due_date=None)
    invoice = issue(suite, staff, created["id"])
    issued_on = date.fromisoformat(invoice["issued_on"])
    assert date.fromisoformat(invoice["due_date"]) == issued_on + timedelta(days=14)
    assert invoice["overdue"] is False


async def test_an_invoice_in_another_currency_than_the_clinics_is_refused(suite, staff, codec, db):
    configure_clinic(suite, codec, staff.clinic_id, **{**SETTINGS, "currency": "CAD"})
    account = open_account(suite, staff)
    before = await recorded_events(db)
    body = {
        "account_id": str(account.id),
        "patient_id": str(account.patient_id),
        "currency": "USD",
        "lines": [
            {
                "description": "Session",
                "service_date": "2026-11-20",
                "quantity": 1,
                "unit_amount": 1,
            }
        ],
    }
    response = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=body)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/currency-mismatch")
    assert await recorded_events(db) == before
    body.pop("currency")
    assert staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=body).json()["currency"] == (
        "CAD"
    )
