"""Composition root of the ledger: the projection worker and the read-model API."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from eventbus import kafka
from eventbus.consumer import OFFSETS_DDL, ProjectionConsumer
from eventbus.topics import EVENT_TOPICS, ensure_topics
from httpapi import AccessLog, create_service_app
from httpapi.access import DDL as ACCESS_LOG_DDL
from ledger import api, audit, audit_routes
from ledger.audit import Verification
from ledger.decoding import decode
from ledger.postings import postable_entry
from ledger.projection import project
from ledger.rebuild import REBUILD_SCHEMA, RebuildResult, rebuild
from ledger.settings import LedgerSettings
from storage import migration_session

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
JOURNAL_SQL = Path(__file__).with_name("journal.sql")


def journal_ddl(schema: str) -> str:
    return JOURNAL_SQL.read_text().replace("{schema}", schema)


async def migrate(settings: LedgerSettings) -> None:
    async with migration_session(settings.database, "ledger") as connection:
        await connection.execute(SCHEMA_SQL.read_text())
        await connection.execute(journal_ddl("ledger"))
        await connection.execute(OFFSETS_DDL.format(schema="ledger"))
        await connection.execute(ACCESS_LOG_DDL.format(schema="ledger"))


async def run_worker(settings: LedgerSettings, stop: asyncio.Event) -> None:
    await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    pool = await asyncpg.create_pool(settings.database.asyncpg_dsn(), min_size=1, max_size=4)
    consumer = kafka.consumer(settings.kafka_bootstrap_servers, settings.ledger_consumer_group)
    dlq = kafka.producer(settings.kafka_bootstrap_servers)
    await consumer.start()
    await dlq.start()
    worker = ProjectionConsumer(
        name=settings.ledger_consumer_group,
        topics=EVENT_TOPICS,
        consumer=consumer,
        dlq_producer=dlq,
        pool=pool,
        schema="ledger",
        project=project,
        prepare=postable_entry,
        decode=decode,
        max_records=settings.ledger_max_records,
        concurrency=settings.ledger_concurrency,
    )
    try:
        await worker.run(stop)
    finally:
        await consumer.stop()
        await dlq.stop()
        await pool.close()


def create_http_app(settings: LedgerSettings) -> FastAPI:
    dsn = settings.database.asyncpg_dsn()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        app.state.access_log = AccessLog(app.state.pool, "ledger")
        try:
            yield
        finally:
            await app.state.pool.close()

    async def database_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    app = create_service_app(
        title="clinicpay ledger",
        token_codec=settings.token_codec(),
        readiness={"postgres": database_ready},
        domain_errors={},
        lifespan=lifespan,
        idempotency="off",
    )
    app.include_router(api.router)
    app.include_router(audit_routes.router)
    return app


async def verify_audit_log(settings: LedgerSettings) -> Verification:
    connection = await asyncpg.connect(settings.database.asyncpg_dsn())
    try:
        return await audit.verify(connection)
    finally:
        await connection.close()


async def rebuild_from_audit_log(settings: LedgerSettings, keep: bool = False) -> RebuildResult:
    connection = await asyncpg.connect(settings.database.asyncpg_dsn())
    try:
        return await rebuild(connection, journal_ddl(REBUILD_SCHEMA), keep=keep)
    finally:
        await connection.close()
