"""The invoice lifecycle rules, on the aggregate alone."""

import uuid
from datetime import date

import pytest

from invoicing.domain import Invoice, Line, Status
from invoicing.errors import (
    AdjustmentExceedsAmountDue,
    InvalidInvoice,
    InvoiceHasPayments,
    InvoiceNotDraft,
    InvoiceNotOpen,
)

ISSUED_ON = date(2026, 11, 27)


def lines(*amounts: tuple[int, int]) -> list[Line]:
    return [Line("Session", date(2026, 11, 20), quantity, unit) for quantity, unit in amounts]


def draft(**overrides) -> Invoice:
    fields = dict(
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        currency="USD",
        due_date=None,
        lines=lines((2, 7_500), (1, 1_999)),
    )
    fields.update(overrides)
    return Invoice.draft(**fields)


def issued(total_lines=((1, 10_000),), **overrides) -> Invoice:
    invoice = draft(lines=lines(*total_lines), **overrides)
    invoice.issue(issued_on=ISSUED_ON, number="INV-000001", default_due_date=date(2026, 12, 27))
    return invoice


def pay(invoice: Invoice, amount: int, event_id: str | None = None) -> str:
    event_id = event_id or str(uuid.uuid4())
    invoice.receive_payment(payment_event_id=event_id, payment_id=uuid.uuid4(), amount=amount)
    return event_id


def refund(invoice: Invoice, amount: int) -> None:
    invoice.receive_refund(
        payment_event_id=str(uuid.uuid4()), refund_id=uuid.uuid4(), amount=amount
    )


def adjust(invoice: Invoice, amount: int) -> None:
    invoice.adjust(
        adjustment_id=uuid.uuid4(), amount=amount, reason="goodwill", adjusted_on=ISSUED_ON
    )


# -- totals and drafts


def test_the_total_is_the_exact_sum_of_quantity_times_unit_amount():
    assert draft().total_amount == 2 * 7_500 + 1_999


def test_a_draft_without_lines_is_refused():
    with pytest.raises(InvalidInvoice):
        draft(lines=[])


def test_a_draft_with_more_than_200_lines_is_refused():
    with pytest.raises(InvalidInvoice):
        draft(lines=lines(*[(1, 1)] * 201))


def test_a_line_keeps_its_code_and_provider():
    invoice = draft(lines=[Line("Eval", date(2026, 11, 20), 1, 20_000, "92523", "Dr. Lee")])
    assert invoice.lines[0].code == "92523"
    assert invoice.lines[0].provider == "Dr. Lee"


def test_a_draft_owes_nothing_yet_but_shows_what_it_will_ask_for():
    invoice = draft()
    assert invoice.status is Status.DRAFT
    assert invoice.amount_due == invoice.total_amount
    assert invoice.number is None


def test_lines_and_due_date_can_be_revised_while_a_draft():
    invoice = draft()
    invoice.revise(lines=lines((3, 100)), due_date=date(2027, 1, 31), set_due_date=True)
    assert invoice.total_amount == 300
    assert invoice.due_date == date(2027, 1, 31)
    invoice.revise(lines=None, due_date=None, set_due_date=True)
    assert invoice.due_date is None
    assert invoice.total_amount == 300


def test_revising_to_no_lines_is_refused():
    invoice = draft()
    with pytest.raises(InvalidInvoice):
        invoice.revise(lines=[], due_date=None, set_due_date=False)
    assert invoice.total_amount == 2 * 7_500 + 1_999


def test_an_issued_invoice_cannot_be_revised():
    invoice = issued()
    with pytest.raises(InvoiceNotDraft):
        invoice.revise(lines=lines((1, 1)), due_date=None, set_due_date=False)


# -- issuing


def test_issuing_records_the_number_the_issue_date_and_the_default_due_date():
    invoice = issued()
    assert invoice.status is Status.ISSUED
    assert invoice.number == "INV-000001"
    assert invoice.issued_on == ISSUED_ON
    assert invoice.due_date == date(2026, 12, 27)


def test_an_explicit_due_date_wins_over_the_default():
    invoice = issued(due_date=date(2027, 3, 1))
    assert invoice.due_date == date(2027, 3, 1)


def test_an_invoice_cannot_be_issued_twice():
    invoice = issued()
    with pytest.raises(InvoiceNotDraft):
        invoice.issue(issued_on=ISSUED_ON, number="INV-000002", default_due_date=ISSUED_ON)
    assert invoice.number == "INV-000001"


def test_an_invoice_cannot_fall_due_before_it_is_issued():
    invoice = draft(due_date=date(2026, 11, 1))
    with pytest.raises(InvalidInvoice):
        invoice.issue(issued_on=ISSUED_ON, number="INV-000001", default_due_date=ISSUED_ON)
    assert invoice.status is Status.DRAFT


def test_an_invoice_for_nothing_is_settled_as_soon_as_it_is_issued():
    assert issued(total_lines=((1, 0),)).status is Status.PAID


def test_overdue_means_past_the_due_date_and_still_owed():
    invoice = issued()
    assert not invoice.is_overdue(date(2026, 12, 27))
    assert invoice.is_overdue(date(2026, 12, 28))
    pay(invoice, 10_000)
    assert not invoice.is_overdue(date(2026, 12, 28))


# -- payments


def test_part_payment_then_the_rest_settles_the_invoice():
    invoice = issued()
    pay(invoice, 4_000)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        Status.PARTIALLY_PAID,
        4_000,
        6_000,
    )
    pay(invoice, 6_000)
    assert (invoice.status, invoice.amount_due) == (Status.PAID, 0)


