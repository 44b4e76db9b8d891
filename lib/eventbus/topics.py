"""The topics of DESIGN.md: one per bounded context and version, each with a dead-letter twin.

All share one partition count and the `accountid` key, so an account's events stay in order
and co-partitioned across topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

INVOICING = "clinicpay.invoicing.v1"
PAYMENTS = "clinicpay.payments.v1"
REMINDERS = "clinicpay.reminders.v1"
EVENT_TOPICS = (INVOICING, PAYMENTS, REMINDERS)


def dead_letter(topic: str) -> str:
    return f"{topic}.dlq"


ALL_TOPICS = EVENT_TOPICS + tuple(dead_letter(t) for t in EVENT_TOPICS)


async def ensure_topics(
    bootstrap_servers: str,
    *,
    partitions: int,
    replication_factor: int | None = None,
    topics: tuple[str, ...] = ALL_TOPICS,
    attempts: int = 30,
) -> None:
    """Create whichever of `topics` the broker lacks; safe to call from every replica.

    Replicas: `replication_factor`, else TOPIC_REPLICATION_FACTOR (3 on a production
    cluster, where the same topics are also declared as KafkaTopic resources), else 1.
    """
    replication_factor = replication_factor or int(os.environ.get("TOPIC_REPLICATION_FACTOR", 1))
    for attempt in range(attempts):
        try:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=partitions, replication_factor=replication_factor)
            for name in topics
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
