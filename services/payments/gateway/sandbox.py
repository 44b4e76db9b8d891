"""The sandbox gateway: Stripe's test mode on our own PostgreSQL, in a schema of its own.

It keeps customers, cards, charges and refunds the way a processor would, honours idempotency
keys (a repeated key returns the first answer, a reused key with other parameters is
refused), never refunds more than was charged, and declines the documented test cards.
It shares no transaction with the payments service: it stands where Stripe would.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from payments.gateway.cards import CARDS, TOKENS
from payments.gateway.port import (
    ChargeOutcome,
    ChargeRequest,
    ChargeStatus,
    Declined,
    GatewayCharge,
    GatewayRefund,
    PaymentGateway,
    RefundOutcome,
    RefundRequest,
    Refused,
    SavedCard,
)

DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.customers (
    id          text PRIMARY KEY,
    reference   text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {schema}.cards (
    id          text PRIMARY KEY,
    customer_id text NOT NULL REFERENCES {schema}.customers (id),
    card_key    text NOT NULL,
    detached    boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS {schema}.charges (
    intent_id       text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    reference       text NOT NULL,
    customer_id     text NOT NULL,
    card_id         text NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL,
    succeeded       boolean NOT NULL,
    decline_code    text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS charges_by_reference ON {schema}.charges (reference);
CREATE INDEX IF NOT EXISTS charges_by_time ON {schema}.charges (created_at);
CREATE TABLE IF NOT EXISTS {schema}.refunds (
    id              text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    reference       text NOT NULL,
    intent_id       text NOT NULL REFERENCES {schema}.charges (intent_id),
    amount          bigint NOT NULL CHECK (amount > 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS refunds_by_intent ON {schema}.refunds (intent_id);
CREATE INDEX IF NOT EXISTS refunds_by_time ON {schema}.refunds (created_at);
"""


def _card_key(card_id: str) -> str:
    """`pm_sbx_<test card>_<random>`: which test card a saved card is."""
    return card_id.removeprefix("pm_sbx_").rpartition("_")[0]


def _new_id(prefix: str) -> str:
    return f"{prefix}_sbx_{uuid.uuid4().hex[:24]}"


