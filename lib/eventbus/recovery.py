"""Rebuilding the topics of a lost Kafka cluster from the services' event stores.

The relays publish again from a position (`rewind`), and consumers forget the partition
offsets they stored (`forget_consumer_offsets`): those offsets belong to the lost cluster's
logs, and a new log starts at 0. Consumers then read every republished event from the
beginning and drop the ones they had already applied, by event id.
"""

from __future__ import annotations

import asyncpg

from eventbus.relay import RelayPositions


async def rewind_relays(dsn: str, schema: str, to: int) -> int:
    """The relays of `schema` publish again everything after position `to`; returns how many."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        return await RelayPositions(pool, schema).rewind(to)
    finally:
        await pool.close()


async def forget_consumer_offsets(dsn: str, schema: str) -> int:
    """Delete the partition offsets the consumers of `schema` stored; returns how many."""
    connection = await asyncpg.connect(dsn)
    try:
        status = await connection.execute(f"DELETE FROM {schema}.consumer_offsets")
        return int(status.split()[-1])
    finally:
        await connection.close()
