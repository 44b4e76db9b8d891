"""Property: whatever the order, duplication and batching of an account's events across
topics, the projection into real PostgreSQL leaves the balances DESIGN.md's arithmetic gives
and a trial balance of zero."""

from __future__ import annotations

import asyncio
import random
import uuid

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventbus.consumer import Delivery
from ledger import read_models
from ledger.projection import project
from tests.integration.ledger_support import Book

INVOICES = 4
amounts = st.integers(min_value=1, max_value=50_000)
invoice = st.integers(min_value=0, max_value=INVOICES - 1)
allocations = st.lists(st.tuples(invoice, amounts), max_size=3, unique_by=lambda a: a[0])
moves = st.one_of(
    st.tuples(st.sampled_from(["adjusted", "voided", "written_off"]), invoice, amounts),
    st.tuples(st.sampled_from(["captured", "refunded"]), allocations, st.integers(0, 5_000)),
)


def events_of(book: Book, totals: list[int], chosen: list[tuple]) -> list:
    ids = [uuid.uuid4() for _ in totals]
    events = [book.issued(total, invoice_id) for total, invoice_id in zip(totals, ids, strict=True)]
    for kind, target, amount in chosen:
        if kind in ("captured", "refunded"):
            if not target and amount == 0:
                continue
            events.append(getattr(book, kind)([(ids[i], a) for i, a in target], amount))
        else:
            events.append(getattr(book, kind)(ids[target], amount))
    return events


def deliveries_of(events: list, rng: random.Random) -> list[list[Delivery]]:
    """Shuffled across topics, some delivered twice, in batches of random size."""
    sent = events + rng.sample(events, k=rng.randint(0, len(events)))
    rng.shuffle(sent)
    deliveries = [
        Delivery(e, f"property.{e.source.split('/')[1]}", 0, offset, e.encode())
        for offset, e in enumerate(sent)
    ]
    batches, start = [], 0
    while start < len(deliveries):
        size = rng.randint(1, 6)
        batches.append(deliveries[start : start + size])
        start += size
    return batches


async def project_and_read(dsn: str, book: Book, batches) -> tuple:
    connection = await asyncpg.connect(dsn)
    try:
        for batch in batches:
            async with connection.transaction():
                await project(connection, batch)
        found = await read_models.account_balance(connection, book.clinic_id, book.account_id)
        trial = await read_models.trial_balance(connection, book.clinic_id, None)
        return found, trial
    finally:
        await connection.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    totals=st.lists(st.integers(1, 100_000), min_size=INVOICES, max_size=INVOICES),
    chosen=st.lists(moves, max_size=12),
    seed=st.integers(0, 2**32),
)
def test_any_order_and_duplication_leaves_the_designed_balances(infra, totals, chosen, seed):
    book = Book(uuid.uuid4())
    events = events_of(book, totals, chosen)
    batches = deliveries_of(events, random.Random(seed))

    found, trial = asyncio.run(project_and_read(infra.database.asyncpg_dsn(), book, batches))

    assert found.balance == book.expected_balance
    assert {i.invoice_id: i.balance for i in found.invoices} == book.expected_invoices
    [usd] = trial
    assert usd["net"] == 0
    assert sum(a["balance"] for a in usd["accounts"]) == 0
    receivable = [a for a in usd["accounts"] if a["ledger_account"] == "patient_receivable"]
    assert receivable[0]["balance"] == book.expected_balance
