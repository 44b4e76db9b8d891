"""One `DATABASE_URL` configures both drivers: asyncpg directly, eventsourcing through its
POSTGRES_* settings. A unix-socket URL (`postgresql://user@/db?host=/path`) works as well as TCP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

import asyncpg


@dataclass(frozen=True)
class DatabaseUrl:
    url: str

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")

    @property
    def _parts(self):
        return urlsplit(self.url)

    @property
    def dbname(self) -> str:
        return unquote(self._parts.path.lstrip("/")) or "postgres"

    @property
    def host(self) -> str:
        query_host = parse_qs(self._parts.query).get("host")
        return query_host[0] if query_host else (self._parts.hostname or "localhost")

    @property
    def port(self) -> int:
        query_port = parse_qs(self._parts.query).get("port")
        return int(query_port[0]) if query_port else (self._parts.port or 5432)

    @property
    def user(self) -> str:
        return unquote(self._parts.username or "postgres")

    @property
    def password(self) -> str:
        return unquote(self._parts.password or "")

    def with_database(self, dbname: str) -> DatabaseUrl:
        parts = self._parts
        return DatabaseUrl(urlunsplit(parts._replace(path="/" + dbname)))

    def asyncpg_dsn(self) -> str:
        parts = self._parts
        query = parse_qs(parts.query)
        kept = {k: v[0] for k, v in query.items() if k in ("host", "port", "sslmode")}
        return urlunsplit(parts._replace(query=urlencode(kept)))

    def eventsourcing_env(self, schema: str) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": schema,
        }


async def ensure_database(url: DatabaseUrl) -> None:
    """Create the database named in `url` if the server does not have it yet."""
    admin = await asyncpg.connect(url.with_database("postgres").asyncpg_dsn())
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.dbname)
        if not exists:
            with suppress(asyncpg.DuplicateDatabaseError):
                await admin.execute(f'CREATE DATABASE "{url.dbname}"')
    finally:
        await admin.close()


@asynccontextmanager
async def migration_session(url: DatabaseUrl, name: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection holding the migration lock `name`: replicas starting together take turns."""
    connection = await asyncpg.connect(url.asyncpg_dsn())
    try:
        await connection.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{name}")
        yield connection
    finally:
        await connection.close()  # ends the session, and with it the lock
