"""What the relay publishes for each recorded event: contracts with ids, amounts and dates."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from invoicing.accounts import ContactPreference, Guarantor, Patient
from invoicing.application import Invoicing
from invoicing.domain import Line
from invoicing.relay import InvoiceContracts

NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)


@pytest.fixture
def app() -> Invoicing:
    return Invoicing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)


def published(app: Invoicing) -> list:
    to_contract = InvoiceContracts(app)
    notifications = app.recorder.select_notifications(1, 1000)
    envelopes = [to_contract(*app.mapper.to_traced_event(n)) for n in notifications]
    return [envelope for envelope in envelopes if envelope is not None]


def new_invoice(app: Invoicing, clinic_id: uuid.UUID, amount: int = 15_000):
    patient = Patient(uuid.uuid4(), "Kid One", date(2018, 1, 2), "MRN-9")
    guarantor = Guarantor(
        "Pat Parent", date(1980, 5, 6), ContactPreference.EMAIL, email="pat@example.com"
    )
    account = app.open_account(clinic_id, guarantor, [patient])
    return app.draft_invoice(
        clinic_id=clinic_id,
        account_id=account.id,
        patient_id=patient.id,
        currency=None,
        due_date=None,
        lines=[Line("Speech therapy, 45 min", date(2026, 11, 20), 2, amount // 2, "92507")],
    )


def test_issue_adjust_and_write_off_are_published_with_numbers_and_amounts(app):
    clinic_id = uuid.uuid4()
    invoice = new_invoice(app, clinic_id)
    app.issue_invoice(clinic_id, invoice.id)
    app.adjust_invoice(clinic_id, invoice.id, 1_000, "courtesy")
    app.write_off_invoice(clinic_id, invoice.id, "uncollectable")
    issued, adjusted, written_off = published(app)

    assert issued.type == "clinicpay.invoicing.InvoiceIssued.v1"
    assert issued.data["invoice_number"] == "INV-000001"
    assert issued.data["total_amount"] == 15_000
    assert issued.data["lines"][0]["code"] == "92507"
    assert issued.sequence == 2

    assert adjusted.type == "clinicpay.invoicing.InvoiceAdjusted.v1"
    assert (adjusted.data["amount"], adjusted.data["amount_due"]) == (1_000, 14_000)

    assert written_off.type == "clinicpay.invoicing.InvoiceWrittenOff.v1"
    assert written_off.data["amount"] == 14_000
    assert {e.account_id for e in (issued, adjusted, written_off)} == {invoice.account_id}
    assert len({e.id for e in (issued, adjusted, written_off)}) == 3


def test_voiding_an_issued_invoice_publishes_what_remained(app):
    clinic_id = uuid.uuid4()
    invoice = new_invoice(app, clinic_id)
    app.issue_invoice(clinic_id, invoice.id)
    app.void_invoice(clinic_id, invoice.id)
    voided = published(app)[-1]
    assert voided.type == "clinicpay.invoicing.InvoiceVoided.v1"
    assert voided.data["voided_amount"] == 15_000


def test_drafts_discarded_drafts_accounts_and_clinics_publish_nothing(app):
    clinic_id = uuid.uuid4()
    invoice = new_invoice(app, clinic_id)
    app.revise_draft(
        clinic_id, invoice.id, lines=None, due_date=date(2027, 1, 1), set_due_date=True
    )
    app.void_invoice(clinic_id, invoice.id)
    assert published(app) == []


def test_published_events_carry_no_names_contacts_dates_of_birth_or_descriptions(app):
    clinic_id = uuid.uuid4()
    invoice = new_invoice(app, clinic_id)
    app.issue_invoice(clinic_id, invoice.id)
    app.adjust_invoice(clinic_id, invoice.id, 500, "family hardship")
    text = json.dumps([e.to_json() for e in published(app)])
    for private in ("Kid One", "Pat Parent", "pat@example.com", "1980-05-06", "MRN-9"):
        assert private not in text
    assert "Speech therapy" not in text and "hardship" not in text


def test_a_republished_event_keeps_its_id(app):
    clinic_id = uuid.uuid4()
    app.issue_invoice(clinic_id, new_invoice(app, clinic_id).id)
    assert [e.id for e in published(app)] == [e.id for e in published(app)]


def test_a_relay_that_starts_part_way_through_an_invoices_history_maps_it_the_same(app):
    clinic_id = uuid.uuid4()
    invoice = new_invoice(app, clinic_id)
    app.issue_invoice(clinic_id, invoice.id)
    app.adjust_invoice(clinic_id, invoice.id, 1_000, "courtesy")
    from_the_start = published(app)
    notifications = app.recorder.select_notifications(1, 1000)
    adjusted_at = next(n for n in notifications if n.topic.endswith("Invoice.Adjusted"))
    restarted = InvoiceContracts(app)
    envelope = restarted(*app.mapper.to_traced_event(adjusted_at))
    assert envelope.data == from_the_start[-1].data
