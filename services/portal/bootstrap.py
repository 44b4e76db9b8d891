"""Composition root of the portal: its tables, its clients of the other services, its pages."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from httpapi import AccessLog, create_service_app
from httpapi.access import DDL as ACCESS_LOG_DDL
from portal import (
    arrangement_routes,
    link_routes,
    patient_routes,
    staff_routes,
    statement_routes,
)
from portal.clients import Backends, ServiceTokens
from portal.settings import PortalSettings
from portal.store import PortalStore
from portal.web import (
    CsrfRejected,
    Portal,
    SecurityHeaders,
    SignInRequired,
    csp,
    page,
    see_other,
)
from storage import migration_session

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
STATIC = Path(__file__).with_name("static")


async def migrate(settings: PortalSettings) -> None:
    async with migration_session(settings.database, "portal") as connection:
        await connection.execute(SCHEMA_SQL.read_text())
        await connection.execute(ACCESS_LOG_DDL.format(schema="portal"))


def create_http_app(settings: PortalSettings) -> FastAPI:
    dsn = settings.database.asyncpg_dsn()
    tokens = ServiceTokens(settings.service_token_codec())
    link_codec = settings.link_codec()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        client = httpx.AsyncClient(timeout=settings.portal_http_timeout_seconds)
        app.state.access_log = AccessLog(pool, "portal")
        app.state.portal = Portal(
            settings=settings,
            store=PortalStore(pool),
            backends=Backends(
                client,
                invoicing=settings.invoicing_url,
                payments=settings.payments_url,
                ledger=settings.ledger_url,
                reminders=settings.reminders_url,
            ),
            service_tokens=tokens,
            link_codec=link_codec,
        )
        try:
            yield
        finally:
            await client.aclose()
            await pool.close()

    async def database_ready() -> None:
        await app.state.portal.store.pool.fetchval("SELECT 1")

    app = create_service_app(
        title="clinicpay portal",
        token_codec=settings.token_codec(),
        readiness={"postgres": database_ready},
        domain_errors={},
        lifespan=lifespan,
        idempotency="off",
    )
    app.add_middleware(SecurityHeaders, content_security_policy=csp(settings))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(link_routes.router)
    app.include_router(patient_routes.router)
    app.include_router(arrangement_routes.router)
    app.include_router(statement_routes.router)
    app.include_router(staff_routes.router)
    app.include_router(staff_routes.api)
    _install_page_errors(app)
    return app


def _install_page_errors(app: FastAPI) -> None:
    from portal.clients import ServiceUnavailable

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, error: SignInRequired):
        staff = "&staff=1" if error.kind == "staff" else ""
        if error.kind == "staff" and error.reason == "signed-out":
            return see_other("/staff/sign-in")
        return see_other(f"/signed-out?reason={error.reason}{staff}")

    @app.exception_handler(CsrfRejected)
    async def csrf(request: Request, error: CsrfRejected):
        message = "This form has expired. Go back, reload the page and try again."
        return page(request, "error.html", status_code=403, message=message)

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, error: ServiceUnavailable):
        message = "Part of the service is not answering right now. Please try again shortly."
        return page(request, "error.html", status_code=503, message=message)
