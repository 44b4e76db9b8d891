"""A throwaway database for one benchmark: on DATABASE_URL's server when set, else on an
embedded PostgreSQL in the run's work directory; dropped when the benchmark ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from clinicpay.embedded import start_postgres
from storage import DatabaseUrl


@contextlib.contextmanager
def database(workdir: Path) -> Iterator[DatabaseUrl]:
    server = DatabaseUrl(os.environ["DATABASE_URL"]) if os.environ.get("DATABASE_URL") else None
    server = server or start_postgres(workdir / "pgdata", dbname="postgres")
    name = f"clinicpay_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield server.with_database(name)
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(server: DatabaseUrl, statement: str) -> None:
    connection = await asyncpg.connect(server.with_database("postgres").asyncpg_dsn())
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
