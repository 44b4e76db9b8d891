import uuid
from datetime import UTC, datetime

import pytest

from contracts import contract_named, make_envelope
from ledger.postings import (
    JournalEntry,
    LedgerAccount,
    Posting,
    UnbalancedEntry,
    UnpostableEvent,
    journal_entry_for,
    postable_entry,
)

CLINIC, ACCOUNT = uuid.uuid4(), uuid.uuid4()


def envelope(name: str, context: str, data: dict):
    contract = contract_named(context, name)
    return make_envelope(
        event_type=contract.type,
        aggregate_id=uuid.uuid4(),
        sequence=1,
        clinic_id=CLINIC,
        account_id=ACCOUNT,
        data=contract.model.model_validate(data),
        time=datetime.now(UTC),
        correlation_id="t",
    )


def issued(total: int):
    return envelope(
        "InvoiceIssued",
        "invoicing",
        {
            "invoice_id": str(uuid.uuid4()),
            "account_id": str(ACCOUNT),
            "patient_id": str(uuid.uuid4()),
            "currency": "USD",
            "total_amount": total,
            "issued_on": "2026-11-27",
            "due_date": "2026-12-27",
            "lines": [],
        },
    )


def captured(amount: int, allocations: list[tuple[uuid.UUID, int]]):
    return envelope(
        "PaymentCaptured",
        "payments",
        {
            "payment_id": str(uuid.uuid4()),
            "account_id": str(ACCOUNT),
            "amount": amount,
            "currency": "USD",
            "captured_at": "2026-11-27T10:00:00Z",
            "allocations": [{"invoice_id": str(i), "amount": a} for i, a in allocations],
            "unallocated_amount": amount - sum(a for _, a in allocations),
        },
    )


def test_an_issued_invoice_debits_receivable_and_credits_revenue():
    entry = journal_entry_for(issued(12_500))
    assert {(p.ledger_account, p.amount) for p in entry.postings} == {
        (LedgerAccount.RECEIVABLE, 12_500),
        (LedgerAccount.SERVICE_REVENUE, -12_500),
    }
    assert entry.receivable_change() == 12_500


def test_a_captured_payment_credits_receivable_per_allocation_and_keeps_the_rest_as_credit():
    invoice = uuid.uuid4()
    entry = journal_entry_for(captured(10_000, [(invoice, 7_000)]))
    assert sum(p.amount for p in entry.postings) == 0
    assert entry.receivable_change() == -10_000
    assert Posting(LedgerAccount.RECEIVABLE, -7_000, ACCOUNT, invoice) in entry.postings


def test_an_entry_that_does_not_balance_cannot_exist():
    with pytest.raises(UnbalancedEntry):
        JournalEntry(
            uuid.uuid4(),
            "x",
            CLINIC,
            ACCOUNT,
            "USD",
            (Posting(LedgerAccount.RECEIVABLE, 100), Posting(LedgerAccount.SERVICE_REVENUE, -99)),
        )


def test_events_that_move_no_money_post_nothing():
    due = envelope(
        "ReminderDue",
        "reminders",
        {
            "reminder_id": str(uuid.uuid4()),
            "kind": "invoice_due",
            "step": "due",
            "subject_type": "invoice",
            "subject_id": str(uuid.uuid4()),
            "account_id": str(ACCOUNT),
            "due_at": "2026-12-27T09:00:00Z",
        },
    )
    assert journal_entry_for(due) is None


def invoicing_event(name: str, invoice: uuid.UUID, **data):
    return envelope(
        name,
        "invoicing",
        {"invoice_id": str(invoice), "account_id": str(ACCOUNT), "currency": "USD", **data},
    )


def postings_of(entry) -> set[tuple[LedgerAccount, int]]:
    return {(p.ledger_account, p.amount) for p in entry.postings}


def test_an_adjustment_debits_revenue_adjustments_and_credits_the_invoices_receivable():
    invoice = uuid.uuid4()
    adjusted = invoicing_event(
        "InvoiceAdjusted",
        invoice,
        adjustment_id=str(uuid.uuid4()),
        amount=2_000,
        adjusted_on="2026-11-28",
        amount_due=8_000,
    )
    entry = journal_entry_for(adjusted)
    assert postings_of(entry) == {
        (LedgerAccount.REVENUE_ADJUSTMENTS, 2_000),
        (LedgerAccount.RECEIVABLE, -2_000),
    }
    assert entry.invoice_changes() == {invoice: -2_000}


def test_a_void_reverses_revenue_for_what_remained():
    voided = invoicing_event(
        "InvoiceVoided", uuid.uuid4(), voided_amount=5_000, voided_on="2026-11-28"
    )
    assert postings_of(journal_entry_for(voided)) == {
        (LedgerAccount.SERVICE_REVENUE, 5_000),
        (LedgerAccount.RECEIVABLE, -5_000),
    }


def test_a_write_off_is_bad_debt_expense():
    written_off = invoicing_event(
        "InvoiceWrittenOff", uuid.uuid4(), amount=4_200, written_off_on="2026-11-28"
    )
    entry = journal_entry_for(written_off)
    assert postings_of(entry) == {
        (LedgerAccount.BAD_DEBT_EXPENSE, 4_200),
        (LedgerAccount.RECEIVABLE, -4_200),
    }
    assert entry.receivable_change() == -4_200


def test_a_refund_reopens_its_invoices_and_reduces_credit_from_the_clearing_account():
    invoice = uuid.uuid4()
    refunded = envelope(
        "PaymentRefunded",
        "payments",
        {
            "refund_id": str(uuid.uuid4()),
            "payment_id": str(uuid.uuid4()),
            "account_id": str(ACCOUNT),
            "amount": 3_000,
            "currency": "USD",
            "refunded_at": "2026-11-29T10:00:00Z",
            "allocations": [{"invoice_id": str(invoice), "amount": 2_000}],
            "unallocated_amount": 1_000,
        },
    )
    entry = journal_entry_for(refunded)
    assert entry.receivable_change() == 3_000
    assert entry.invoice_changes() == {invoice: 2_000}
    assert (LedgerAccount.PROCESSOR_CLEARING, -3_000) in postings_of(entry)


def test_a_payment_whose_allocations_do_not_add_up_is_refused():
    bad = captured(10_000, [(uuid.uuid4(), 7_000)])
    bad.data["unallocated_amount"] = 0
    with pytest.raises(UnpostableEvent):
        postable_entry(bad)


def test_an_event_naming_another_account_in_its_data_is_refused():
    other = issued(100)
    other.data["account_id"] = str(uuid.uuid4())
    with pytest.raises(UnpostableEvent):
        postable_entry(other)
