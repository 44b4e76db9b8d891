"""aiokafka clients configured the one way clinicpay uses them."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def producer(bootstrap_servers: str, **overrides) -> AIOKafkaProducer:
    # acks=all, at-least-once: idempotent and transactional producers are not relied on.
    options = dict(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15000,
        max_batch_size=128 * 1024,
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


def consumer(bootstrap_servers: str, group_id: str, **overrides) -> AIOKafkaConsumer:
    options = dict(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        request_timeout_ms=20000,
        max_poll_interval_ms=60000,
    )
    options.update(overrides)
    return AIOKafkaConsumer(**options)