def test_the_same_payment_event_is_applied_once():
    invoice = issued()
    event_id = pay(invoice, 4_000)
    pay(invoice, 4_000, event_id=event_id)
    assert invoice.amount_paid == 4_000


def test_a_refund_reopens_a_paid_invoice():
    invoice = issued()
    pay(invoice, 10_000)
    refund(invoice, 2_500)
    assert (invoice.status, invoice.amount_due) == (Status.PARTIALLY_PAID, 2_500)
    refund(invoice, 7_500)
    assert (invoice.status, invoice.amount_due) == (Status.ISSUED, 10_000)


def test_a_refund_that_overtakes_its_capture_never_shows_more_due_than_the_invoice():
    invoice = issued()
    refund(invoice, 3_000)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (Status.ISSUED, 0, 10_000)
    pay(invoice, 10_000)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        Status.PARTIALLY_PAID,
        7_000,
        3_000,
    )


def test_an_overpayment_settles_the_invoice_and_shows_what_was_paid():
    invoice = issued()
    pay(invoice, 12_000)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (Status.PAID, 12_000, 0)


def test_a_payment_received_while_a_draft_counts_once_it_is_issued():
    invoice = draft(lines=lines((1, 10_000)))
    pay(invoice, 10_000)
    assert invoice.status is Status.DRAFT
    invoice.issue(issued_on=ISSUED_ON, number="INV-000009", default_due_date=ISSUED_ON)
    assert invoice.status is Status.PAID


# -- adjustments


def test_an_adjustment_lowers_what_is_due():
    invoice = issued()
    adjust(invoice, 2_500)
    assert (invoice.amount_adjusted, invoice.amount_due, invoice.status) == (
        2_500,
        7_500,
        Status.ISSUED,
    )


def test_an_adjustment_can_never_take_the_amount_due_below_zero():
    invoice = issued()
    pay(invoice, 6_000)
    with pytest.raises(AdjustmentExceedsAmountDue):
        adjust(invoice, 4_001)
    assert invoice.amount_adjusted == 0


def test_an_adjustment_of_everything_due_settles_the_invoice():
    invoice = issued()
    adjust(invoice, 10_000)
    assert (invoice.status, invoice.amount_due) == (Status.PAID, 0)


def test_an_adjustment_is_a_positive_credit():
    invoice = issued()
    with pytest.raises(InvalidInvoice):
        adjust(invoice, 0)


@pytest.mark.parametrize("state", ["draft", "paid", "void", "written_off"])
def test_only_an_open_invoice_can_be_adjusted(state):
    invoice = in_state(state)
    with pytest.raises((InvoiceNotOpen, AdjustmentExceedsAmountDue)):
        adjust(invoice, 1)
    assert invoice.amount_adjusted == 0


# -- void and write-off


def test_voiding_an_unpaid_invoice_cancels_what_remained():
    invoice = issued()
    adjust(invoice, 1_000)
    invoice.void(voided_on=date(2026, 12, 1))
    assert (invoice.status, invoice.voided_amount, invoice.amount_due) == (Status.VOID, 9_000, 0)


def test_a_draft_can_be_discarded_by_voiding_it_and_nothing_was_owed():
    invoice = draft()
    invoice.void(voided_on=ISSUED_ON)
    assert (invoice.status, invoice.voided_amount) == (Status.VOID, 0)


def test_an_invoice_with_a_payment_cannot_be_voided_until_it_is_refunded():
    invoice = issued()
    pay(invoice, 1_000)
    with pytest.raises(InvoiceHasPayments):
        invoice.void(voided_on=ISSUED_ON)
    refund(invoice, 1_000)
    invoice.void(voided_on=ISSUED_ON)
    assert invoice.status is Status.VOID


def test_a_void_invoice_cannot_be_voided_again_or_written_off():
    invoice = in_state("void")
    with pytest.raises(InvoiceNotOpen):
        invoice.void(voided_on=ISSUED_ON)
    with pytest.raises(InvoiceNotOpen):
        invoice.write_off(written_off_on=ISSUED_ON, reason="x")


def test_writing_off_takes_exactly_the_remaining_balance():
    invoice = issued()
    pay(invoice, 3_000)
    adjust(invoice, 1_000)
    invoice.write_off(written_off_on=date(2027, 6, 1), reason="collections exhausted")
    assert (invoice.status, invoice.amount_written_off, invoice.amount_due) == (
        Status.WRITTEN_OFF,
        6_000,
        0,
    )


@pytest.mark.parametrize("state", ["draft", "paid", "void", "written_off"])
def test_only_an_open_invoice_can_be_written_off(state):
    invoice = in_state(state)
    with pytest.raises(InvoiceNotOpen):
        invoice.write_off(written_off_on=ISSUED_ON, reason="x")


def test_a_payment_after_a_write_off_is_recorded_and_the_invoice_stays_written_off():
    invoice = in_state("written_off")
    pay(invoice, 500)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        Status.WRITTEN_OFF,
        500,
        0,
    )


def in_state(state: str) -> Invoice:
    if state == "draft":
        return draft()
    invoice = issued()
    if state == "paid":
        pay(invoice, 10_000)
    elif state == "void":
        invoice.void(voided_on=ISSUED_ON)
    elif state == "written_off":
        invoice.write_off(written_off_on=ISSUED_ON, reason="x")
    return invoice
