"""The state machines of payments, plans, mandates and methods, with no I/O."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain.allocation import Allocation, Line
from payments.domain.errors import (
    InvalidPaymentRequest,
    NotRefundable,
    PaymentMethodRemoved,
    PaymentNotChargeable,
    PlanNotActive,
    RefundExceedsCaptured,
)
from payments.domain.mandate import AutopayMandate, PeriodAlreadyHandled, first_charge_on
from payments.domain.method import PaymentMethod
from payments.domain.payment import Payment, RefundStatus, Status
from payments.domain.plan import InstallmentStatus, PaymentPlan, PlanStatus, RetryPolicy
from payments.domain.schedule import Interval

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def payment(amount: int = 10_000, scheduled_for: date | None = None) -> Payment:
    return Payment(
        id=uuid.uuid4(),
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        amount=amount,
        currency="USD",
        method_id=uuid.uuid4(),
        invoice_ids=None,
        scheduled_for=scheduled_for,
        origin={"kind": "api"},
        requested_at=NOW,
    )


def captured(amount: int = 10_000) -> Payment:
    p = payment(amount)
    p.start_attempt(NOW)
    p.capture("pi_1", NOW, Allocation((Line(uuid.uuid4(), amount),), 0))
    return p


def test_a_payment_is_processing_from_the_attempt_until_the_gateway_answers():
    p = payment()
    assert p.status is Status.REQUESTED
    p.start_attempt(NOW)
    assert p.status is Status.PROCESSING
    with pytest.raises(PaymentNotChargeable):
        p.start_attempt(NOW)


def test_a_scheduled_payment_waits_until_charged():
    p = payment(scheduled_for=date(2026, 12, 1))
    assert p.status is Status.SCHEDULED
    p.start_attempt(NOW)
    assert p.status is Status.PROCESSING


def test_a_capture_must_allocate_exactly_the_amount():
    p = payment(500)
    p.start_attempt(NOW)
    with pytest.raises(ValueError):
        p.capture("pi_1", NOW, Allocation((), 499))
    p.capture("pi_1", NOW, Allocation((), 500))
    assert p.status is Status.CAPTURED


def test_a_success_reported_after_a_decline_still_captures_the_money():
    p = payment(500)
    p.start_attempt(NOW)
    p.fail("pi_1", "card_declined", NOW)
    assert p.status is Status.FAILED
    p.capture("pi_1", NOW, Allocation((), 500))
    assert p.status is Status.CAPTURED


def test_a_captured_payment_is_never_marked_failed():
    p = captured()
    with pytest.raises(PaymentNotChargeable):
        p.fail("pi_1", "card_declined", NOW)


def test_refunds_reserve_their_amount_until_settled_and_never_exceed_the_capture():
    p = captured(10_000)
    first, second = uuid.uuid4(), uuid.uuid4()
    p.request_refund(first, 6_000, "duplicate", NOW)
    assert p.refundable_amount == 4_000
    with pytest.raises(RefundExceedsCaptured):
        p.request_refund(second, 4_001, "duplicate", NOW)
    p.fail_refund(first, "refused", NOW)
    assert p.refundable_amount == 10_000
    p.request_refund(second, 10_000, "duplicate", NOW)
    p.complete_refund(second, "re_1", NOW, Allocation((), 10_000))
    assert (p.refunded_amount, p.refundable_amount) == (10_000, 0)
    assert p.refunds[second]["status"] is RefundStatus.SUCCEEDED


def test_only_a_captured_payment_can_be_refunded():
    p = payment()
    p.start_attempt(NOW)
    with pytest.raises(NotRefundable):
        p.request_refund(uuid.uuid4(), 1, "duplicate", NOW)


@given(st.lists(st.tuples(st.integers(1, 5_000), st.booleans()), max_size=20))
def test_whatever_refunds_come_the_refunded_total_stays_within_the_capture(requests):
    p = captured(10_000)
    for amount, succeeds in requests:
        refund_id = uuid.uuid4()
        try:
            p.request_refund(refund_id, amount, "other", NOW)
        except RefundExceedsCaptured:
            continue
        if succeeds:
            p.complete_refund(refund_id, "re", NOW, Allocation((), amount))
        else:
            p.fail_refund(refund_id, "refused", NOW)
        assert 0 <= p.refunded_amount <= 10_000
        assert p.refunded_amount + p.refundable_amount == 10_000


def test_a_dispute_is_recorded_once_per_dispute_id():
    p = captured()
    p.dispute("dp_1", 10_000, "fraudulent", NOW)
    p.dispute("dp_1", 10_000, "fraudulent", NOW)
    assert list(p.disputes) == ["dp_1"]
    assert len(p.collect_events()) == 4


DEFAULT_POLICY = RetryPolicy()


def plan(count: int = 3, total: int = 9_000, policy: RetryPolicy = DEFAULT_POLICY) -> PaymentPlan:
    return PaymentPlan.create(
        id=uuid.uuid4(),
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        invoice_ids=[uuid.uuid4()],
        currency="USD",
        total_amount=total,
        count=count,
        interval=Interval.MONTHLY,
        start_date=date(2026, 12, 1),
        method_id=uuid.uuid4(),
        policy=policy,
        created_at=NOW,
    )


def test_a_plan_completes_when_its_last_installment_is_paid():
    p = plan(count=2, total=1_001)
    assert [p.installment(n)["amount"] for n in (1, 2)] == [501, 500]
    for number in (1, 2):
        payment_id = uuid.uuid4()
        p.start_try(number, payment_id, NOW)
        p.installment_paid(number, payment_id, NOW)
    assert p.status is PlanStatus.COMPLETED
    assert p.remaining_amount == 0


def test_a_plan_defaults_after_its_installments_last_try_fails():
    p = plan(policy=RetryPolicy((timedelta(days=3), timedelta(days=7))))
    for _ in range(2):
        p.start_try(1, uuid.uuid4(), NOW)
        p.try_failed(1, NOW)
        assert p.status is PlanStatus.ACTIVE
        assert p.installment(1)["status"] is InstallmentStatus.FAILED
    p.start_try(1, uuid.uuid4(), NOW)
    p.try_failed(1, NOW)
    assert p.status is PlanStatus.DEFAULTED
    assert p.defaulted_installment == 1
    assert not p.can_try(2)


def test_an_installment_being_charged_cannot_be_charged_again():
    p = plan()
    p.start_try(1, uuid.uuid4(), NOW)
    with pytest.raises(PlanNotActive):
        p.start_try(1, uuid.uuid4(), NOW)


def test_a_canceled_plan_charges_nothing_more_but_records_money_that_moved():
    p = plan()
    payment_id = uuid.uuid4()
    p.start_try(1, payment_id, NOW)
    p.cancel(NOW)
    assert not p.can_try(2)
    p.installment_paid(1, payment_id, NOW)
    assert p.status is PlanStatus.CANCELED
    assert p.paid_amount == 3_000
    with pytest.raises(PlanNotActive):
        p.cancel(NOW)


def test_a_plan_too_small_to_split_is_refused():
    with pytest.raises(InvalidPaymentRequest):
        plan(count=24, total=23)


def test_the_retry_policy_spaces_tries_from_the_first():
    policy = RetryPolicy((timedelta(days=3), timedelta(days=7)))
    assert policy.max_tries == 3
    assert policy.next_try_at(NOW, 1) == NOW + timedelta(days=3)
    assert policy.next_try_at(NOW, 2) == NOW + timedelta(days=7)
    assert policy.next_try_at(NOW, 3) is None


@pytest.mark.parametrize(
    ("weekday", "today", "expected"),
    [
        ("friday", date(2026, 11, 20), date(2026, 11, 27)),  # today is a Friday: next week
        ("monday", date(2026, 11, 20), date(2026, 11, 23)),
        ("saturday", date(2026, 11, 20), date(2026, 11, 21)),
    ],
)
def test_autopay_first_charges_on_the_next_chosen_weekday_after_today(weekday, today, expected):
    assert first_charge_on(weekday, today) == expected


def test_each_autopay_period_is_charged_at_most_once_and_never_after_disabling():
    mandate = AutopayMandate(
        id=uuid.uuid4(),
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        method_id=uuid.uuid4(),
        cadence="weekly",
        weekday="monday",
        enabled_at=NOW,
        first_charge_on=date(2026, 11, 23),
    )
    assert not mandate.should_charge(date(2026, 11, 16))
    mandate.charge_period(date(2026, 11, 23), [uuid.uuid4()])
    with pytest.raises(PeriodAlreadyHandled):
        mandate.charge_period(date(2026, 11, 23), [uuid.uuid4()])
    mandate.disable(NOW)
    assert not mandate.should_charge(date(2026, 11, 30))


def test_a_removed_method_is_not_usable_and_loses_its_default():
    method = PaymentMethod(
        id=uuid.uuid4(),
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        gateway="sandbox",
        gateway_customer_id="cus_1",
        gateway_method_id="pm_1",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2034,
        is_default=True,
        saved_at=NOW,
    )
    method.remove(NOW)
    assert not method.is_default
    with pytest.raises(PaymentMethodRemoved):
        method.check_usable()
