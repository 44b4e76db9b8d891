"""A consumer whose effects and position commit in one PostgreSQL transaction.

Each batch of a partition is projected and its next offset stored in the same transaction;
on assignment the consumer seeks to the stored offsets. The Kafka group offset is committed
after the database commit, for lag monitoring only. A message that cannot be decoded or
validated goes to `<topic>.dlq` with the reason, and the partition keeps moving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from contracts import Envelope, InvalidEvent, UnknownEventType, decode_envelope
from eventbus import metrics
from eventbus.topics import dead_letter
from eventbus.tracing import traced_projection

log = structlog.get_logger("consumer")

Project = Callable[[asyncpg.Connection, Sequence["Delivery"]], Awaitable[None]]

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
    ) -> None:
        self.name = name
        self.topics = tuple(topics)
        self.consumer = consumer
        self.dlq_producer = dlq_producer
        self.pool = pool
        self.schema = schema
        self.project = traced_projection(name, project)
        self.max_records = max_records

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
            for tp, records in batches.items():
                await self.handle_batch(tp, records)

    async def handle_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        deliveries: list[Delivery] = []
        for record in records:
            try:
                envelope = decode_envelope(record.value)
            except (InvalidEvent, UnknownEventType) as error:
                await self.dead_letter(record, f"{type(error).__name__}: {error}")
                continue
            deliveries.append(
                Delivery(envelope, record.topic, record.partition, record.offset, record.value)
            )
        next_offset = records[-1].offset + 1
        async with self.pool.acquire() as connection, connection.transaction():
            await self.project(connection, deliveries)
            await connection.execute(
                f"""INSERT INTO {self.schema}.consumer_offsets
                        (consumer, topic, partition, next_offset)
                    VALUES ($1, $2, $3, $4)
                    ON CONFLICT (consumer, topic, partition) DO UPDATE
                    SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset),
                        updated_at = now()""",
                self.name,
                tp.topic,
                tp.partition,
                next_offset,
            )
        try:
            await self.consumer.commit({tp: next_offset})
        except Exception as error:  # the database holds the position; this is for lag only
            log.warning(
                "consumer.kafka_commit_failed", consumer=self.name, error=type(error).__name__
            )
        metrics.batch_committed(self.name, self.consumer, tp, deliveries, next_offset)

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
