"""Concurrent issues in one clinic: consecutive numbers, none lost, none given twice."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest

from invoicing.accounts import ContactPreference, Guarantor, Patient
from invoicing.application import Invoicing
from invoicing.domain import Line, Status
from invoicing.errors import InvalidInvoice, InvoiceNotDraft

NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)


@pytest.fixture
def app() -> Invoicing:
    return Invoicing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)


def drafts(app: Invoicing, clinic_id: uuid.UUID, count: int, due_date=None) -> list:
    patient = Patient(uuid.uuid4(), "Kid", date(2018, 1, 2))
    guarantor = Guarantor("Pat", date(1980, 1, 1), ContactPreference.EMAIL, email="p@example.com")
    account = app.open_account(clinic_id, guarantor, [patient])
    return [
        app.draft_invoice(
            clinic_id=clinic_id,
            account_id=account.id,
            patient_id=patient.id,
            currency=None,
            due_date=due_date,
            lines=[Line("Session", date(2026, 11, 20), 1, 100)],
        )
        for _ in range(count)
    ]


def issue_all(app: Invoicing, clinic_id: uuid.UUID, invoice_ids: list) -> list:
    def issue(invoice_id):
        try:
            return app.issue_invoice(clinic_id, invoice_id)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(issue, invoice_ids))


def test_forty_concurrent_issues_take_forty_consecutive_numbers(app):
    clinic_id = uuid.uuid4()
    invoices = issue_all(app, clinic_id, [d.id for d in drafts(app, clinic_id, 40)])
    numbers = sorted(invoice.number for invoice in invoices)
    assert numbers == [f"INV-{n:06d}" for n in range(1, 41)]
    stored = {app.get_invoice(clinic_id, i.id).number for i in invoices}
    assert stored == set(numbers)


def test_a_refused_invoice_in_a_busy_clinic_takes_no_number(app):
    clinic_id = uuid.uuid4()
    good = drafts(app, clinic_id, 10)
    late = drafts(app, clinic_id, 3, due_date=date(2020, 1, 1))
    results = issue_all(app, clinic_id, [d.id for d in good + late])
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 3 and all(isinstance(r, InvalidInvoice) for r in refused)
    numbers = sorted(r.number for r in results if not isinstance(r, Exception))
    assert numbers == [f"INV-{n:06d}" for n in range(1, 11)]


@pytest.mark.parametrize("attempt", range(40))
def test_the_same_draft_issued_concurrently_is_issued_once(app, attempt):
    clinic_id = uuid.uuid4()
    [invoice] = drafts(app, clinic_id, 1)
    results = issue_all(app, clinic_id, [invoice.id] * 8)
    issued = [r for r in results if not isinstance(r, Exception)]
    assert [r.status for r in issued] == [Status.ISSUED]
    assert all(isinstance(r, InvoiceNotDraft) for r in results if isinstance(r, Exception))
    [next_one] = drafts(app, clinic_id, 1)
    assert app.issue_invoice(clinic_id, next_one.id).number == "INV-000002"
