"""Recorded events rebuild the same state: what the database holds is enough."""

import uuid
from datetime import UTC, date, datetime

from payments.application.app import PaymentsApp
from payments.domain.allocation import Allocation, Line
from payments.domain.mandate import AutopayMandate
from payments.domain.payment import Payment
from payments.domain.plan import PaymentPlan, RetryPolicy
from payments.domain.schedule import Interval

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def app() -> PaymentsApp:
    return PaymentsApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_a_refunded_and_disputed_payment_replays_to_the_same_state():
    store = app()
    invoice = uuid.uuid4()
    payment = Payment(
        id=uuid.uuid4(),
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        amount=9_000,
        currency="USD",
        method_id=uuid.uuid4(),
        invoice_ids=[invoice],
        scheduled_for=date(2026, 12, 1),
        origin={"kind": "api"},
        requested_at=NOW,
    )
    payment.start_attempt(NOW)
    payment.capture("pi_1", NOW, Allocation((Line(invoice, 8_000),), 1_000))
    refund = uuid.uuid4()
    payment.request_refund(refund, 1_500, "duplicate", NOW)
    payment.complete_refund(refund, "re_1", NOW, Allocation((Line(invoice, 500),), 1_000))
    payment.dispute("dp_1", 7_500, "fraudulent", NOW)
    store.record(payment)

    replayed = store.payment(payment.clinic_id, payment.id)

    assert replayed.status is payment.status
    assert replayed.allocation == payment.allocation
    assert replayed.refunds == payment.refunds
    assert (replayed.refunded_amount, replayed.refundable_amount) == (1_500, 7_500)
    assert replayed.disputes == payment.disputes
    assert replayed.scheduled_for == date(2026, 12, 1)


def test_a_plan_and_a_mandate_replay_to_the_same_state():
    store = app()
    plan = PaymentPlan.create(
        id=uuid.uuid4(),
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        invoice_ids=[uuid.uuid4()],
        currency="USD",
        total_amount=10_001,
        count=3,
        interval=Interval.BIWEEKLY,
        start_date=date(2026, 12, 1),
        method_id=uuid.uuid4(),
        policy=RetryPolicy(),
        created_at=NOW,
    )
    paid_by = uuid.uuid4()
    plan.start_try(1, paid_by, NOW)
    plan.installment_paid(1, paid_by, NOW)
    plan.start_try(2, uuid.uuid4(), NOW)
    plan.try_failed(2, NOW)
    mandate = AutopayMandate(
        id=uuid.uuid4(),
        clinic_id=plan.clinic_id,
        account_id=plan.account_id,
        method_id=plan.method_id,
        cadence="weekly",
        weekday="friday",
        enabled_at=NOW,
        first_charge_on=date(2026, 11, 27),
    )
    mandate.charge_period(date(2026, 11, 27), [uuid.uuid4()])
    store.record(plan, mandate)

    assert store.plan(plan.clinic_id, plan.id).installments == plan.installments
    assert store.plan(plan.clinic_id, plan.id).paid_amount == 3_334
    assert store.mandate(None, mandate.id).periods == mandate.periods


def test_another_clinics_records_are_as_absent_as_missing_ones():
    import pytest

    from payments.domain.errors import PaymentNotFound

    store = app()
    with pytest.raises(PaymentNotFound):
        store.payment(uuid.uuid4(), uuid.uuid4())
