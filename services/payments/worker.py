"""The payments worker: follows invoicing's events and the charge reminders, and resolves due
work (unknown outcomes, installment retries) in the background."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import asyncpg
import structlog

from eventbus import kafka
from eventbus.consumer import Delivery, ProjectionConsumer
from eventbus.topics import INVOICING, REMINDERS
from payments.application.reminders import REMINDER_DUE
from payments.application.services import Services
from payments.settings import PaymentsSettings
from payments.store.invoices import PROJECTIONS, first_delivery, project_invoice_event
from telemetry import Trace, bind_trace

log = structlog.get_logger("payments.worker")


def projector(schema: str, services: Services):
    async def project(connection: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            envelope = delivery.envelope
            if envelope.type not in PROJECTIONS and envelope.type != REMINDER_DUE:
                continue
            if not await first_delivery(connection, schema, envelope):
                continue
            if envelope.type in PROJECTIONS:
                await project_invoice_event(connection, schema, envelope)
                continue
            trace = Trace(correlation_id=envelope.correlation_id, causation_id=str(envelope.id))
            with bind_trace(trace):
                await asyncio.to_thread(services.reminders.handle, envelope)

    return project


async def consume(settings: PaymentsSettings, services: Services, stop: asyncio.Event) -> None:
    pool = await asyncpg.create_pool(settings.database.asyncpg_dsn(), min_size=1, max_size=2)
    consumer = kafka.consumer(settings.kafka_bootstrap_servers, settings.payments_consumer_group)
    dlq = kafka.producer(settings.kafka_bootstrap_servers)
    await consumer.start()
    await dlq.start()
    loop = ProjectionConsumer(
        name=settings.payments_consumer_group,
        topics=(INVOICING, REMINDERS),
        consumer=consumer,
        dlq_producer=dlq,
        pool=pool,
        schema=settings.payments_db_schema,
        project=projector(settings.payments_db_schema, services),
        max_records=200,
    )
    try:
        await loop.run(stop)
    finally:
        await consumer.stop()
        await dlq.stop()
        await pool.close()


async def resolve_due_work(services: Services, stop: asyncio.Event, interval: float) -> None:
    while not stop.is_set():
        try:
            done = await asyncio.to_thread(services.resolver.run_due)
        except Exception:  # the database may be briefly away; the work stays queued
            log.exception("work.loop_failed")
            done = 0
        if done == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
