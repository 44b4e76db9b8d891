"""The HIPAA access log: who read or changed which patient's financial record, when, from
where and why. Routes name what they touch; the middleware writes those entries, with the
outcome, before the response leaves the service.

A route declares its accesses through the `Accesses` dependency:

    def get_invoice(invoice_id: UUID, staff: Staff, access: Accesses) -> InvoiceOut:
        access.read("invoice", invoice_id)
        ...

The entry is written whether the route answers 200, 404 (including another clinic's record)
or 403; `outcome` records which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

import asyncpg
import structlog
from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth import StaffClaims
from telemetry import current_trace

log = structlog.get_logger("access")

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.access_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor          text        NOT NULL,
    actor_roles    text[]      NOT NULL,
    clinic_id      uuid,
    action         text        NOT NULL,
    record_type    text        NOT NULL,
    record_id      text        NOT NULL,
    outcome        text        NOT NULL,
    status         smallint    NOT NULL,
    purpose        text        NOT NULL,
    correlation_id text        NOT NULL,
    client_ip      text,
    method         text        NOT NULL,
    path           text        NOT NULL
);
CREATE INDEX IF NOT EXISTS access_log_by_record ON {schema}.access_log (record_type, record_id);
CREATE INDEX IF NOT EXISTS access_log_by_clinic ON {schema}.access_log (clinic_id, at);
"""


@dataclass
class AccessSet:
    """The records one request touches, filled in by the route."""

    purpose: str = "billing operations"
    entries: list[tuple[str, str, str]] = field(default_factory=list)

    def read(self, record_type: str, record_id: UUID | str) -> None:
        self.entries.append(("read", record_type, str(record_id)))

    def change(self, record_type: str, record_id: UUID | str) -> None:
        self.entries.append(("change", record_type, str(record_id)))


def _accesses(request: Request) -> AccessSet:
    accesses = request.scope.setdefault("state", {}).get("accesses")
    if (
        accesses is None
    ):  # the middleware is not installed: collect anyway, nothing is lost silently
        raise RuntimeError("AccessLogMiddleware is not installed on this app")
    return accesses


Accesses = Annotated[AccessSet, Depends(_accesses)]


def outcome_of(status: int) -> str:
    if status < 400:
        return "allowed"
    return {401: "unauthenticated", 403: "denied", 404: "not_found"}.get(status, "refused")


class AccessLog:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.table = f"{schema}.access_log"

    async def write(self, rows: list[tuple]) -> None:
        await self.pool.executemany(
            f"""INSERT INTO {self.table} (actor, actor_roles, clinic_id, action, record_type,
                    record_id, outcome, status, purpose, correlation_id, client_ip, method, path)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
            rows,
        )


class AccessLogMiddleware:
    """Writes the request's access entries when its response starts (`app.state.access_log`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accesses = AccessSet(purpose=_purpose(scope))
        scope.setdefault("state", {})["accesses"] = accesses

        async def send_after_logging(message: Message) -> None:
            if message["type"] == "http.response.start" and accesses.entries:
                await _write(scope, accesses, message["status"])
            await send(message)

        await self.app(scope, receive, send_after_logging)


async def record_replay(
    scope: Scope, staff: StaffClaims, records: list[list[str]], status: int
) -> None:
    """An idempotent replay answers without running the route; what the stored answer
    discloses is logged as read by the caller who received it."""
    if not records:
        return
    scope.setdefault("state", {})["staff"] = staff
    accesses = AccessSet(
        purpose=_purpose(scope), entries=[("read", kind, id_) for kind, id_ in records]
    )
    await _write(scope, accesses, status)


async def _write(scope: Scope, accesses: AccessSet, status: int) -> None:
    staff = scope["state"].get("staff")
    actor = scope["state"].get("actor") or (staff.subject if staff else "anonymous")
    roles = sorted(staff.roles) if staff else []
    clinic_id = staff.clinic_id if staff else scope["state"].get("clinic_id")
    client = scope.get("client")
    rows = [
        (
            actor,
            roles,
            clinic_id,
            action,
            record_type,
            record_id,
            outcome_of(status),
            status,
            accesses.purpose,
            current_trace().correlation_id,
            client[0] if client else None,
            scope["method"],
            scope["path"],
        )
        for action, record_type, record_id in accesses.entries
    ]
    access_log: AccessLog = scope["app"].state.access_log
    await access_log.write(rows)


def _purpose(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-access-purpose":
            return value.decode("latin-1")[:200]
    return "billing operations"
