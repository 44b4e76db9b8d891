"""Pages of the invoice list, read after everything recorded so far is projected into it.

A list is asked for after a write more often than not (draft, issue, then look at the list),
so before it reads, the reader compares the list's position with the end of the event log
and, if the list is behind, projects the rest itself (the worker does the same in the
background). When it cannot catch up in time it says so rather than answer with a list that
silently lacks the latest invoices.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg
from eventsourcing.persistence import IntegrityError
from starlette.concurrency import run_in_threadpool

from invoicing.errors import InvoiceListBehind, UnknownCursor
from invoicing.invoice_list import COLUMNS, TRACKING_TABLE, InvoiceListProjector


@dataclass(frozen=True)
class ListFilters:
    account_id: UUID | None = None
    patient_id: UUID | None = None
    status: str | None = None


@dataclass(frozen=True)
class Page:
    rows: list[asyncpg.Record]
    has_more: bool


class InvoiceListReader:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        projector: InvoiceListProjector,
        catch_up_seconds: float = 5.0,
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.projector = projector
        self.catch_up_seconds = catch_up_seconds

    async def page(
        self, clinic_id: UUID, filters: ListFilters, limit: int, starting_after: UUID | None
    ) -> Page:
        await self.catch_up()
        conditions = ["clinic_id = $1"]
        arguments: list[object] = [clinic_id]
        for column in ("account_id", "patient_id", "status"):
            value = getattr(filters, column)
            if value is not None:
                arguments.append(value)
                conditions.append(f"{column} = ${len(arguments)}")
        if starting_after is not None:
            arguments.append(await self._cursor_position(clinic_id, starting_after))
            conditions.append(f"created_seq < ${len(arguments)}")
        arguments.append(limit + 1)
        rows = await self.pool.fetch(
            f"""SELECT {COLUMNS} FROM {self.schema}.invoice_list
                WHERE {" AND ".join(conditions)}
                ORDER BY created_seq DESC LIMIT ${len(arguments)}""",
            *arguments,
        )
        return Page(rows=list(rows[:limit]), has_more=len(rows) > limit)

    async def catch_up(self) -> None:
        target = await self._log_end()
        deadline = asyncio.get_running_loop().time() + self.catch_up_seconds
        while await self._position() < target:
            if asyncio.get_running_loop().time() > deadline:
                raise InvoiceListBehind("the invoice list is still catching up; retry shortly")
            try:
                await run_in_threadpool(self.projector.project_next_batch)
            except IntegrityError:  # another projector recorded this batch first
                await asyncio.sleep(0.01)

    async def _cursor_position(self, clinic_id: UUID, invoice_id: UUID) -> int:
        position = await self.pool.fetchval(
            f"""SELECT created_seq FROM {self.schema}.invoice_list
                WHERE clinic_id = $1 AND invoice_id = $2""",
            clinic_id,
            invoice_id,
        )
        if position is None:
            raise UnknownCursor(f"starting_after names no invoice of this clinic: {invoice_id}")
        return position

    async def _log_end(self) -> int:
        end = await self.pool.fetchval(
            f"SELECT max(notification_id) FROM {self.schema}.invoicing_events"
        )
        return end or 0

    async def _position(self) -> int:
        position = await self.pool.fetchval(
            f"SELECT notification_id FROM {self.schema}.{TRACKING_TABLE} "
            "WHERE application_name = $1",
            self.projector.app.name,
        )
        return position or 0


def is_overdue(row: asyncpg.Record, today: date) -> bool:
    return (
        row["status"] in ("issued", "partially_paid")
        and row["due_date"] is not None
        and today > row["due_date"]
    )
