"""Composition root of invoicing: builds the application, the HTTP app and the relay."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from eventbus import kafka
from eventbus.relay import POSITION_DDL, Leadership, OutboxRelay, RelayPositions
from eventbus.topics import INVOICING, ensure_topics
from httpapi import AccessLog, ProblemSpec, create_service_app
from httpapi.access import DDL as ACCESS_LOG_DDL
from httpapi.idempotency import DDL as IDEMPOTENCY_DDL
from httpapi.idempotency import IdempotencyStore
from invoicing import api
from invoicing.application import Invoicing
from invoicing.domain import InvalidInvoice, InvoiceNotDraft, InvoiceNotFound
from invoicing.relay import InvoiceContracts
from invoicing.settings import InvoicingSettings
from storage import migration_session

DOMAIN_ERRORS = {
    InvoiceNotFound: ProblemSpec(404, "invoice-not-found", "No such invoice"),
    InvoiceNotDraft: ProblemSpec(409, "invoice-not-draft", "The invoice is no longer a draft"),
    InvalidInvoice: ProblemSpec(422, "invalid-invoice", "The invoice breaks a billing rule"),
}


def build_application(settings: InvoicingSettings) -> Invoicing:
    return Invoicing(env=settings.eventsourcing_env())


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
    env = settings.eventsourcing_env() | {"CREATE_TABLE": "yes"}
    app = Invoicing(env=env)
    app.close()


def create_http_app(settings: InvoicingSettings) -> FastAPI:
    invoicing = build_application(settings)
    dsn = settings.database.asyncpg_dsn()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
        app.state.idempotency_store = IdempotencyStore(app.state.pool, settings.invoicing_db_schema)
        app.state.access_log = AccessLog(app.state.pool, settings.invoicing_db_schema)
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
        domain_errors=DOMAIN_ERRORS,
        lifespan=lifespan,
    )
    app.state.invoicing = invoicing
    app.include_router(api.router)
    return app


async def run_relay(settings: InvoicingSettings, stop: asyncio.Event) -> None:
    invoicing = build_application(settings)
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
