"""HTTP read models of the ledger: balances, statements, the trial balance and aging.
Every query is scoped to the caller's clinic; every read is written to the access log."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from httpapi import Accesses, Staff, require_roles
from httpapi.problems import problem_responses
from ledger import read_models


class InvoiceBalanceOut(BaseModel):
    invoice_id: UUID
    balance: int
    due_date: date | None


class BalanceOut(BaseModel):
    account_id: UUID
    currency: str
    balance: int
    credit: int
    invoices: list[InvoiceBalanceOut]


class StatementEntryOut(BaseModel):
    entry_id: int
    event_id: UUID
    event_type: str
    posted_on: date
    posted_at: datetime
    invoice_id: UUID | None
    payment_id: UUID | None
    description: str
    amount: int
    balance_after: int


class StatementOut(BaseModel):
    account_id: UUID
    currency: str
    from_: date = Field(alias="from")
    to: date
    opening_balance: int
    closing_balance: int
    entries: list[StatementEntryOut]

    model_config = {"populate_by_name": True}


def pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


Pool = Annotated[asyncpg.Pool, Depends(pool)]
router = APIRouter(prefix="/v1", tags=["balances"])
READERS = require_roles("billing", "finance", "admin", "service")
FINANCE = require_roles("finance", "admin")


@router.get(
    "/accounts/{account_id}/balance",
    response_model=BalanceOut,
    dependencies=[READERS],
    responses=problem_responses(401, 403, 404, 422),
)
async def balance(account_id: UUID, staff: Staff, db: Pool, access: Accesses) -> BalanceOut:
    access.read("account_balance", account_id)
    found = await read_models.account_balance(db, staff.clinic_id, account_id)
    if found is None:
        raise HTTPException(404, "no ledger entries for this account")
    return BalanceOut(
        account_id=account_id,
        currency=found.currency,
        balance=found.balance,
        credit=found.credit,
        invoices=[InvoiceBalanceOut(**vars(i)) for i in found.invoices],
    )


STATEMENT_CSV_COLUMNS = (
    "entry_id", "event_id", "event_type", "posted_on", "posted_at", "invoice_id", "payment_id",
    "description", "amount", "balance_after",
)  # fmt: skip


@router.get(
    "/accounts/{account_id}/statement",
    dependencies=[READERS],
    responses={
        200: {
            "content": {
                "application/json": {"schema": StatementOut.model_json_schema(by_alias=True)},
                "text/csv": {},
            }
        },
        **problem_responses(401, 403, 404, 422),
    },
)
async def account_statement(
    account_id: UUID,
    staff: Staff,
    db: Pool,
    access: Accesses,
    request: Request,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    format: Literal["json", "csv"] | None = None,
) -> Response:
    if end < start:
        raise HTTPException(422, "`to` is before `from`")
    access.read("account_statement", account_id)
    found = await read_models.account_balance(db, staff.clinic_id, account_id)
    if found is None:
        raise HTTPException(404, "no ledger entries for this account")
    result = await read_models.statement(
        db, staff.clinic_id, account_id, found.currency, start, end
    )
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        return _statement_csv(result)
    body = {
        "account_id": str(account_id),
        "currency": result.currency,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "opening_balance": result.opening_balance,
        "closing_balance": result.closing_balance,
        "entries": [StatementEntryOut(**vars(e)).model_dump(mode="json") for e in result.entries],
    }
    return JSONResponse(body)


def _statement_csv(result: read_models.Statement) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["account_id", result.account_id, "currency", result.currency])
    writer.writerow(["opening_balance", result.opening_balance, "from", result.start])
    writer.writerow(STATEMENT_CSV_COLUMNS)
    for e in result.entries:
        writer.writerow(
            [
                e.entry_id,
                e.event_id,
                e.event_type,
                e.posted_on,
                e.posted_at.astimezone(UTC).isoformat(),
                e.invoice_id or "",
                e.payment_id or "",
                e.description,
                e.amount,
                e.balance_after,
            ]  # fmt: skip
        )
    writer.writerow(["closing_balance", result.closing_balance, "to", result.end])
    filename = f"statement-{result.account_id}-{result.start}-{result.end}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/trial-balance",
    dependencies=[FINANCE],
    tags=["reports"],
    responses=problem_responses(401, 403, 422),
)
async def trial_balance(
    staff: Staff, db: Pool, access: Accesses, as_of: date | None = None
) -> dict:
    access.read("trial_balance", staff.clinic_id)
    return {
        "clinic_id": str(staff.clinic_id),
        "as_of": as_of.isoformat() if as_of else None,
        "currencies": await read_models.trial_balance(db, staff.clinic_id, as_of),
    }


@router.get(
    "/reports/aging",
    dependencies=[FINANCE],
    tags=["reports"],
    responses=problem_responses(401, 403, 422),
)
async def aging(staff: Staff, db: Pool, access: Accesses, as_of: date | None = None) -> dict:
    access.read("aging_report", staff.clinic_id)
    report = await read_models.aging(db, staff.clinic_id, as_of or datetime.now(UTC).date())
    return {"clinic_id": str(staff.clinic_id), **report}
