"""`clinicpay ledger dlq list|replay`: the messages the ledger could not project.

A dead letter keeps the original key and value, with headers naming the reason, the
consumer and where it came from (`topic:partition:offset`). Replaying sends the message back
to its topic unchanged (once the cause is fixed, e.g. a newer consumer knows the type); each
dead letter is replayed at most once, which `ledger.dlq_replays` remembers. A replayed
message that is still bad comes back to the dead-letter topic.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from eventbus import kafka
from eventbus.topics import EVENT_TOPICS, dead_letter


@dataclass(frozen=True)
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    source: str
    reason: str
    consumer: str
    event_id: str | None
    event_type: str | None
    replayed: bool = False

    @property
    def source_topic(self) -> str:
        return self.source.rsplit(":", 2)[0]


def _describe(record, replayed: set[tuple[str, int, int]]) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
    event_id = event_type = None
    try:
        document = json.loads(record.value)
        if isinstance(document, dict):
            event_id, event_type = document.get("id"), document.get("type")
    except (TypeError, ValueError):
        pass
    return DeadLetter(
        dlq_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        source=headers.get("dlq_source", f"{record.topic.removesuffix('.dlq')}:?:?"),
        reason=headers.get("dlq_reason", ""),
        consumer=headers.get("dlq_consumer", ""),
        event_id=str(event_id) if event_id else None,
        event_type=str(event_type) if event_type else None,
        replayed=(record.topic, record.partition, record.offset) in replayed,
    )


async def _records(bootstrap_servers: str, topics: list[str]) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata of every topic
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(
                    r for r in batch if r.offset < end[TopicPartition(r.topic, r.partition)]
                )
        return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))
    finally:
        await consumer.stop()


async def _replayed(dsn: str) -> set[tuple[str, int, int]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            'SELECT dlq_topic, "partition", "offset" FROM ledger.dlq_replays'
        )
        return {(r["dlq_topic"], r["partition"], r["offset"]) for r in rows}
    finally:
        await connection.close()


def _dlq_topics(topic: str | None) -> list[str]:
    return [dead_letter(topic)] if topic else [dead_letter(t) for t in EVENT_TOPICS]


async def _letters(
    bootstrap_servers: str, dsn: str, consumer: str, topic: str | None
) -> list[tuple[object, DeadLetter]]:
    """The dead letters `consumer` wrote (other services dead-letter to the same topics)."""
    replayed = await _replayed(dsn)
    records = await _records(bootstrap_servers, _dlq_topics(topic))
    described = [(r, _describe(r, replayed)) for r in records]
    return [(r, letter) for r, letter in described if letter.consumer == consumer]


async def list_dead_letters(
    bootstrap_servers: str, dsn: str, consumer: str, topic: str | None = None
) -> list[DeadLetter]:
    return [letter for _, letter in await _letters(bootstrap_servers, dsn, consumer, topic)]


async def replay(
    bootstrap_servers: str,
    dsn: str,
    consumer: str,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> list[DeadLetter]:
    """Send the chosen dead letters not yet replayed back to their topics; return them."""
    chosen = [
        (record, letter)
        for record, letter in await _letters(bootstrap_servers, dsn, consumer, topic)
        if not letter.replayed
        and (partition is None or record.partition == partition)
        and (offset is None or record.offset == offset)
    ]
    if not chosen:
        return []
    producer = kafka.producer(bootstrap_servers)
    connection = await asyncpg.connect(dsn)
    await producer.start()
    try:
        for record, letter in chosen:
            await producer.send_and_wait(letter.source_topic, key=record.key, value=record.value)
            await connection.execute(
                """INSERT INTO ledger.dlq_replays (dlq_topic, "partition", "offset")
                   VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
                record.topic,
                record.partition,
                record.offset,
            )
    finally:
        await producer.stop()
        await connection.close()
    return [letter for _, letter in chosen]


def as_json(letters: list[DeadLetter]) -> str:
    return json.dumps([asdict(letter) for letter in letters], indent=2)
