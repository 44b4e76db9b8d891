"""Queries behind the ledger's read models: balances, statements, the trial balance, aging.

Every query takes the clinic id first; nothing here crosses clinics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

import asyncpg

from ledger.postings import LedgerAccount

RECEIVABLE = LedgerAccount.RECEIVABLE.value


@dataclass
class InvoiceBalance:
    invoice_id: UUID
    balance: int
    due_date: date | None


@dataclass
class AccountBalance:
    account_id: UUID
    currency: str
    balance: int
    invoices: list[InvoiceBalance]

    @property
    def credit(self) -> int:
        return max(0, -self.balance)


async def account_balance(
    db: asyncpg.Pool | asyncpg.Connection, clinic_id: UUID, account_id: UUID
) -> AccountBalance | None:
    row = await db.fetchrow(
        """SELECT currency, balance FROM ledger.account_balances
           WHERE clinic_id = $1 AND account_id = $2
           ORDER BY updated_at DESC LIMIT 1""",
        clinic_id,
        account_id,
    )
    if row is None:
        return None
    invoices = await db.fetch(
        """SELECT invoice_id, balance, due_date FROM ledger.invoice_balances
           WHERE clinic_id = $1 AND account_id = $2 AND currency = $3
           ORDER BY due_date NULLS LAST, invoice_id""",
        clinic_id,
        account_id,
        row["currency"],
    )
    return AccountBalance(
        account_id,
        row["currency"].strip(),
        row["balance"],
        [InvoiceBalance(i["invoice_id"], i["balance"], i["due_date"]) for i in invoices],
    )


@dataclass
class StatementEntry:
    entry_id: int
    event_id: UUID
    event_type: str
    posted_on: date
    posted_at: object
    invoice_id: UUID | None
    payment_id: UUID | None
    description: str
    amount: int
    balance_after: int


@dataclass
class Statement:
    account_id: UUID
    currency: str
    start: date
    end: date
    opening_balance: int
    entries: list[StatementEntry] = field(default_factory=list)

    @property
    def closing_balance(self) -> int:
        return self.entries[-1].balance_after if self.entries else self.opening_balance


async def statement(
    db: asyncpg.Pool, clinic_id: UUID, account_id: UUID, currency: str, start: date, end: date
) -> Statement:
    """Entries posted from `start` to `end` inclusive; amounts are the receivable's change."""
    opening = await db.fetchval(
        """SELECT COALESCE(sum(amount), 0)::bigint FROM ledger.postings
           WHERE clinic_id = $1 AND account_id = $2 AND currency = $3
             AND ledger_account = $4 AND posted_on < $5""",
        clinic_id,
        account_id,
        currency,
        RECEIVABLE,
        start,
    )
    rows = await db.fetch(
        """SELECT j.entry_id, j.event_id, j.event_type, j.posted_on, j.occurred_at,
                  j.invoice_id, j.payment_id, j.description, sum(p.amount)::bigint AS amount
           FROM ledger.journal_entries j
           JOIN ledger.postings p ON p.event_id = j.event_id AND p.ledger_account = $4
                                 AND p.account_id = j.account_id
           WHERE j.clinic_id = $1 AND j.account_id = $2 AND j.currency = $3
             AND j.posted_on BETWEEN $5 AND $6
           GROUP BY j.entry_id
           ORDER BY j.posted_on, j.occurred_at, j.entry_id""",
        clinic_id,
        account_id,
        currency,
        RECEIVABLE,
        start,
        end,
    )
    result = Statement(account_id, currency, start, end, opening)
    running = opening
    for r in rows:
        running += r["amount"]
        result.entries.append(
            StatementEntry(
                r["entry_id"],
                r["event_id"],
                r["event_type"],
                r["posted_on"],
                r["occurred_at"],
                r["invoice_id"],
                r["payment_id"],
                r["description"],
                r["amount"],
                running,
            )
        )
    return result


async def trial_balance(db: asyncpg.Pool, clinic_id: UUID, as_of: date | None) -> list[dict]:
    """Per currency and ledger account, the debits, credits and balance up to `as_of`."""
    rows = await db.fetch(
        """SELECT currency, ledger_account,
                  COALESCE(sum(amount) FILTER (WHERE amount > 0), 0)::bigint AS debits,
                  COALESCE(-sum(amount) FILTER (WHERE amount < 0), 0)::bigint AS credits,
                  sum(amount)::bigint AS balance
           FROM ledger.postings
           WHERE clinic_id = $1 AND ($2::date IS NULL OR posted_on <= $2)
           GROUP BY currency, ledger_account ORDER BY currency, ledger_account""",
        clinic_id,
        as_of,
    )
    by_currency: dict[str, dict] = {}
    for r in rows:
        currency = r["currency"].strip()
        book = by_currency.setdefault(
            currency, {"currency": currency, "accounts": [], "total_debits": 0, "total_credits": 0}
        )
        book["accounts"].append(
            {
                "ledger_account": r["ledger_account"],
                "debits": r["debits"],
                "credits": r["credits"],
                "balance": r["balance"],
            }
        )
        book["total_debits"] += r["debits"]
        book["total_credits"] += r["credits"]
    for book in by_currency.values():
        book["net"] = book["total_debits"] - book["total_credits"]
    return list(by_currency.values())


BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")


def bucket_for(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "days_1_30"
    if days_past_due <= 60:
        return "days_31_60"
    if days_past_due <= 90:
        return "days_61_90"
    return "days_over_90"


async def aging(db: asyncpg.Pool, clinic_id: UUID, as_of: date) -> dict:
    """What is owed on open invoices, by account, in buckets of days past the due date."""
    rows = await db.fetch(
        """SELECT account_id, currency, balance, ($2::date - due_date) AS days_past_due
           FROM ledger.invoice_balances
           WHERE clinic_id = $1 AND balance > 0
           ORDER BY account_id, currency""",
        clinic_id,
        as_of,
    )
    accounts: dict[tuple[UUID, str], dict] = {}
    totals: dict[str, dict] = {}
    for r in rows:
        currency = r["currency"].strip()
        bucket = bucket_for(r["days_past_due"] or 0)
        for row in (
            accounts.setdefault(
                (r["account_id"], currency), _aging_row(currency, account_id=r["account_id"])
            ),
            totals.setdefault(currency, _aging_row(currency)),
        ):
            row[bucket] += r["balance"]
            row["total"] += r["balance"]
    return {"as_of": as_of, "accounts": list(accounts.values()), "totals": list(totals.values())}


def _aging_row(currency: str, **identity) -> dict:
    return {**identity, "currency": currency, **dict.fromkeys(BUCKETS, 0), "total": 0}
