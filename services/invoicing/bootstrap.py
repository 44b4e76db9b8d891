"""Composition root of invoicing: builds the application, the HTTP app, the relay and the
worker (payments consumer and invoice-list projector)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import asyncpg
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from eventbus import kafka
from eventbus.relay import POSITION_DDL, Leadership, OutboxRelay, RelayPositions
from eventbus.topics import INVOICING, ensure_topics
from httpapi import AccessLog, create_service_app
from httpapi.access import DDL as ACCESS_LOG_DDL
from httpapi.idempotency import DDL as IDEMPOTENCY_DDL
from httpapi.idempotency import IdempotencyStore
from invoicing import account_routes, clinic_routes, fhir_routes, invoice_routes
from invoicing.application import Invoicing
from invoicing.invoice_list import InvoiceListProjector, view_for
from invoicing.invoice_list_reader import InvoiceListReader
from invoicing.problem_types import DOMAIN_PROBLEMS, problem_schema
from invoicing.relay import InvoiceContracts
from invoicing.settings import InvoicingSettings
from invoicing.worker import run_worker as run_invoicing_worker
from storage import migration_session


def build_application(settings: InvoicingSettings, pool_size: int | None = None) -> Invoicing:
    return Invoicing(env=settings.eventsourcing_env(pool_size))


def body_cipher(settings: InvoicingSettings) -> AESCipher:
    """Encrypts stored idempotent responses: an account's response holds PHI."""
    return AESCipher(Environment(env={AESCipher.CIPHER_KEY: settings.cipher_key()}))


async def migrate(settings: InvoicingSettings) -> None:
    """Create the schema and tables; safe to run from every replica at once."""
    schema = settings.invoicing_db_schema
    async with migration_session(settings.database, "invoicing") as connection:
        await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await asyncio.to_thread(_create_event_tables, settings)
        await connection.execute(POSITION_DDL.format(schema=schema))
        await connection.execute(IDEMPOTENCY_DDL.format(schema=schema))
        await connection.execute(ACCESS_LOG_DDL.format(schema=schema))


def _create_event_tables(settings: InvoicingSettings) -> None:
    env = settings.eventsourcing_env(pool_size=1) | {"CREATE_TABLE": "yes"}
    app = Invoicing(env=env)
    try:
        view_for(app, create_table=True)
    finally:
        app.close()


def create_http_app(settings: InvoicingSettings) -> FastAPI:
    invoicing = build_application(settings)
    dsn = settings.database.asyncpg_dsn()
    schema = settings.invoicing_db_schema

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=settings.invoicing_db_pool_size, reset=_keep_session
        )
        app.state.idempotency_store = IdempotencyStore(
            app.state.pool, schema, cipher=body_cipher(settings)
        )
        app.state.access_log = AccessLog(app.state.pool, schema)
        projector = InvoiceListProjector(invoicing, view_for(invoicing))
        app.state.invoice_list = InvoiceListReader(app.state.pool, schema, projector)
        try:
            yield
        finally:
            await app.state.pool.close()
            invoicing.close()

    async def database_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    app = create_service_app(
        title="clinicpay invoicing",
        token_codec=settings.token_codec(),
        readiness={"postgres": database_ready},
        domain_errors=DOMAIN_PROBLEMS,
        lifespan=lifespan,
    )
    app.state.invoicing = invoicing
    for module in (invoice_routes, account_routes, clinic_routes, fhir_routes):
        app.include_router(module.router)
    install_openapi(app)
    return app


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Returns a connection to the pool without asyncpg's reset query (a round trip per
    release): the API's statements leave no session state (no LISTEN, advisory locks, SET,
    cursors or prepared transactions) for a reset to clear."""


def install_openapi(app: FastAPI) -> None:
    """The generated document, plus the schemas that error responses refer to."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description="Invoices, billing accounts and clinic settings; FHIR R4 in and out.",
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = problem_schema()
            schemas.update(fhir_routes.FHIR_SCHEMAS)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi


async def run_relay(settings: InvoicingSettings, stop: asyncio.Event) -> None:
    invoicing = build_application(settings, pool_size=1)
    await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    pool = await asyncpg.create_pool(settings.database.asyncpg_dsn(), min_size=1, max_size=2)
    producer = kafka.producer(settings.kafka_bootstrap_servers)
    await producer.start()
    leadership = Leadership(settings.database.asyncpg_dsn(), "invoicing")
    relay = OutboxRelay(
        name="invoicing",
        recorder=invoicing.recorder,
        mapper=invoicing.mapper,
        to_envelope=InvoiceContracts(invoicing),
        topic=INVOICING,
        producer=producer,
        positions=RelayPositions(pool, settings.invoicing_db_schema),
    )
    try:
        await relay.run(stop, leadership)
    finally:
        await leadership.release()
        await producer.stop()
        await pool.close()
        invoicing.close()


async def run_worker(settings: InvoicingSettings, stop: asyncio.Event) -> None:
    invoicing = build_application(settings, pool_size=2)
    try:
        await run_invoicing_worker(settings, invoicing, stop)
    finally:
        invoicing.close()
