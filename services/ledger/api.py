"""HTTP read models of the ledger. Every query is scoped to the caller's clinic."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from httpapi import Accesses, Staff, require_roles
from httpapi.problems import problem_responses


class BalanceOut(BaseModel):
    account_id: UUID
    currency: str
    balance: int


def pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


Pool = Annotated[asyncpg.Pool, Depends(pool)]
router = APIRouter(prefix="/v1", tags=["balances"])
READERS = require_roles("billing", "finance", "admin", "service")


@router.get(
    "/accounts/{account_id}/balance",
    response_model=BalanceOut,
    dependencies=[READERS],
    responses=problem_responses(401, 403, 404, 422),
)
async def balance(account_id: UUID, staff: Staff, db: Pool, access: Accesses) -> BalanceOut:
    access.read("account_balance", account_id)
    row = await db.fetchrow(
        """SELECT currency, balance FROM ledger.account_balances
           WHERE clinic_id = $1 AND account_id = $2
           ORDER BY updated_at DESC LIMIT 1""",
        staff.clinic_id,
        account_id,
    )
    if row is None:
        raise HTTPException(404, "no ledger entries for this account")
    return BalanceOut(
        account_id=account_id, currency=row["currency"].strip(), balance=row["balance"]
    )
