import uuid
from datetime import UTC, datetime

import pytest

from contracts import contract_named, make_envelope
from ledger.postings import JournalEntry, LedgerAccount, Posting, UnbalancedEntry, journal_entry_for

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
