"""The outbox relay: follows an eventsourcing application's notification log and publishes
the contract events it maps to, recording how far it got in the same database.

Publish a batch with acks=all, wait for every acknowledgement, then record the last
notification id. A crash between the two republishes that batch on restart (at-least-once;
event ids are deterministic, so consumers drop the repeats); nothing recorded is published
twice and nothing is skipped, because notification ids are committed in order.
Several replicas may run: the one holding a PostgreSQL advisory lock publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from eventsourcing.persistence import ApplicationRecorder

from contracts import Envelope
from eventbus.tracing_mapper import TracingMapper
from telemetry import Trace
from telemetry.metrics import EVENTS_PUBLISHED, RELAY_BACKLOG, RELAY_LEADER

log = structlog.get_logger("relay")

ToEnvelope = Callable[[Any, Trace | None], Envelope | None]

POSITION_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.relay_position (
    relay      text PRIMARY KEY,
    position   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class RelayPositions:
    """Where each relay has got to in its notification log, in the service's own schema."""

    pool: asyncpg.Pool
    schema: str

    async def get(self, relay: str) -> int:
        position = await self.pool.fetchval(
            f"SELECT position FROM {self.schema}.relay_position WHERE relay = $1", relay
        )
        return position or 0

    async def advance(self, relay: str, read_from: int, position: int) -> bool:
        """Record `position` unless the relay was rewound since it read from `read_from`
        (`clinicpay relay republish`): then the rewind stands and the next batch starts there."""
        status = await self.pool.execute(
            f"""INSERT INTO {self.schema}.relay_position (relay, position) VALUES ($1, $3)
                ON CONFLICT (relay) DO UPDATE SET position = $3, updated_at = now()
                WHERE relay_position.position = $2""",
            relay,
            read_from,
            position,
        )
        return status != "INSERT 0 0"

    async def rewind(self, to: int) -> int:
        """Every relay of the schema publishes again what follows `to` (never skips ahead)."""
        status = await self.pool.execute(
            f"""UPDATE {self.schema}.relay_position
                SET position = LEAST(position, $1), updated_at = now()""",
            to,
        )
        return int(status.split()[-1])


class OutboxRelay:
    def __init__(
        self,
        *,
        name: str,
        recorder: ApplicationRecorder,
        mapper: TracingMapper,
        to_envelope: ToEnvelope,
        topic: str,
        producer: AIOKafkaProducer,
        positions: RelayPositions,
        batch_size: int = 500,
        poll_interval: float = 0.05,
    ) -> None:
        self.name = name
        self.recorder = recorder
        self.mapper = mapper
        self.to_envelope = to_envelope
        self.topic = topic
        self.producer = producer
        self.positions = positions
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._backlog_measured_at = 0.0

    async def publish_next_batch(self) -> int:
        """Publish what follows the recorded position; returns how many notifications it passed."""
        position = await self.positions.get(self.name)
        envelopes, last_id = await asyncio.to_thread(self._read_batch, position)
        if last_id is None:
            RELAY_BACKLOG.labels(self.name).set(0)
            return 0
        await self._publish(envelopes)
        if not await self.positions.advance(self.name, position, last_id):
            log.warning("relay.rewound", relay=self.name, published=len(envelopes))
            return 0
        log.info("relay.published", relay=self.name, published=len(envelopes), position=last_id)
        await self._measure_backlog(last_id, full_batch=last_id - position >= self.batch_size)
        return last_id - position

    async def _measure_backlog(self, position: int, *, full_batch: bool) -> None:
        """A short batch means the log was read to its end; a full one asks how far that is,
        at most once a second."""
        if not full_batch:
            RELAY_BACKLOG.labels(self.name).set(0)
            return
        if time.monotonic() - self._backlog_measured_at < 1.0:
            return
        self._backlog_measured_at = time.monotonic()
        last = await asyncio.to_thread(self.recorder.max_notification_id)
        RELAY_BACKLOG.labels(self.name).set(max(0, (last or 0) - position))

    def _read_batch(self, position: int) -> tuple[list[Envelope], int | None]:
        notifications = self.recorder.select_notifications(position + 1, self.batch_size)
        envelopes = []
        for notification in notifications:
            event, trace = self.mapper.to_traced_event(notification)
            envelope = self.to_envelope(event, trace)
            if envelope is not None:
                envelopes.append(_with_trace_context(envelope, trace))
        return envelopes, (notifications[-1].id if notifications else None)

    async def _publish(self, envelopes: Sequence[Envelope]) -> None:
        pending = [
            await self.producer.send(
                self.topic,
                key=envelope.key,
                value=envelope.encode(),
                headers=_headers(envelope),
            )
            for envelope in envelopes
        ]
        await asyncio.gather(*pending)
        for envelope in envelopes:
            EVENTS_PUBLISHED.labels(self.name, self.topic, envelope.type).inc()

    async def run(self, stop: asyncio.Event, leadership: Leadership) -> None:
        backoff = self.poll_interval
        while not stop.is_set():
            leading = await leadership.hold()
            RELAY_LEADER.labels(self.name).set(1 if leading else 0)
            if not leading:
                await _wait(stop, 1.0)
                continue
            try:
                passed = await self.publish_next_batch()
                backoff = self.poll_interval
                if passed == 0:
                    await _wait(stop, self.poll_interval)
            except Exception:
                log.exception("relay.publish_failed", relay=self.name, retry_in_s=backoff)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, 5.0)


def _with_trace_context(envelope: Envelope, trace: Trace | None) -> Envelope:
    """The request's W3C trace context as CloudEvents' distributed-tracing extension."""
    if trace is None or not trace.traceparent:
        return envelope
    extensions = {**(envelope.extensions or {}), "traceparent": trace.traceparent}
    return dataclasses.replace(envelope, extensions=extensions)


def _headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    headers = [("ce_type", envelope.type.encode()), ("ce_id", str(envelope.id).encode())]
    traceparent = (envelope.extensions or {}).get("traceparent")
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return headers


class Leadership:
    """One relay replica leads, by holding a session-level PostgreSQL advisory lock."""

    def __init__(self, dsn: str, name: str) -> None:
        self.dsn = dsn
        self.name = name
        self._connection: asyncpg.Connection | None = None

    async def hold(self) -> bool:
        if self._connection is not None and not self._connection.is_closed():
            return True
        try:
            connection = await asyncpg.connect(self.dsn)
        except (OSError, asyncpg.PostgresError):
            return False
        acquired = await connection.fetchval(
            "SELECT pg_try_advisory_lock(hashtext($1))", f"relay:{self.name}"
        )
        if not acquired:
            await connection.close()
            return False
        log.info("relay.leading", relay=self.name)
        self._connection = connection
        return True

    async def release(self) -> None:
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()
        self._connection = None


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
