"""A consumer whose effects and position commit in one PostgreSQL transaction.

Each batch of a partition is projected and its next offset stored in the same transaction;
on assignment the consumer seeks to the stored offsets. The stored offset row is locked for
the transaction and records below it are skipped, so a worker that lost the partition in a
rebalance (and still holds an old batch) cannot apply it a second time. The Kafka group
offset is committed after the database commit, for lag monitoring only. A message that
cannot be decoded or validated, or that `prepare` refuses, goes to `<topic>.dlq` with the
reason, and the partition keeps moving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from contracts import Envelope, UnknownEventType, decode_envelope
from eventbus import metrics
from eventbus.topics import dead_letter
from eventbus.tracing import traced_projection

log = structlog.get_logger("consumer")

Project = Callable[[asyncpg.Connection, Sequence["Delivery"]], Awaitable[None]]
Prepare = Callable[[Envelope], Any]
Decode = Callable[[bytes], Envelope]
RETRIED = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)

OFFSETS_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.consumer_offsets (
    consumer    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
)
"""


@dataclass(frozen=True)
class Delivery:
    envelope: Envelope
    topic: str
    partition: int
    offset: int
    raw: bytes
    prepared: Any = None  # what `prepare` made of the envelope before the transaction


class _SeekToStoredOffsets(ConsumerRebalanceListener):
    def __init__(self, loop: ProjectionConsumer) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked) -> None:
        pass

    async def on_partitions_assigned(self, assigned) -> None:
        await self.loop.seek_to_stored_offsets(list(assigned))


class ProjectionConsumer:
    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        consumer: AIOKafkaConsumer,
        dlq_producer: AIOKafkaProducer,
        pool: asyncpg.Pool,
        schema: str,
        project: Project,
        max_records: int = 2000,
        prepare: Prepare | None = None,
        decode: Decode = decode_envelope,
        concurrency: int = 1,
    ) -> None:
        self.name = name
        self.topics = tuple(topics)
        self.consumer = consumer
        self.dlq_producer = dlq_producer
        self.pool = pool
        self.schema = schema
        self.project = traced_projection(name, project)
        self.max_records = max_records
        self.prepare = prepare
        self.decode = decode
        self.concurrency = concurrency

    async def seek_to_stored_offsets(self, partitions: list[TopicPartition]) -> None:
        rows = await self.pool.fetch(
            f"""SELECT topic, partition, next_offset FROM {self.schema}.consumer_offsets
                WHERE consumer = $1""",
            self.name,
        )
        stored = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        for tp in partitions:
            if tp in stored:
                self.consumer.seek(tp, stored[tp])
            else:
                await self.consumer.seek_to_beginning(tp)
        log.info("consumer.assigned", consumer=self.name, partitions=len(partitions))

    async def run(self, stop: asyncio.Event) -> None:
        self.consumer.subscribe(self.topics, listener=_SeekToStoredOffsets(self))
        while not stop.is_set():
            batches = await self.consumer.getmany(timeout_ms=200, max_records=self.max_records)
            await self._handle_batches(batches)

    async def _handle_batches(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Partitions are independent (own offsets row, own chain of effects): up to
        `concurrency` of them are projected at once, each in its own transaction."""
        if self.concurrency == 1:
            for tp, records in batches.items():
                await self.handle_batch(tp, records)
            return
        slots = asyncio.Semaphore(self.concurrency)

        async def handle(tp: TopicPartition, records: list[ConsumerRecord]) -> None:
            async with slots:
                await self.handle_batch(tp, records)

        async with asyncio.TaskGroup() as group:
            for tp, records in batches.items():
                group.create_task(handle(tp, records))

    async def handle_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        next_offset = records[-1].offset + 1
        for attempt in range(5):
            try:
                deliveries = await self._project_and_store(tp, records, next_offset)
                break
            except RETRIED:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        try:
            await self.consumer.commit({tp: next_offset})
        except Exception as error:  # the database holds the position; this is for lag only
            log.warning(
                "consumer.kafka_commit_failed", consumer=self.name, error=type(error).__name__
            )
        metrics.batch_committed(self.name, self.consumer, tp, deliveries, next_offset)

    async def _project_and_store(
        self, tp: TopicPartition, records: list[ConsumerRecord], next_offset: int
    ) -> list[Delivery]:
        async with self.pool.acquire() as connection, connection.transaction():
            stored = await self._lock_stored_offset(connection, tp)
            if next_offset <= stored:
                return []  # another worker, or this one before a rebalance, projected these
            deliveries = await self._decode([r for r in records if r.offset >= stored])
            await self.project(connection, deliveries)
            await connection.execute(
                f"""UPDATE {self.schema}.consumer_offsets
                    SET next_offset = $4, updated_at = now()
                    WHERE consumer = $1 AND topic = $2 AND partition = $3""",
                self.name,
                tp.topic,
                tp.partition,
                next_offset,
            )
        return deliveries

    async def _decode(self, records: list[ConsumerRecord]) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for record in records:
            try:
                envelope = self.decode(record.value)
                prepared = self.prepare(envelope) if self.prepare is not None else None
            except (ValueError, UnknownEventType) as error:  # InvalidEvent is a ValueError
                await self.dead_letter(record, f"{type(error).__name__}: {error}")
                continue
            deliveries.append(
                Delivery(
                    envelope, record.topic, record.partition, record.offset, record.value, prepared
                )
            )
        return deliveries

    async def _lock_stored_offset(self, connection: asyncpg.Connection, tp: TopicPartition) -> int:
        await connection.execute(
            f"""INSERT INTO {self.schema}.consumer_offsets (consumer, topic, partition, next_offset)
                VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING""",
            self.name,
            tp.topic,
            tp.partition,
        )
        return await connection.fetchval(
            f"""SELECT next_offset FROM {self.schema}.consumer_offsets
                WHERE consumer = $1 AND topic = $2 AND partition = $3 FOR UPDATE""",
            self.name,
            tp.topic,
            tp.partition,
        )

    async def dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        metrics.dead_lettered(self.name, record.topic, reason)
        log.warning(
            "consumer.dead_lettered",
            consumer=self.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason.split(":", 1)[0],  # the error class; the message may quote the payload
        )
        await self.dlq_producer.send_and_wait(
            dead_letter(record.topic),
            key=record.key,
            value=record.value,
            headers=[
                ("dlq_reason", reason[:1000].encode()),
                ("dlq_consumer", self.name.encode()),
                ("dlq_source", f"{record.topic}:{record.partition}:{record.offset}".encode()),
            ],
        )
