"""Projects consumed events into the journal and the balances, inside the consumer's
transaction: the inbox insert is the deduplication, so a redelivered event changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg

from eventbus.consumer import Delivery
from ledger.postings import JournalEntry, journal_entry_for


async def project(connection: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
    for delivery in deliveries:
        if await _record_in_inbox(connection, delivery):
            entry = journal_entry_for(delivery.envelope)
            if entry is not None:
                await _post(connection, entry, delivery)


async def _record_in_inbox(connection: asyncpg.Connection, delivery: Delivery) -> bool:
    envelope = delivery.envelope
    inserted = await connection.fetchval(
        """INSERT INTO ledger.inbox (event_id, event_type, clinic_id, account_id, subject,
                                     occurred_at, topic, "partition", "offset", envelope)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
           ON CONFLICT (event_id) DO NOTHING
           RETURNING true""",
        envelope.id,
        envelope.type,
        envelope.clinic_id,
        envelope.account_id,
        envelope.subject,
        envelope.time,
        delivery.topic,
        delivery.partition,
        delivery.offset,
        json.dumps(envelope.to_json()),
    )
    return bool(inserted)


async def _post(connection: asyncpg.Connection, entry: JournalEntry, delivery: Delivery) -> None:
    entry_id = await connection.fetchval(
        """INSERT INTO ledger.journal_entries
               (event_id, event_type, clinic_id, account_id, currency, occurred_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING entry_id""",
        entry.event_id,
        entry.event_type,
        entry.clinic_id,
        entry.account_id,
        entry.currency,
        delivery.envelope.time,
    )
    await connection.executemany(
        """INSERT INTO ledger.postings (entry_id, line, clinic_id, ledger_account, account_id,
                                        invoice_id, amount, currency)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        [
            (
                entry_id,
                line,
                entry.clinic_id,
                p.ledger_account.value,
                p.account_id,
                p.invoice_id,
                p.amount,
                entry.currency,
            )
            for line, p in enumerate(entry.postings, start=1)
        ],
    )
    await connection.execute(
        """INSERT INTO ledger.account_balances (clinic_id, account_id, currency, balance)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (clinic_id, account_id, currency) DO UPDATE
           SET balance = account_balances.balance + EXCLUDED.balance, updated_at = now()""",
        entry.clinic_id,
        entry.account_id,
        entry.currency,
        entry.receivable_change(),
    )
