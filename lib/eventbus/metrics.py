"""What consumers report to Prometheus: events consumed per type, lag per partition, and
messages dead-lettered. Called by the consumer loops once their database commit is done."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, TopicPartition

from telemetry.metrics import CONSUMER_LAG, DEAD_LETTERED, EVENTS_CONSUMED

__all__ = ["EVENTS_CONSUMED", "batch_committed", "dead_lettered", "partition_lag"]

if TYPE_CHECKING:
    from eventbus.consumer import Delivery


def batch_committed(
    consumer: str,
    kafka_consumer: AIOKafkaConsumer,
    tp: TopicPartition,
    deliveries: Iterable[Delivery],
    next_offset: int,
) -> None:
    for delivery in deliveries:
        EVENTS_CONSUMED.labels(consumer, tp.topic, delivery.envelope.type).inc()
    partition_lag(consumer, kafka_consumer, tp, next_offset)


def partition_lag(
    consumer: str, kafka_consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int
) -> None:
    highwater = kafka_consumer.highwater(tp)  # known from the last fetch of the partition
    if highwater is not None:
        lag = max(0, highwater - next_offset)
        CONSUMER_LAG.labels(consumer, tp.topic, str(tp.partition)).set(lag)


def dead_lettered(consumer: str, topic: str, reason: str) -> None:
    DEAD_LETTERED.labels(consumer, topic, reason.split(":", 1)[0]).inc()
