"""Composition root of the reminders service: the worker (intake, scheduler, delivery), the
outbox relay and the HTTP API, each built from `RemindersSettings`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import structlog

from clinicpay.settings import ServiceSettings
from eventbus import kafka
from eventbus.consumer import OFFSETS_DDL, ProjectionConsumer
from eventbus.topics import EVENT_TOPICS, ensure_topics
from httpapi.access import DDL as ACCESS_LOG_DDL
from reminders.clock import Clock, SystemClock
from reminders.delivery import Delivery
from reminders.directory import InvoicingDirectory
from reminders.intake import Intake
from reminders.notifiers import MailboxNotifier, Notifier
from reminders.relay import run_relay
from reminders.scheduler import tick
from reminders.settings import RemindersSettings
from storage import migration_session

log = structlog.get_logger("reminders.worker")
SCHEMA_SQL = Path(__file__).with_name("schema.sql")


async def migrate(settings: RemindersSettings) -> None:
    """Applies the schema once per version of it. DDL takes table locks even when there is
    nothing to create, and a process starting beside busy replicas (or a `tick`) must not
    deadlock with their transactions, so an applied version is recorded and skipped."""
    statements = [
        SCHEMA_SQL.read_text(),
        OFFSETS_DDL.format(schema="reminders"),
        ACCESS_LOG_DDL.format(schema="reminders"),
    ]
    version = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    async with migration_session(settings.database, "reminders") as connection:
        if await _applied(connection, version):
            return
        async with connection.transaction():
            for statement in statements:
                await connection.execute(statement)
            await connection.execute(
                """CREATE TABLE IF NOT EXISTS reminders.schema_versions (
                       version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            await connection.execute(
                """INSERT INTO reminders.schema_versions (version) VALUES ($1)
                   ON CONFLICT DO NOTHING""",
                version,
            )


async def _applied(connection: asyncpg.Connection, version: str) -> bool:
    if not await connection.fetchval("SELECT to_regclass('reminders.schema_versions') IS NOT NULL"):
        return False
    return bool(
        await connection.fetchval(
            "SELECT true FROM reminders.schema_versions WHERE version = $1", version
        )
    )


async def create_pool(settings: ServiceSettings, max_size: int = 4) -> asyncpg.Pool:
    return await asyncpg.create_pool(settings.database.asyncpg_dsn(), min_size=1, max_size=max_size)


def directory(settings: RemindersSettings) -> InvoicingDirectory:
    return InvoicingDirectory(settings.invoicing_url, settings.service_token)


def notifiers(settings: RemindersSettings, pool: asyncpg.Pool) -> dict[str, Notifier]:
    mailbox = MailboxNotifier(pool)
    chosen: dict[str, Notifier] = {"email": mailbox, "sms": mailbox}
    if settings.email_channel == "smtp":
        from reminders.smtp import SmtpNotifier

        chosen["email"] = SmtpNotifier.from_settings(settings)
    if settings.sms_channel == "http":
        from reminders.sms import HttpSmsNotifier

        chosen["sms"] = HttpSmsNotifier.from_settings(settings)
    return chosen


def delivery(settings: RemindersSettings, pool, contacts: InvoicingDirectory) -> Delivery:
    return Delivery(
        pool=pool,
        directory=contacts,
        notifiers=notifiers(settings, pool),
        links=settings.link_codec(),
        portal_url=settings.portal_url,
        short_link_base=settings.reminders_url,
        digest_key=settings.digest_key(),
        max_attempts=settings.reminders_max_attempts,
        retry_base_seconds=settings.reminders_retry_base_seconds,
    )


async def run_worker(settings: RemindersSettings, stop: asyncio.Event, clock: Clock | None = None):
    clock = clock or SystemClock()
    await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    pool = await create_pool(settings)
    contacts = directory(settings)
    consumer = kafka.consumer(settings.kafka_bootstrap_servers, settings.reminders_consumer_group)
    dlq = kafka.producer(settings.kafka_bootstrap_servers)
    await consumer.start()
    await dlq.start()
    intake = ProjectionConsumer(
        name=settings.reminders_consumer_group,
        topics=EVENT_TOPICS,
        consumer=consumer,
        dlq_producer=dlq,
        pool=pool,
        schema="reminders",
        project=Intake(contacts).project,
        max_records=200,
    )
    sender = delivery(settings, pool, contacts)
    try:
        await asyncio.gather(
            consume(intake, stop),
            every(settings.reminders_tick_seconds, stop, lambda: tick(pool, contacts, clock.now())),
            every(settings.reminders_delivery_interval_seconds, stop, sender.deliver_due),
        )
    finally:
        await consumer.stop()
        await dlq.stop()
        await contacts.close()
        await pool.close()


async def consume(intake: ProjectionConsumer, stop: asyncio.Event) -> None:
    """A batch that fails (invoicing away while a clinic's timezone is first needed) is
    rolled back; the consumer goes back to its stored offsets and tries again."""
    while not stop.is_set():
        try:
            await intake.run(stop)
        except Exception as error:
            log.warning("reminders.intake_failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            await intake.seek_to_stored_offsets(list(intake.consumer.assignment()))


async def every(seconds: float, stop: asyncio.Event, work: Callable[[], Awaitable[int]]) -> None:
    """Run `work` until it finds nothing, then wait `seconds`; a failure is logged, not fatal."""
    while not stop.is_set():
        try:
            done = await work()
        except Exception:
            log.exception("reminders.loop_failed")
            done = 0
        if not done:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_relay_process(settings: RemindersSettings, stop: asyncio.Event) -> None:
    await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    pool = await create_pool(settings, max_size=2)
    producer = kafka.producer(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await run_relay(pool, producer, stop)
    finally:
        await producer.stop()
        await pool.close()


async def tick_once(settings: RemindersSettings, clock: Clock) -> int:
    pool = await create_pool(settings, max_size=2)
    contacts = directory(settings)
    try:
        return await tick(pool, contacts, clock.now())
    finally:
        await contacts.close()
        await pool.close()
