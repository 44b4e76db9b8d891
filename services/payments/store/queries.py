"""What the application reads besides aggregates: open invoices, credit, and the indexes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from payments.domain.allocation import OpenInvoice

_OPEN = """(i.total_amount - i.adjusted_amount - i.written_off_amount - i.allocated)"""


@dataclass(frozen=True)
class AccountState:
    """An account's open invoices in one currency, and how many allocations it has seen."""

    open_invoices: list[OpenInvoice]
    seq: int


@dataclass(frozen=True)
class WorkItem:
    kind: str
    subject: UUID
    detail: str
    tries: int
    payload: dict | None = None


class ReadModel:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.schema = sql.Identifier(schema)

    def _rows(self, statement: str, *params) -> list[dict]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.SQL(statement).format(schema=self.schema), params)
            return cur.fetchall() if cur.description else []

    def account_state(
        self,
        clinic_id: UUID,
        account_id: UUID,
        currency: str,
        within: Collection[UUID] | None = None,
    ) -> AccountState:
        scope = list(within) if within is not None else None
        rows = self._rows(
            f"""WITH state AS (
                    SELECT coalesce(max(seq), 0) AS seq FROM {{schema}}.allocation_entries
                    WHERE clinic_id = %s AND account_id = %s)
                SELECT state.seq, i.invoice_id, i.issued_on, i.due_date, i.issued_at,
                       {_OPEN} AS open_amount
                FROM state LEFT JOIN {{schema}}.invoices i
                  ON i.clinic_id = %s AND i.account_id = %s AND i.currency = %s
                 AND NOT i.voided AND {_OPEN} > 0
                 AND (%s::uuid[] IS NULL OR i.invoice_id = ANY(%s::uuid[]))""",
            clinic_id,
            account_id,
            clinic_id,
            account_id,
            currency,
            scope,
            scope,
        )
        invoices = [
            OpenInvoice(
                invoice_id=r["invoice_id"],
                issued_on=r["issued_on"],
                due_date=r["due_date"],
                open_amount=r["open_amount"],
                issued_at=r["issued_at"],
            )
            for r in rows
            if r["invoice_id"] is not None
        ]
        return AccountState(invoices, rows[0]["seq"])

    def allocation_seq(self, clinic_id: UUID, account_id: UUID) -> int:
        return self._rows(
            """SELECT coalesce(max(seq), 0) AS seq FROM {schema}.allocation_entries
               WHERE clinic_id = %s AND account_id = %s""",
            clinic_id,
            account_id,
        )[0]["seq"]

    def open_invoices(
        self, clinic_id: UUID, account_id: UUID, invoice_ids: Collection[UUID]
    ) -> dict:
        """The named invoices of the account that still owe something: id -> (currency, open)."""
        rows = self._rows(
            f"""SELECT i.invoice_id, i.currency, {_OPEN} AS open_amount FROM {{schema}}.invoices i
                WHERE i.clinic_id = %s AND i.account_id = %s AND i.invoice_id = ANY(%s::uuid[])
                  AND NOT i.voided AND {_OPEN} > 0""",
            clinic_id,
            account_id,
            list(invoice_ids),
        )
        return {r["invoice_id"]: (r["currency"].strip(), r["open_amount"]) for r in rows}

    def outstanding(self, clinic_id: UUID, account_id: UUID) -> dict[str, int]:
        """What the account owes per currency: open invoices less the credit it holds."""
        rows = self._rows(
            f"""SELECT currency, sum(amount)::bigint AS amount FROM (
                    SELECT i.currency, {_OPEN} AS amount FROM {{schema}}.invoices i
                    WHERE i.clinic_id = %s AND i.account_id = %s AND NOT i.voided
                    UNION ALL
                    SELECT e.currency, -e.unallocated FROM {{schema}}.allocation_entries e
                    WHERE e.clinic_id = %s AND e.account_id = %s
                ) owed GROUP BY currency""",
            clinic_id,
            account_id,
            clinic_id,
            account_id,
        )
        return {r["currency"].strip(): r["amount"] for r in rows if r["amount"] > 0}

    def methods_of(self, clinic_id: UUID, account_id: UUID) -> list[dict]:
        return self._rows(
            """SELECT method_id, gateway, gateway_customer_id, brand, last4, exp_month, exp_year,
                      is_default, saved_at
               FROM {schema}.payment_methods
               WHERE clinic_id = %s AND account_id = %s AND NOT removed
               ORDER BY saved_at, method_id""",
            clinic_id,
            account_id,
        )

    def customer_of(self, clinic_id: UUID, account_id: UUID, gateway: str) -> str | None:
        rows = self._rows(
            """SELECT gateway_customer_id FROM {schema}.payment_methods
               WHERE clinic_id = %s AND account_id = %s AND gateway = %s
               ORDER BY saved_at LIMIT 1""",
            clinic_id,
            account_id,
            gateway,
        )
        return rows[0]["gateway_customer_id"] if rows else None

    def method_in_use(self, method_id: UUID) -> bool:
        rows = self._rows(
            """SELECT 1 FROM {schema}.plans WHERE method_id = %s AND status = 'active'
               UNION ALL
               SELECT 1 FROM {schema}.mandates WHERE method_id = %s AND enabled""",
            method_id,
            method_id,
        )
        return bool(rows)

    def plan_exists(self, plan_id: UUID) -> bool:
        return bool(self._rows("SELECT 1 FROM {schema}.plans WHERE plan_id = %s", plan_id))

    def enabled_mandate(self, clinic_id: UUID, account_id: UUID) -> UUID | None:
        rows = self._rows(
            """SELECT mandate_id FROM {schema}.mandates
               WHERE clinic_id = %s AND account_id = %s AND enabled""",
            clinic_id,
            account_id,
        )
        return rows[0]["mandate_id"] if rows else None

    def payments_of(self, clinic_id: UUID, account_id: UUID, limit: int) -> list[UUID]:
        rows = self._rows(
            """SELECT payment_id FROM {schema}.payment_records
               WHERE clinic_id = %s AND account_id = %s
               ORDER BY requested_at DESC, payment_id LIMIT %s""",
            clinic_id,
            account_id,
            limit,
        )
        return [r["payment_id"] for r in rows]

    def settled_between(self, start: datetime, end: datetime) -> tuple[list[dict], list[dict]]:
        """Our captured or failed payments and settled refunds in [start, end), for reconciling."""
        payments = self._rows(
            """SELECT payment_id, amount, currency, status, intent_id FROM {schema}.payment_records
               WHERE settled_at >= %s AND settled_at < %s""",
            start,
            end,
        )
        refunds = self._rows(
            """SELECT r.refund_id, r.payment_id, r.amount, r.status, r.gateway_refund_id,
                      p.currency, p.intent_id
               FROM {schema}.refund_records r JOIN {schema}.payment_records p USING (payment_id)
               WHERE r.settled_at >= %s AND r.settled_at < %s""",
            start,
            end,
        )
        return payments, refunds

    def unsettled(self) -> list[dict]:
        return self._rows(
            """SELECT payment_id, amount, currency, status, intent_id FROM {schema}.payment_records
               WHERE status = 'processing'"""
        )

    def claim_due_work(self, limit: int, lease_seconds: float) -> list[WorkItem]:
        """Due work, leased so other workers skip it; an unfinished item comes due again later."""
        rows = self._rows(
            """UPDATE {schema}.work_queue w
               SET due_at = now() + make_interval(secs => %s * least(w.tries + 1, 20)),
                   tries = w.tries + 1
               FROM (SELECT kind, subject, detail FROM {schema}.work_queue
                     WHERE due_at <= now() ORDER BY due_at LIMIT %s
                     FOR UPDATE SKIP LOCKED) due
               WHERE (w.kind, w.subject, w.detail) = (due.kind, due.subject, due.detail)
               RETURNING w.kind, w.subject, w.detail, w.tries, w.payload""",
            lease_seconds,
            limit,
        )
        return [WorkItem(**row) for row in rows]

    def drop_work(self, kind: str, subject: UUID, detail: str) -> None:
        self._rows(
            "DELETE FROM {schema}.work_queue WHERE kind = %s AND subject = %s AND detail = %s",
            kind,
            subject,
            detail,
        )

    def seen_webhook(self, event_id: str) -> bool:
        return bool(
            self._rows("SELECT 1 FROM {schema}.webhook_events WHERE event_id = %s", event_id)
        )

    def mark_webhook(self, event_id: str, event_type: str) -> None:
        self._rows(
            """INSERT INTO {schema}.webhook_events (event_id, event_type) VALUES (%s, %s)
               ON CONFLICT (event_id) DO NOTHING""",
            event_id,
            event_type,
        )