class SandboxGateway(PaymentGateway):
    name = "sandbox"

    def __init__(self, pool: ConnectionPool, schema: str = "sandbox_gateway") -> None:
        self.pool = pool
        self.schema = sql.Identifier(schema)

    def _q(self, statement: str) -> sql.Composed:
        return sql.SQL(statement).format(s=self.schema)

    def _one(self, statement: str, *params) -> dict | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(self._q(statement), params)
            return cur.fetchone()

    def _all(self, statement: str, *params) -> list[dict]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(self._q(statement), params)
            return cur.fetchall()

    def create_customer(self, reference: str) -> str:
        row = self._one(
            """INSERT INTO {s}.customers (id, reference) VALUES (%s, %s)
               ON CONFLICT (reference) DO UPDATE SET reference = EXCLUDED.reference
               RETURNING id""",
            _new_id("cus"),
            reference,
        )
        assert row is not None
        return row["id"]

    def save_card(self, customer_id: str, token: str) -> SavedCard:
        card = TOKENS.get(token)
        if card is None:
            raise Refused("no such test card token")
        if card.declined_on_save:
            raise Declined(card.declined_on_save)
        card_id = f"pm_sbx_{card.key}_{uuid.uuid4().hex[:16]}"
        if self._one("SELECT 1 AS found FROM {s}.customers WHERE id = %s", customer_id) is None:
            raise Refused("no such customer")
        self._one(
            "INSERT INTO {s}.cards (id, customer_id, card_key) VALUES (%s, %s, %s) RETURNING id",
            card_id,
            customer_id,
            card.key,
        )
        return SavedCard(card_id, card.brand, card.last4, card.exp_month, card.exp_year)

    def remove_card(self, gateway_method_id: str) -> None:
        self._one(
            "UPDATE {s}.cards SET detached = true WHERE id = %s RETURNING id", gateway_method_id
        )

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        card = CARDS.get(_card_key(request.method_id))
        if card is None:
            raise Refused("no such payment method")
        decline = card.declined_on_charge
        row = self._one(
            """INSERT INTO {s}.charges (intent_id, idempotency_key, reference, customer_id,
                   card_id, amount, currency, succeeded, decline_code)
               SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s
               WHERE EXISTS (SELECT 1 FROM {s}.cards
                             WHERE id = %s AND customer_id = %s AND NOT detached)
               ON CONFLICT (idempotency_key) DO NOTHING
               RETURNING intent_id, succeeded, decline_code""",
            _new_id("pi"),
            request.idempotency_key,
            request.reference,
            request.customer_id,
            request.method_id,
            request.amount,
            request.currency,
            decline is None,
            decline,
            request.method_id,
            request.customer_id,
        )
        return _charge_outcome(row or self._replayed(request))

    def _replayed(self, request: ChargeRequest) -> dict:
        row = self._one(
            """SELECT intent_id, succeeded, decline_code, reference, amount, currency
               FROM {s}.charges WHERE idempotency_key = %s""",
            request.idempotency_key,
        )
        if row is None:
            raise Refused("no such payment method on this customer")
        if (row["reference"], row["amount"], row["currency"]) != (
            request.reference,
            request.amount,
            request.currency,
        ):
            raise Refused("idempotency key reused with different parameters")
        return row

    def find_charge(
        self, reference: str, customer_id: str, since: datetime
    ) -> ChargeOutcome | None:
        row = self._one(
            """SELECT intent_id, succeeded, decline_code FROM {s}.charges
               WHERE reference = %s ORDER BY succeeded DESC, created_at DESC LIMIT 1""",
            reference,
        )
        return _charge_outcome(row) if row else None

    def charge_status(self, intent_id: str) -> tuple[str | None, ChargeOutcome]:
        row = self._one(
            """SELECT intent_id, succeeded, decline_code, reference FROM {s}.charges
               WHERE intent_id = %s""",
            intent_id,
        )
        if row is None:
            raise Refused("no such charge")
        return row["reference"], _charge_outcome(row)

    def refund(self, request: RefundRequest) -> RefundOutcome:
        with (
            self.pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=dict_row) as cur,
        ):
            cur.execute(
                self._q(
                    "SELECT amount, succeeded FROM {s}.charges WHERE intent_id = %s FOR UPDATE"
                ),
                (request.intent_id,),
            )
            charge = cur.fetchone()
            if charge is None or not charge["succeeded"]:
                raise Refused("no such captured charge")
            cur.execute(
                self._q("SELECT id, reference, amount FROM {s}.refunds WHERE idempotency_key = %s"),
                (request.idempotency_key,),
            )
            earlier = cur.fetchone()
            if earlier is not None:
                if (earlier["reference"], earlier["amount"]) != (request.reference, request.amount):
                    raise Refused("idempotency key reused with different parameters")
                return RefundOutcome(True, earlier["id"])
            cur.execute(
                self._q(
                    """SELECT coalesce(sum(amount), 0) AS refunded FROM {s}.refunds
                       WHERE intent_id = %s"""
                ),
                (request.intent_id,),
            )
            refunded = cur.fetchone()["refunded"]
            if refunded + request.amount > charge["amount"]:
                raise Refused("the refund exceeds what is left of the charge")
            refund_id = _new_id("re")
            cur.execute(
                self._q(
                    """INSERT INTO {s}.refunds (id, idempotency_key, reference, intent_id, amount)
                       VALUES (%s, %s, %s, %s, %s)"""
                ),
                (
                    refund_id,
                    request.idempotency_key,
                    request.reference,
                    request.intent_id,
                    request.amount,
                ),
            )
        return RefundOutcome(True, refund_id)

    def find_refund(self, reference: str, intent_id: str) -> RefundOutcome | None:
        row = self._one(
            "SELECT id FROM {s}.refunds WHERE reference = %s AND intent_id = %s",
            reference,
            intent_id,
        )
        return RefundOutcome(True, row["id"]) if row else None

    def refunds_of(self, intent_id: str) -> list[GatewayRefund]:
        rows = self._all(_REFUNDS + " WHERE r.intent_id = %s", intent_id)
        return [_gateway_refund(row) for row in rows]

    def charges_between(self, start: datetime, end: datetime) -> list[GatewayCharge]:
        rows = self._all(
            """SELECT intent_id, reference, amount, currency, succeeded, created_at
               FROM {s}.charges WHERE created_at >= %s AND created_at < %s""",
            start,
            end,
        )
        return [
            GatewayCharge(
                intent_id=r["intent_id"],
                reference=r["reference"],
                amount=r["amount"],
                currency=r["currency"],
                succeeded=r["succeeded"],
                created_at=r["created_at"].astimezone(UTC),
            )
            for r in rows
        ]

    def refunds_between(self, start: datetime, end: datetime) -> list[GatewayRefund]:
        rows = self._all(_REFUNDS + " WHERE r.created_at >= %s AND r.created_at < %s", start, end)
        return [_gateway_refund(row) for row in rows]


_REFUNDS = """SELECT r.id, r.intent_id, r.reference, r.amount, c.currency, r.created_at
              FROM {s}.refunds r JOIN {s}.charges c USING (intent_id)"""


def _charge_outcome(row: dict) -> ChargeOutcome:
    if row["succeeded"]:
        return ChargeOutcome(ChargeStatus.SUCCEEDED, row["intent_id"])
    return ChargeOutcome(ChargeStatus.DECLINED, row["intent_id"], row["decline_code"])


def _gateway_refund(row: dict) -> GatewayRefund:
    return GatewayRefund(
        gateway_refund_id=row["id"],
        intent_id=row["intent_id"],
        reference=row["reference"],
        amount=row["amount"],
        currency=row["currency"],
        created_at=row["created_at"].astimezone(UTC),
    )
