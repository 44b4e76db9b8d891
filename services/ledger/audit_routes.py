"""HTTP access to the audit log: verify the chains, read their heads, find and export events.

The chains are per partition, so they hold every clinic's events. `verify` recomputes all of
them; it names the first bad row by chain and position, and by event id only when that row
is the caller's clinic's. Event queries are always scoped to the caller's clinic.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from httpapi import Accesses, Staff, require_roles
from httpapi.problems import problem_responses
from ledger import audit
from ledger.api import Pool

router = APIRouter(prefix="/v1/audit", tags=["audit"])
AUDITORS = require_roles("finance", "admin")


class BrokenRowOut(BaseModel):
    chain: str
    seq: int
    event_id: UUID | None
    reason: str


class VerifyOut(BaseModel):
    ok: bool
    chains: int
    rows: int
    first_bad_row: BrokenRowOut | None


@router.get(
    "/verify",
    response_model=VerifyOut,
    dependencies=[AUDITORS],
    responses=problem_responses(401, 403),
)
async def verify(staff: Staff, db: Pool, access: Accesses) -> VerifyOut:
    access.read("audit_log", staff.clinic_id)
    async with db.acquire() as connection:
        result = await audit.verify(connection)
    broken = None
    if result.broken is not None:
        event_id = result.broken.event_id
        if event_id is not None:
            owner = await db.fetchval(
                "SELECT clinic_id FROM ledger.audit_log WHERE event_id = $1", event_id
            )
            event_id = event_id if owner == staff.clinic_id else None
        broken = BrokenRowOut(
            chain=result.broken.chain,
            seq=result.broken.seq,
            event_id=event_id,
            reason=result.broken.reason,
        )
    return VerifyOut(ok=result.ok, chains=result.chains, rows=result.rows, first_bad_row=broken)


class HeadOut(BaseModel):
    chain: str
    seq: int
    hash: str


class HeadsOut(BaseModel):
    algorithm: str = "sha256(prev_hash || canonical_json(row))"
    read_at: datetime
    heads: list[HeadOut]


@router.get(
    "/head", response_model=HeadsOut, dependencies=[AUDITORS], responses=problem_responses(401, 403)
)
async def head(staff: Staff, db: Pool, access: Accesses) -> HeadsOut:
    access.read("audit_log", staff.clinic_id)
    found = await audit.heads(db)
    read_at = await db.fetchval("SELECT now()")
    return HeadsOut(
        read_at=read_at, heads=[HeadOut(chain=h.chain, seq=h.seq, hash=h.hash.hex()) for h in found]
    )


def _filter(
    staff: Staff,
    account_id: UUID | None,
    subject: str | None,
    event_type: str | None,
    correlation_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> audit.EventFilter:
    if start and end and end <= start:
        raise HTTPException(422, "`to` must be after `from`")
    return audit.EventFilter(
        staff.clinic_id, account_id, subject, event_type, correlation_id, start, end
    )


Text = Annotated[str | None, Query(max_length=200)]
From = Annotated[datetime | None, Query(alias="from")]
To = Annotated[datetime | None, Query(alias="to")]


@router.get(
    "/events",
    dependencies=[AUDITORS],
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}}},
        **problem_responses(401, 403, 404, 422),
    },
)
async def events(
    staff: Staff,
    db: Pool,
    access: Accesses,
    request: Request,
    account_id: UUID | None = None,
    subject: Text = None,
    type: Text = None,
    correlation_id: Text = None,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    starting_after: UUID | None = None,
    format: Literal["json", "csv"] | None = None,
):
    """Consumed events, oldest first. `correlation_id` finds everything one request caused:
    a payment's `causation_id` and `correlation_id` lead back to its invoice and request.
    With `format=csv` (or `Accept: text/csv`) every match is streamed as CSV, unpaged."""
    where = _filter(staff, account_id, subject, type, correlation_id, start, end)
    access.read("audit_log", account_id or staff.clinic_id)
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        return StreamingResponse(
            _csv(audit.stream_events(db, where)),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
        )
    if starting_after is not None and not await db.fetchval(
        "SELECT true FROM ledger.audit_log WHERE event_id = $1 AND clinic_id = $2",
        starting_after,
        staff.clinic_id,
    ):
        raise HTTPException(404, "starting_after names no event of this clinic")
    page, more = await audit.events_page(db, where, limit, starting_after)
    return {"object": "list", "data": [_json(e) for e in page], "has_more": more}


def _json(event: dict) -> dict:
    return {k: (str(v) if isinstance(v, UUID) else v) for k, v in event.items()}


CSV_COLUMNS = (
    "event_id", "event_type", "occurred_at", "recorded_at", "account_id", "subject",
    "correlation_id", "causation_id", "chain", "seq", "topic", "partition", "offset", "hash",
    "data",
)  # fmt: skip


async def _csv(rows: AsyncIterator[dict]) -> AsyncIterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    async for event in rows:
        event = {**event, "data": json.dumps(event["envelope"].get("data"), sort_keys=True)}
        writer.writerow(["" if event[c] is None else event[c] for c in CSV_COLUMNS])
        if out.tell() > 64 * 1024:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
