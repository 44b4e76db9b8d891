"""The payments worker: follows invoicing's events into the open-invoice read model, queues the
charges ReminderDue asks for, and works the queue (those charges, unknown outcomes, retries)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence

import asyncpg
import structlog

from contracts import Envelope
from eventbus import kafka
from eventbus.consumer import Delivery, ProjectionConsumer
from eventbus.topics import INVOICING, REMINDERS
from eventbus.tracing import traceparent_of
from payments.application.reminders import ChargeReminders
from payments.application.services import Services
from payments.settings import PaymentsSettings
from payments.store.invoices import PROJECTIONS, first_delivery, project_invoice_event

log = structlog.get_logger("payments.worker")


def projector(schema: str):
    async def project(connection: asyncpg.Connection, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            envelope = delivery.envelope
            if envelope.type not in PROJECTIONS and not ChargeReminders.wanted(envelope):
                continue
            if not await first_delivery(connection, schema, envelope):
                continue
            if envelope.type in PROJECTIONS:
                await project_invoice_event(connection, schema, envelope)
            else:
                await queue_charge(connection, schema, envelope)

    return project


async def queue_charge(connection: asyncpg.Connection, schema: str, envelope: Envelope) -> None:
    """The charge runs from the work queue, never inside this transaction (see reminders.py)."""
    payload = {
        "clinic_id": str(envelope.clinic_id),
        "correlation_id": envelope.correlation_id,
        "traceparent": traceparent_of(envelope),
        "data": envelope.data,
    }
    await connection.execute(
        f"""INSERT INTO {schema}.work_queue (kind, subject, due_at, payload)
            VALUES ('reminder', $1, now(), $2::jsonb) ON CONFLICT DO NOTHING""",
        envelope.id,
        json.dumps(payload),
    )


async def consume(settings: PaymentsSettings, stop: asyncio.Event) -> None:
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
        project=projector(settings.payments_db_schema),
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
