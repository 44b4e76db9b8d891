"""Two ledger workers share the partitions; one is killed mid-stream and comes back. No event
is lost or applied twice: every balance is the arithmetic of its events, the journal holds
each money event once, and the audit log's chains still verify."""

from __future__ import annotations

import asyncio
import uuid

from tests.integration.harness import ServiceProcess, eventually
from tests.integration.ledger_support import Book, publish

ACCOUNTS = 40
ROUNDS = 8


def events_for(book: Book) -> list:
    """Payments held as credit: invoicing's consumer has no invoices to put them on, and would
    dead-letter every one (this test is about the ledger, not about them)."""
    events = []
    for _ in range(ROUNDS):
        invoice = uuid.uuid4()
        events += [book.issued(1_000, invoice), book.captured([], 450)]
        events += [book.reminder_due(invoice)]
    return events


async def logged(db, events) -> int:
    """How many of these events the audit log holds (other services add their own events)."""
    return await db.fetchval(
        "SELECT count(*) FROM ledger.audit_log WHERE event_id = ANY($1::uuid[])",
        [e.id for e in events],
    )


async def test_a_rebalance_and_a_killed_worker_lose_and_double_nothing(suite, staff, db, workdir):
    second = ServiceProcess("ledger-worker-2", ["ledger", "worker"], suite.env, workdir).start()
    try:
        books = [Book(staff.clinic_id) for _ in range(ACCOUNTS)]
        batches = [events_for(book) for book in books]
        half = ACCOUNTS // 2
        await asyncio.sleep(4)  # the second worker joins the group: partitions are split
        await publish(suite.infra.bootstrap_servers, *[e for b in batches[:half] for e in b])

        async def started():
            return await logged(db, batches[0]) > 0

        await eventually(started, timeout=30, interval=0.01)
        suite.ledger_worker.kill()  # SIGKILL: whatever transaction it had open is rolled back
        await publish(suite.infra.bootstrap_servers, *[e for b in batches[half:] for e in b])
        suite.ledger_worker.start()

        everything = [e for b in batches for e in b]

        async def all_logged():
            return await logged(db, everything) == len(everything)

        await eventually(all_logged, timeout=90, interval=0.5)
    finally:
        second.stop()

    balances = dict(
        await db.fetch(
            """SELECT account_id, balance FROM ledger.account_balances
               WHERE clinic_id = $1""",
            staff.clinic_id,
        )
    )
    assert balances == {book.account_id: book.expected_balance for book in books}
    entries = await db.fetchval(
        "SELECT count(*) FROM ledger.journal_entries WHERE clinic_id = $1", staff.clinic_id
    )
    assert entries == ACCOUNTS * ROUNDS * 2
    verified = staff.get(f"{suite.ledger_api.url}/v1/audit/verify").json()
    assert verified["ok"] is True, verified
