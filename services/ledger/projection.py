"""Projects consumed events inside the consumer's transaction: first into the audit log (the
event id is unique there, so a redelivered event stops at this step), then, for events that
move money, into the journal and the balances. Set-based: a batch costs a handful of round
trips whatever its size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from eventbus.consumer import Delivery
from ledger.chain import AuditRow, ChainHead, chain_name, seal
from ledger.postings import JournalEntry, journal_entry_for

AUDIT_COLUMNS = (
    "chain", "seq", "event_id", "event_type", "clinic_id", "account_id", "subject",
    "correlation_id", "causation_id", "occurred_at", "topic", "partition", "offset",
    "recorded_at", "envelope", "prev_hash", "hash",
)  # fmt: skip
ENTRY_COLUMNS = (
    "event_id", "event_type", "clinic_id", "account_id", "currency", "invoice_id",
    "payment_id", "description", "posted_on", "occurred_at",
)  # fmt: skip
POSTING_COLUMNS = (
    "event_id", "line", "clinic_id", "ledger_account", "account_id", "invoice_id", "amount",
    "currency", "posted_on",
)  # fmt: skip


async def project(connection: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
    fresh = await append_to_audit_log(connection, deliveries)
    entries = [e for e in (_entry_of(d) for d in fresh) if e is not None]
    await post(connection, "ledger", entries)


def _entry_of(delivery: Delivery) -> JournalEntry | None:
    # The worker's consumer prepared it (postings.postable_entry) before the transaction.
    if delivery.prepared is not None:
        return delivery.prepared
    return journal_entry_for(delivery.envelope)


async def append_to_audit_log(
    connection: asyncpg.Connection, deliveries: Sequence[Delivery]
) -> list[Delivery]:
    """Chain the deliveries not yet in the log onto their partition's chain; return them."""
    fresh = await _not_yet_logged(connection, deliveries)
    recorded_at = datetime.now(UTC)
    by_chain: dict[str, list[Delivery]] = {}
    for delivery in fresh:
        by_chain.setdefault(chain_name(delivery.topic, delivery.partition), []).append(delivery)
    rows: list[AuditRow] = []
    for chain, chained in sorted(by_chain.items()):
        head = await _locked_head(connection, chain)
        sealed = seal((_audit_row(chain, d, recorded_at) for d in chained), head)
        await connection.execute(
            """INSERT INTO ledger.audit_heads (chain, seq, hash) VALUES ($1, $2, $3)
               ON CONFLICT (chain) DO UPDATE
               SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, updated_at = now()""",
            chain,
            sealed[-1].seq,
            sealed[-1].hash,
        )
        rows.extend(sealed)
    if rows:
        raw = {d.envelope.id: d.raw.decode() for d in fresh}  # stored as received
        await connection.copy_records_to_table(
            "audit_log",
            schema_name="ledger",
            columns=AUDIT_COLUMNS,
            records=[_audit_record(row, raw[row.event_id]) for row in rows],
        )
    return fresh


async def _not_yet_logged(
    connection: asyncpg.Connection, deliveries: Sequence[Delivery]
) -> list[Delivery]:
    logged = {
        r["event_id"]
        for r in await connection.fetch(
            "SELECT event_id FROM ledger.audit_log WHERE event_id = ANY($1::uuid[])",
            [d.envelope.id for d in deliveries],
        )
    }
    fresh = []
    for delivery in deliveries:
        if delivery.envelope.id not in logged:
            logged.add(delivery.envelope.id)
            fresh.append(delivery)
    return fresh


async def _locked_head(connection: asyncpg.Connection, chain: str) -> ChainHead | None:
    row = await connection.fetchrow(
        "SELECT seq, hash FROM ledger.audit_heads WHERE chain = $1 FOR UPDATE", chain
    )
    return ChainHead(chain, row["seq"], row["hash"]) if row else None


