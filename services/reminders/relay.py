"""The outbox relay: publishes `reminders.outbox` rows in order with acks=all, then marks
them published. A crash in between publishes those rows again with the same event ids
(at-least-once; consumers drop repeats by id). Replicas may run: the one holding the
advisory lock publishes, the others wait for it."""

from __future__ import annotations

import asyncio
import contextlib
import json

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from telemetry.metrics import EVENTS_PUBLISHED, RELAY_BACKLOG, RELAY_LEADER

log = structlog.get_logger("reminders.relay")

LOCK = "reminders-outbox-relay"


async def relay_once(pool: asyncpg.Pool, producer: AIOKafkaProducer, batch: int = 500) -> int:
    rows = await pool.fetch(
        """SELECT position, topic, key, value FROM reminders.outbox
           WHERE published_at IS NULL ORDER BY position LIMIT $1""",
        batch,
    )
    if not rows:
        RELAY_BACKLOG.labels(LOCK).set(0)
        return 0
    sent = [await producer.send(r["topic"], key=r["key"], value=r["value"]) for r in rows]
    await asyncio.gather(*sent)
    await pool.execute(
        "UPDATE reminders.outbox SET published_at = now() WHERE position = ANY($1::bigint[])",
        [r["position"] for r in rows],
    )
    for row in rows:
        EVENTS_PUBLISHED.labels(LOCK, row["topic"], json.loads(row["value"])["type"]).inc()
    if len(rows) < batch:  # read to the end of the outbox
        RELAY_BACKLOG.labels(LOCK).set(0)
    return len(rows)


async def run_relay(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, stop: asyncio.Event, interval: float = 0.1
) -> None:
    async with pool.acquire() as leader:
        while not stop.is_set():
            if await leader.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK):
                break
            await _pause(stop, 1.0)
        log.info("relay.leading")
        RELAY_LEADER.labels(LOCK).set(1)
        while not stop.is_set():
            try:
                published = await relay_once(pool, producer)
            except Exception as error:  # broker away: the rows stay unpublished
                log.warning("relay.publish_failed", error=type(error).__name__)
                published = 0
                await _pause(stop, 1.0)
            if not published:
                await _pause(stop, interval)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
