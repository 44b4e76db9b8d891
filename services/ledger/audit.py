"""Reading the audit log: verifying its chains, their heads, and finding events in it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from ledger.chain import AuditRow, BrokenLink, ChainHead, ChainVerifier

ROW_COLUMNS = """chain, seq, event_id, event_type, clinic_id, account_id, subject,
    correlation_id, causation_id, occurred_at, topic, "partition", "offset", recorded_at,
    envelope, prev_hash, hash"""


def audit_row(record: asyncpg.Record) -> AuditRow:
    values = dict(record)
    values["envelope"] = json.loads(values["envelope"])
    return AuditRow(**values)


async def heads(db: asyncpg.Pool | asyncpg.Connection) -> list[ChainHead]:
    rows = await db.fetch("SELECT chain, seq, hash FROM ledger.audit_heads ORDER BY chain")
    return [ChainHead(r["chain"], r["seq"], r["hash"]) for r in rows]


@dataclass(frozen=True)
class Verification:
    chains: int
    rows: int
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


async def verify(connection: asyncpg.Connection, batch: int = 5_000) -> Verification:
    """Recompute every chain from its first row; the first mismatch of the first broken chain
    (in chain-name order) is reported. Rows are read in pages of `batch`: memory stays flat.
    One snapshot for all reads, so rows appended meanwhile do not look like a moved head."""
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        return await _verify(connection, batch)


async def _verify(connection: asyncpg.Connection, batch: int) -> Verification:
    known = {h.chain: h for h in await heads(connection)}
    chains = [
        r["chain"] for r in await connection.fetch("SELECT DISTINCT chain FROM ledger.audit_log")
    ]
    rows = 0
    for chain in sorted(set(chains) | set(known)):
        verifier = ChainVerifier(chain)
        async for row in _rows_of(connection, chain, batch):
            verifier.feed(row)
            rows += 1
        broken = verifier.finish(known.get(chain))
        if broken is None and chain not in known:
            broken = BrokenLink(chain, 1, None, "the chain has rows but no recorded head")
        if broken is not None:
            return Verification(len(chains), rows, broken)
    return Verification(len(chains), rows, None)


async def _rows_of(
    connection: asyncpg.Connection, chain: str, batch: int
) -> AsyncIterator[AuditRow]:
    after = 0
    while True:
        page = await connection.fetch(
            f"""SELECT {ROW_COLUMNS} FROM ledger.audit_log
                WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3""",
            chain,
            after,
            batch,
        )
        for record in page:
            yield audit_row(record)
        if len(page) < batch:
            return
        after = page[-1]["seq"]


@dataclass(frozen=True)
class EventFilter:
    clinic_id: UUID
    account_id: UUID | None = None
    subject: str | None = None
    event_type: str | None = None
    correlation_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def where(self) -> tuple[str, list]:
        clauses, args = ["clinic_id = $1"], [self.clinic_id]
        for column, value, operator in (
            ("account_id", self.account_id, "="),
            ("subject", self.subject, "="),
            ("event_type", self.event_type, "="),
            ("correlation_id", self.correlation_id, "="),
            ("occurred_at", self.start, ">="),
            ("occurred_at", self.end, "<"),
        ):
            if value is not None:
                args.append(value)
                clauses.append(f"{column} {operator} ${len(args)}")
        return " AND ".join(clauses), args


EVENT_COLUMNS = """event_id, event_type, occurred_at, recorded_at, account_id, subject,
    correlation_id, causation_id, chain, seq, topic, "partition", "offset", envelope,
    encode(hash, 'hex') AS hash"""


async def events_page(
    db: asyncpg.Pool, where: EventFilter, limit: int, starting_after: UUID | None
) -> tuple[list[dict], bool]:
    """Events in (occurred_at, event_id) order; `starting_after` is the last id already seen."""
    clause, args = where.where()
    if starting_after is not None:
        args.append(starting_after)
        clause += f""" AND (occurred_at, event_id) > (
            SELECT occurred_at, event_id FROM ledger.audit_log
            WHERE event_id = ${len(args)} AND clinic_id = $1)"""
    args.append(limit + 1)
    rows = await db.fetch(
        f"""SELECT {EVENT_COLUMNS} FROM ledger.audit_log WHERE {clause}
            ORDER BY occurred_at, event_id LIMIT ${len(args)}""",
        *args,
    )
    return [_event(r) for r in rows[:limit]], len(rows) > limit


def _event(record: asyncpg.Record) -> dict:
    event = dict(record)
    event["envelope"] = json.loads(event["envelope"])
    return event


async def stream_events(
    pool: asyncpg.Pool, where: EventFilter, page_size: int = 1_000
) -> AsyncIterator[dict]:
    """Every matching event, in order, read in pages so an export of any size streams."""
    after: UUID | None = None
    while True:
        page, more = await events_page(pool, where, page_size, after)
        for event in page:
            yield event
        if not more:
            return
        after = page[-1]["event_id"]
