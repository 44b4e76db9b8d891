import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain.allocation import (
    Allocation,
    Line,
    OpenInvoice,
    allocate_payment,
    allocate_refund,
)

DAY = date(2026, 11, 1)


def invoice(open_amount: int, issued_days_ago: int = 0, due_in: int = 30) -> OpenInvoice:
    issued = DAY - timedelta(days=issued_days_ago)
    return OpenInvoice(uuid.uuid4(), issued, issued + timedelta(days=due_in), open_amount)


def test_a_payment_settles_the_oldest_invoice_first_and_the_rest_becomes_credit():
    newer, older = invoice(5_000, issued_days_ago=1), invoice(3_000, issued_days_ago=9)
    allocation = allocate_payment(9_000, [newer, older])
    assert allocation.lines == (Line(older.invoice_id, 3_000), Line(newer.invoice_id, 5_000))
    assert allocation.unallocated == 1_000


def test_a_partial_payment_leaves_the_newer_invoice_untouched():
    newer, older = invoice(5_000, issued_days_ago=1), invoice(3_000, issued_days_ago=9)
    allocation = allocate_payment(2_500, [newer, older])
    assert allocation.lines == (Line(older.invoice_id, 2_500),)
    assert allocation.unallocated == 0


def test_without_open_invoices_everything_is_credit():
    assert allocate_payment(700, []) == Allocation((), 700)


def test_invoices_issued_the_same_day_go_by_due_date():
    later_due, sooner_due = invoice(100, due_in=30), invoice(100, due_in=10)
    allocation = allocate_payment(100, [later_due, sooner_due])
    assert allocation.lines == (Line(sooner_due.invoice_id, 100),)


open_invoices = st.lists(
    st.builds(
        invoice,
        open_amount=st.integers(min_value=1, max_value=10**7),
        issued_days_ago=st.integers(min_value=0, max_value=400),
        due_in=st.integers(min_value=0, max_value=90),
    ),
    max_size=30,
)


@given(amount=st.integers(min_value=1, max_value=10**8), invoices=open_invoices)
def test_an_allocation_accounts_for_every_cent_and_never_overpays_an_invoice(amount, invoices):
    allocation = allocate_payment(amount, invoices)
    assert allocation.total == amount
    owed = {i.invoice_id: i.open_amount for i in invoices}
    assert all(0 < line.amount <= owed[line.invoice_id] for line in allocation.lines)
    assert allocation.unallocated == max(0, amount - sum(owed.values()))


@given(amount=st.integers(min_value=1, max_value=10**8), invoices=open_invoices)
def test_no_newer_invoice_is_paid_while_an_older_one_still_owes(amount, invoices):
    allocation = allocate_payment(amount, invoices)
    paid = {line.invoice_id: line.amount for line in allocation.lines}
    ordered = sorted(invoices, key=lambda i: i.age_order)
    partly_paid = [i for i in ordered if paid.get(i.invoice_id, 0) < i.open_amount]
    if partly_paid:
        first_open = ordered.index(partly_paid[0])
        assert all(i.invoice_id not in paid for i in ordered[first_open + 1 :])


def test_a_refund_gives_back_credit_first_then_the_most_recently_paid_invoice():
    older, newer = uuid.uuid4(), uuid.uuid4()
    paid = Allocation((Line(older, 3_000), Line(newer, 5_000)), 1_000)
    first = allocate_refund(1_500, paid, [])
    assert first == Allocation((Line(newer, 500),), 1_000)
    second = allocate_refund(6_000, paid, [first])
    assert second == Allocation((Line(newer, 4_500), Line(older, 1_500)), 0)


def test_a_refund_cannot_give_back_more_than_the_payment_settled():
    paid = Allocation((Line(uuid.uuid4(), 300),), 0)
    with pytest.raises(ValueError):
        allocate_refund(301, paid, [])


@given(
    lines=st.lists(st.integers(min_value=1, max_value=10**6), max_size=10),
    credit=st.integers(min_value=0, max_value=10**6),
    cuts=st.lists(st.integers(min_value=1, max_value=10**6), max_size=8),
)
def test_successive_refunds_add_up_exactly_and_reopen_no_more_than_was_paid(lines, credit, cuts):
    paid = Allocation(tuple(Line(uuid.uuid4(), amount) for amount in lines), credit)
    if paid.total == 0:
        return
    refunds: list[Allocation] = []
    left = paid.total
    for cut in cuts:
        amount = min(cut, left)
        if amount == 0:
            break
        refund = allocate_refund(amount, paid, refunds)
        assert refund.total == amount
        refunds.append(refund)
        left -= amount
    reopened: dict = {}
    for line in (line for r in refunds for line in r.lines):
        reopened[line.invoice_id] = reopened.get(line.invoice_id, 0) + line.amount
    assert all(
        reopened[line.invoice_id] <= line.amount
        for line in paid.lines
        if line.invoice_id in reopened
    )
    assert sum(r.unallocated for r in refunds) <= credit
