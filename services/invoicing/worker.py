"""`clinicpay invoicing worker`: learns payments from Kafka and keeps the invoice list current.

Both run side by side in one process. The payments consumer scales with the partitions
(consumer group); the list projector runs in one replica at a time (an advisory lock), is
woken by PostgreSQL's NOTIFY on recorded events and polls once a second regardless.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from eventsourcing.persistence import IntegrityError

from eventbus import kafka
from eventbus.relay import Leadership
from eventbus.topics import ensure_topics
from invoicing.application import Invoicing
from invoicing.invoice_list import InvoiceListProjector, view_for
from invoicing.payments_consumer import PaymentsConsumer
from invoicing.settings import InvoicingSettings

log = structlog.get_logger("invoicing.worker")
EVENTS_CHANNEL = "invoicing_events"  # eventsourcing NOTIFYs on the events table's name
# Between batches when woken: a busy store then costs a batch per interval, not per commit.
# Lists do not wait for it (a list request catches the projection up itself).
BATCH_INTERVAL = 0.2


async def run_worker(settings: InvoicingSettings, app: Invoicing, stop: asyncio.Event) -> None:
    tasks = [
        asyncio.create_task(consume_payments(settings, app, stop), name="payments"),
        asyncio.create_task(project_invoice_list(settings, app, stop), name="invoice-list"),
    ]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    stop.set()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for task in done:
        task.result()  # re-raises what stopped it


async def consume_payments(settings: InvoicingSettings, app: Invoicing, stop: asyncio.Event):
    await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    consumer = kafka.consumer(settings.kafka_bootstrap_servers, settings.invoicing_consumer_group)
    dlq = kafka.producer(settings.kafka_bootstrap_servers)
    await consumer.start()
    await dlq.start()
    try:
        await PaymentsConsumer(app=app, consumer=consumer, dlq_producer=dlq).run(stop)
    finally:
        await consumer.stop()
        await dlq.stop()


async def project_invoice_list(settings: InvoicingSettings, app: Invoicing, stop: asyncio.Event):
    projector = InvoiceListProjector(app, view_for(app))
    dsn = settings.database.asyncpg_dsn()
    leadership = Leadership(dsn, "invoice-list")
    woken = asyncio.Event()
    listener = await asyncpg.connect(dsn)
    await listener.add_listener(EVENTS_CHANNEL, lambda *_: woken.set())
    try:
        while not stop.is_set():
            if not await leadership.hold():
                await _wait(stop, 1.0)
                continue
            woken.clear()
            try:
                passed = await asyncio.to_thread(projector.project_next_batch)
            except IntegrityError:  # an API replica projected this batch first
                passed = 1
            if passed == 0:
                await _wait_any(stop, woken, 1.0)
                await _wait(stop, BATCH_INTERVAL)
    finally:
        await listener.close()
        await leadership.release()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_any(stop: asyncio.Event, woken: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(woken.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
