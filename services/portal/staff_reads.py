"""What the staff view shows, read with the signed-in staff member's own token: outstanding
balances, the aging report, recent payments and the reminders sent."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from portal.clients import Backends, Caller
from portal.reads import OPEN_STATUSES

AGING_BUCKETS = ("Not yet due", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")
MAX_INVOICES = 1000


def aging_bucket(due_date: date | None, today: date) -> str:
    late = (today - due_date).days if due_date else 0
    if late <= 0:
        return AGING_BUCKETS[0]
    if late <= 30:
        return AGING_BUCKETS[1]
    if late <= 60:
        return AGING_BUCKETS[2]
    if late <= 90:
        return AGING_BUCKETS[3]
    return AGING_BUCKETS[4]


@dataclass
class Outstanding:
    account_id: str
    amount_due: int = 0
    invoices: int = 0
    oldest_due: date | None = None
    name: str = ""


@dataclass
class Aging:
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGING_BUCKETS, 0))

    @property
    def total(self) -> int:
        return sum(self.buckets.values())


def summarise(invoices: list[dict], today: date) -> tuple[list[Outstanding], Aging]:
    """Open invoices -> each account's outstanding amount (largest first) and the aging."""
    by_account: dict[str, Outstanding] = {}
    aging = Aging()
    for invoice in invoices:
        if invoice["status"] not in OPEN_STATUSES:
            continue
        due = date.fromisoformat(invoice["due_date"]) if invoice.get("due_date") else None
        row = by_account.setdefault(invoice["account_id"], Outstanding(invoice["account_id"]))
        row.amount_due += invoice["amount_due"]
        row.invoices += 1
        if due and (row.oldest_due is None or due < row.oldest_due):
            row.oldest_due = due
        aging.buckets[aging_bucket(due, today)] += invoice["amount_due"]
    ranked = sorted(by_account.values(), key=lambda o: (-o.amount_due, o.account_id))
    return ranked, aging


async def invoice_pages(
    backends: Backends, caller: Caller, limit: int = MAX_INVOICES, **filters
) -> list[dict]:
    found: list[dict] = []
    cursor = None
    while len(found) < limit:
        answer = await backends.get(
            caller, "invoicing", "/v1/invoices", limit=100, starting_after=cursor, **filters
        )
        if not answer.ok:
            break
        found += answer.body["data"]
        if not answer.body["has_more"]:
            break
        cursor = found[-1]["id"]
    return found[:limit]


async def open_invoices(backends: Backends, caller: Caller) -> list[dict]:
    issued, partly = await asyncio.gather(
        invoice_pages(backends, caller, status="issued"),
        invoice_pages(backends, caller, status="partially_paid"),
    )
    return issued + partly


async def account_names(backends: Backends, caller: Caller, account_ids: list[str]) -> dict:
    answers = await asyncio.gather(
        *(backends.get(caller, "invoicing", f"/v1/accounts/{a}") for a in account_ids)
    )
    return {
        a.body["id"]: a.body["guarantor"]["name"] for a in answers if a.ok and "guarantor" in a.body
    }


async def recent_payments(
    backends: Backends, caller: Caller, account_ids: list[str], limit: int = 20
) -> list[dict]:
    """Payments has no clinic-wide list: the recent payments of the accounts given."""
    answers = await asyncio.gather(
        *(
            backends.get(caller, "payments", "/v1/payments", account_id=a, limit=10)
            for a in account_ids
        )
    )
    payments = [p for a in answers if a.ok for p in a.body["items"]]
    return sorted(payments, key=lambda p: p["requested_at"], reverse=True)[:limit]


async def reminders_sent(
    backends: Backends, caller: Caller, account_id: str | None = None, limit: int = 20
) -> list[dict] | None:
    """The notices reminders recorded (None when the reminders service does not answer)."""
    try:
        answer = await backends.get(
            caller, "reminders", "/v1/notifications", account_id=account_id, limit=limit
        )
    except Exception:  # the dashboard still shows everything else
        return None
    return answer.body if answer.ok and isinstance(answer.body, list) else None


def by_status(invoices: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for invoice in invoices:
        counts[invoice["status"]] += 1
    return dict(counts)
