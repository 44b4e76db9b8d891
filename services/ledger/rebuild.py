"""`clinicpay ledger rebuild`: recompute the journal and the balances from the audit log alone
into fresh tables, and compare them with the live ones. Any difference is a failure.

Everything happens in one repeatable-read transaction: the audit log and the live tables are
read in the same snapshot (the worker writes both in one transaction, so they agree at every
snapshot), and the fresh tables vanish when it rolls back unless `keep` asks to commit them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import asyncpg

from contracts import decode_envelope
from ledger.postings import journal_entry_for
from ledger.projection import post

REBUILD_SCHEMA = "ledger_rebuild"

# What must be equal, table by table: every column that the projection derives.
COMPARED = {
    "journal_entries": "event_id, event_type, clinic_id, account_id, currency, invoice_id, "
    "payment_id, description, posted_on, occurred_at",
    "postings": "event_id, line, clinic_id, ledger_account, account_id, invoice_id, amount, "
    "currency, posted_on",
    "account_balances": "clinic_id, account_id, currency, balance",
    "invoice_balances": "clinic_id, account_id, invoice_id, currency, balance, due_date",
}


@dataclass
class Difference:
    table: str
    only_in: str
    count: int
    sample: list[dict] = field(default_factory=list)


@dataclass
class RebuildResult:
    events: int
    entries: int
    differences: list[Difference]

    @property
    def equal(self) -> bool:
        return not self.differences


async def rebuild(
    connection: asyncpg.Connection, journal_ddl: str, keep: bool = False, page: int = 5_000
) -> RebuildResult:
    transaction = connection.transaction(isolation="repeatable_read")
    await transaction.start()
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {REBUILD_SCHEMA} CASCADE")
        await connection.execute(journal_ddl)
        events, entries = await _project_audit_log(connection, page)
        differences = [d for table in COMPARED for d in await _compare(connection, table)]
    except BaseException:
        await transaction.rollback()
        raise
    if keep:
        await transaction.commit()
    else:
        await transaction.rollback()
    return RebuildResult(events, entries, differences)


async def _project_audit_log(connection: asyncpg.Connection, page: int) -> tuple[int, int]:
    events = entries = 0
    after = ("", 0)
    while True:
        rows = await connection.fetch(
            """SELECT chain, seq, envelope FROM ledger.audit_log
               WHERE (chain, seq) > ($1, $2) ORDER BY chain, seq LIMIT $3""",
            *after,
            page,
        )
        if not rows:
            return events, entries
        posted = [
            e
            for e in (journal_entry_for(decode_envelope(r["envelope"].encode())) for r in rows)
            if e is not None
        ]
        await post(connection, REBUILD_SCHEMA, posted)
        events += len(rows)
        entries += len(posted)
        after = (rows[-1]["chain"], rows[-1]["seq"])


async def _compare(connection: asyncpg.Connection, table: str) -> list[Difference]:
    columns = COMPARED[table]
    found = []
    for only_in, left, right in (
        ("live", "ledger", REBUILD_SCHEMA),
        ("rebuilt", REBUILD_SCHEMA, "ledger"),
    ):
        query = f"""SELECT {columns} FROM {left}.{table}
                    EXCEPT ALL SELECT {columns} FROM {right}.{table}"""
        count = await connection.fetchval(f"SELECT count(*) FROM ({query}) AS d")
        if count:
            sample = await connection.fetch(f"{query} LIMIT 5")
            found.append(Difference(table, only_in, count, [json.loads(_json(r)) for r in sample]))
    return found


def _json(record: asyncpg.Record) -> str:
    return json.dumps(dict(record), default=str)
