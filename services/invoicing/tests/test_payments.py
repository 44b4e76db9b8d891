"""Payments learned from the payments service: applied once each, in any order."""

import uuid
from datetime import UTC, date, datetime

from eventsourcing.persistence import Tracking
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import contract_named, make_envelope
from invoicing.accounts import ContactPreference, Guarantor, Patient
from invoicing.application import Invoicing
from invoicing.domain import Line, Status
from invoicing.payments import PaymentAllocations

CAPTURED = contract_named("payments", "PaymentCaptured")
REFUNDED = contract_named("payments", "PaymentRefunded")
NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)


def new_app() -> Invoicing:
    return Invoicing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)


def issued_invoice(app: Invoicing, clinic_id: uuid.UUID, amount: int = 10_000):
    patient = Patient(uuid.uuid4(), "Kid", date(2018, 1, 2))
    guarantor = Guarantor("Pat", date(1980, 1, 1), ContactPreference.EMAIL, email="p@example.com")
    account = app.open_account(clinic_id, guarantor, [patient])
    invoice = app.draft_invoice(
        clinic_id=clinic_id,
        account_id=account.id,
        patient_id=patient.id,
        currency=None,
        due_date=None,
        lines=[Line("Session", date(2026, 11, 20), 1, amount)],
    )
    return app.issue_invoice(clinic_id, invoice.id)


def captured(clinic_id, account_id, allocations, currency="USD", payment_id=None):
    payment_id = payment_id or uuid.uuid4()
    total = sum(amount for _, amount in allocations)
    data = CAPTURED.model.model_validate(
        {
            "payment_id": payment_id,
            "account_id": account_id,
            "amount": total,
            "currency": currency,
            "captured_at": NOW,
            "allocations": [{"invoice_id": i, "amount": a} for i, a in allocations],
            "unallocated_amount": 0,
        }
    )
    return _envelope(CAPTURED.type, payment_id, clinic_id, account_id, data)


def refunded(clinic_id, account_id, payment_id, allocations):
    refund_id = uuid.uuid4()
    data = REFUNDED.model.model_validate(
        {
            "refund_id": refund_id,
            "payment_id": payment_id,
            "account_id": account_id,
            "amount": sum(amount for _, amount in allocations),
            "currency": "USD",
            "refunded_at": NOW,
            "allocations": [{"invoice_id": i, "amount": a} for i, a in allocations],
            "unallocated_amount": 0,
        }
    )
    return _envelope(REFUNDED.type, refund_id, clinic_id, account_id, data)


def _envelope(event_type, aggregate_id, clinic_id, account_id, data):
    return make_envelope(
        event_type=event_type,
        aggregate_id=aggregate_id,
        sequence=1,
        clinic_id=clinic_id,
        account_id=account_id,
        data=data,
        time=NOW,
        correlation_id="test",
    )


class Positions:
    """Consecutive positions in one partition, as the consumer would track them."""

    def __init__(self) -> None:
        self.offset = 0

    def next(self) -> Tracking:
        self.offset += 1
        return Tracking("clinicpay.payments.v1#0", self.offset)


def test_a_capture_settles_its_invoices_and_records_the_position_with_them():
    app = new_app()
    clinic_id = uuid.uuid4()
    first, second = issued_invoice(app, clinic_id), issued_invoice(app, clinic_id, 5_000)
    event = captured(clinic_id, first.account_id, [(first.id, 10_000), (second.id, 2_000)])
    assert PaymentAllocations(app).apply(event, Tracking("clinicpay.payments.v1#0", 1))
    assert app.get_invoice(clinic_id, first.id).status is Status.PAID
    assert app.get_invoice(clinic_id, second.id).amount_due == 3_000
    assert app.recorder.max_tracking_id("clinicpay.payments.v1#0") == 1


def test_a_position_already_recorded_is_not_applied_again():
    app = new_app()
    clinic_id = uuid.uuid4()
    invoice = issued_invoice(app, clinic_id)
    event = captured(clinic_id, invoice.account_id, [(invoice.id, 4_000)])
    allocations = PaymentAllocations(app)
    assert allocations.apply(event, Tracking("p#0", 7))
    assert not allocations.apply(event, Tracking("p#0", 7))
    assert app.get_invoice(clinic_id, invoice.id).amount_paid == 4_000