def _audit_row(chain: str, delivery: Delivery, recorded_at: datetime) -> AuditRow:
    envelope = delivery.envelope
    return AuditRow(
        chain=chain,
        seq=0,
        event_id=envelope.id,
        event_type=envelope.type,
        clinic_id=envelope.clinic_id,
        account_id=envelope.account_id,
        subject=envelope.subject,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        occurred_at=envelope.time,
        topic=delivery.topic,
        partition=delivery.partition,
        offset=delivery.offset,
        recorded_at=recorded_at,
        envelope=json.loads(delivery.raw),
    )


def _audit_record(row: AuditRow, envelope_json: str) -> tuple:
    return (
        row.chain, row.seq, row.event_id, row.event_type, row.clinic_id, row.account_id,
        row.subject, row.correlation_id, row.causation_id, row.occurred_at, row.topic,
        row.partition, row.offset, row.recorded_at, envelope_json, row.prev_hash, row.hash,
    )  # fmt: skip


async def post(connection: asyncpg.Connection, schema: str, entries: list[JournalEntry]) -> None:
    """Write the entries, their postings and the balances they change, into `schema`."""
    if not entries:
        return
    await connection.copy_records_to_table(
        "journal_entries",
        schema_name=schema,
        columns=ENTRY_COLUMNS,
        records=[_entry_record(e) for e in entries],
    )
    await connection.copy_records_to_table(
        "postings",
        schema_name=schema,
        columns=POSTING_COLUMNS,
        records=[r for e in entries for r in _posting_records(e)],
    )
    await _add_to_account_balances(connection, schema, entries)
    await _add_to_invoice_balances(connection, schema, entries)


def _entry_record(e: JournalEntry) -> tuple:
    return (
        e.event_id, e.event_type, e.clinic_id, e.account_id, e.currency, e.invoice_id,
        e.payment_id, e.description, e.posted_on, e.occurred_at,
    )  # fmt: skip


def _posting_records(e: JournalEntry) -> Iterable[tuple]:
    for line, p in enumerate(e.postings, start=1):
        yield (
            e.event_id, line, e.clinic_id, p.ledger_account.value, p.account_id, p.invoice_id,
            p.amount, e.currency, e.posted_on,
        )  # fmt: skip


def _lock_order(key: tuple) -> tuple:
    return tuple(part.int if isinstance(part, UUID) else part for part in key)


async def _add_to_account_balances(
    connection: asyncpg.Connection, schema: str, entries: list[JournalEntry]
) -> None:
    changes: dict[tuple[UUID, UUID, str], int] = {}
    for e in entries:
        key = (e.clinic_id, e.account_id, e.currency)
        changes[key] = changes.get(key, 0) + e.receivable_change()
    keys = sorted(changes, key=_lock_order)  # one lock order for every worker: no deadlocks
    await connection.execute(
        f"""INSERT INTO {schema}.account_balances (clinic_id, account_id, currency, balance)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[])
            ON CONFLICT (clinic_id, account_id, currency) DO UPDATE
            SET balance = account_balances.balance + EXCLUDED.balance, updated_at = now()""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [changes[k] for k in keys],
    )


async def _add_to_invoice_balances(
    connection: asyncpg.Connection, schema: str, entries: list[JournalEntry]
) -> None:
    changes: dict[tuple[UUID, UUID, UUID, str], int] = {}
    due_dates = {}
    for e in entries:
        for invoice_id, amount in e.invoice_changes().items():
            key = (e.clinic_id, e.account_id, invoice_id, e.currency)
            changes[key] = changes.get(key, 0) + amount
            if e.due_date is not None and invoice_id == e.invoice_id:
                due_dates[key] = e.due_date
    if not changes:
        return
    keys = sorted(changes, key=_lock_order)
    await connection.execute(
        f"""INSERT INTO {schema}.invoice_balances
                (clinic_id, account_id, invoice_id, currency, balance, due_date)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[],
                                 $6::date[])
            ON CONFLICT (clinic_id, account_id, invoice_id, currency) DO UPDATE
            SET balance = invoice_balances.balance + EXCLUDED.balance,
                due_date = COALESCE(EXCLUDED.due_date, invoice_balances.due_date),
                updated_at = now()""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [k[3] for k in keys],
        [changes[k] for k in keys],
        [due_dates.get(k) for k in keys],
    )
