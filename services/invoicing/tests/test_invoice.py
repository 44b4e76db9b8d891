import uuid
from datetime import UTC, date, datetime

import pytest

from invoicing.application import Invoicing
from invoicing.domain import InvalidInvoice, Invoice, InvoiceNotDraft, InvoiceNotFound, Line, Status
from invoicing.relay import InvoiceContracts

CLINIC = uuid.uuid4()


def lines(*amounts: tuple[int, int]) -> list[Line]:
    return [Line("Session", date(2026, 11, 20), quantity, unit) for quantity, unit in amounts]


def draft(**overrides) -> Invoice:
    fields = dict(
        clinic_id=CLINIC,
        account_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        currency="USD",
        due_date=date(2026, 12, 31),
        lines=lines((2, 7_500), (1, 1_999)),
    )
    fields.update(overrides)
    return Invoice.draft(**fields)


def test_the_total_is_the_exact_sum_of_quantity_times_unit_amount():
    assert draft().total_amount == 2 * 7_500 + 1_999


def test_a_draft_without_lines_is_refused():
    with pytest.raises(InvalidInvoice):
        draft(lines=[])


def test_issuing_records_the_issue_date_and_cannot_happen_twice():
    invoice = draft()
    invoice.issue(date(2026, 11, 27))
    assert invoice.status is Status.ISSUED
    assert invoice.issued_on == date(2026, 11, 27)
    with pytest.raises(InvoiceNotDraft):
        invoice.issue(date(2026, 11, 28))


def test_an_invoice_cannot_fall_due_before_it_is_issued():
    invoice = draft(due_date=date(2026, 11, 1))
    with pytest.raises(InvalidInvoice):
        invoice.issue(date(2026, 11, 27))
    assert invoice.status is Status.DRAFT


@pytest.fixture
def app() -> Invoicing:
    return Invoicing(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=lambda: datetime(2026, 11, 27, 23, 30, tzinfo=UTC),
    )


def test_an_invoice_is_only_visible_to_its_own_clinic(app: Invoicing):
    invoice = app.draft_invoice(
        clinic_id=CLINIC,
        account_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        currency="USD",
        due_date=date(2026, 12, 31),
        lines=lines((1, 100)),
    )
    assert app.get_invoice(CLINIC, invoice.id).total_amount == 100
    with pytest.raises(InvoiceNotFound):
        app.get_invoice(uuid.uuid4(), invoice.id)
    with pytest.raises(InvoiceNotFound):
        app.issue_invoice(uuid.uuid4(), invoice.id)


def test_only_the_issue_is_published_and_it_carries_amounts_not_descriptions(app: Invoicing):
    invoice = app.draft_invoice(
        clinic_id=CLINIC,
        account_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        currency="USD",
        due_date=date(2026, 12, 31),
        lines=lines((2, 7_500)),
    )
    app.issue_invoice(CLINIC, invoice.id)
    to_contract = InvoiceContracts(app)
    notifications = app.recorder.select_notifications(1, 10)
    envelopes = [to_contract(*app.mapper.to_traced_event(n)) for n in notifications]
    assert envelopes[0] is None
    issued = envelopes[1]
    assert issued.type == "clinicpay.invoicing.InvoiceIssued.v1"
    assert issued.sequence == 2
    assert issued.data["total_amount"] == 15_000
    assert issued.data["issued_on"] == "2026-11-27"
    assert "description" not in issued.data["lines"][0]