def test_the_same_event_redelivered_at_a_new_position_changes_nothing():
    app = new_app()
    clinic_id = uuid.uuid4()
    invoice = issued_invoice(app, clinic_id)
    event = captured(clinic_id, invoice.account_id, [(invoice.id, 4_000)])
    positions = Positions()
    allocations = PaymentAllocations(app)
    allocations.apply(event, positions.next())
    allocations.apply(event, positions.next())
    assert app.get_invoice(clinic_id, invoice.id).amount_paid == 4_000


def test_an_allocation_to_an_unknown_or_another_clinics_invoice_is_reported_not_applied():
    app = new_app()
    clinic_id = uuid.uuid4()
    mine = issued_invoice(app, clinic_id)
    theirs = issued_invoice(app, uuid.uuid4())
    unknown = uuid.uuid4()
    event = captured(
        clinic_id, mine.account_id, [(mine.id, 1_000), (theirs.id, 1_000), (unknown, 1_000)]
    )
    allocations = PaymentAllocations(app)
    unapplicable = {(u.invoice_id, u.reason) for u in allocations.unapplicable(event)}
    assert unapplicable == {(theirs.id, "unknown-invoice"), (unknown, "unknown-invoice")}
    allocations.apply(event, Tracking("p#0", 1))
    assert app.get_invoice(clinic_id, mine.id).amount_paid == 1_000
    assert app.get_invoice(theirs.clinic_id, theirs.id).amount_paid == 0


def test_an_allocation_in_another_currency_is_reported_not_applied():
    app = new_app()
    clinic_id = uuid.uuid4()
    invoice = issued_invoice(app, clinic_id)
    event = captured(clinic_id, invoice.account_id, [(invoice.id, 1_000)], currency="EUR")
    allocations = PaymentAllocations(app)
    assert [u.reason for u in allocations.unapplicable(event)] == ["currency-mismatch"]
    allocations.apply(event, Tracking("p#0", 1))
    assert app.get_invoice(clinic_id, invoice.id).amount_paid == 0


def test_events_that_move_no_invoice_only_advance_the_position():
    app = new_app()
    failed = contract_named("payments", "PaymentFailed")
    data = {
        "payment_id": str(uuid.uuid4()),
        "account_id": str(uuid.uuid4()),
        "amount": 100,
        "currency": "USD",
        "failed_at": NOW.isoformat(),
        "decline_code": "card_declined",
    }
    event = make_envelope(
        event_type=failed.type,
        aggregate_id=uuid.uuid4(),
        sequence=1,
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        data=failed.model.model_validate(data),
        time=NOW,
        correlation_id="test",
    )
    before = app.recorder.max_notification_id()
    assert PaymentAllocations(app).apply(event, Tracking("p#0", 3))
    assert app.recorder.max_notification_id() == before
    assert app.recorder.max_tracking_id("p#0") == 3


@settings(max_examples=40, deadline=None, database=None)
@given(st.permutations(range(5)), st.lists(st.integers(0, 4), max_size=3))
def test_captures_and_refunds_reach_the_same_state_in_any_order_and_with_repeats(order, repeats):
    app = new_app()
    clinic_id = uuid.uuid4()
    invoice = issued_invoice(app, clinic_id, 10_000)
    account_id = invoice.account_id
    first_payment, second_payment = uuid.uuid4(), uuid.uuid4()
    events = [
        captured(clinic_id, account_id, [(invoice.id, 6_000)], payment_id=first_payment),
        captured(clinic_id, account_id, [(invoice.id, 4_000)], payment_id=second_payment),
        refunded(clinic_id, account_id, first_payment, [(invoice.id, 1_500)]),
        refunded(clinic_id, account_id, second_payment, [(invoice.id, 500)]),
        captured(clinic_id, account_id, [(invoice.id, 1_000)]),
    ]
    positions = Positions()
    allocations = PaymentAllocations(app)
    for index in [*order, *repeats]:
        allocations.apply(events[index], positions.next())
    settled = app.get_invoice(clinic_id, invoice.id)
    assert (settled.amount_paid, settled.amount_due, settled.status) == (
        9_000,
        1_000,
        Status.PARTIALLY_PAID,
    )
