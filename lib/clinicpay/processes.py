"""Running one clinicpay process: an HTTP API under uvicorn, or a worker until a signal."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

import asyncpg
import uvicorn
from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from clinicpay.settings import ServiceSettings
from storage import DatabaseUrl
from telemetry import configure_logging
from telemetry.probes import ProbeServer
from telemetry.tracing import configure_tracing


class ProbeSettings(BaseSettings):
    """Where a worker answers probes and scrapes; no port, no server (e.g. one-off commands)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container
    database_url: str | None = None


def start(settings: ServiceSettings) -> None:
    configure_logging(json=settings.log_json, level=settings.log_level)
    configure_tracing(service_name="clinicpay-" + "-".join(sys.argv[1:3]))


def serve_http(app: FastAPI, port: int, host: str = "127.0.0.1") -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()


def run_worker(
    main: Callable[[asyncio.Event], Awaitable[None]],
    before: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run `main(stop)` until SIGINT or SIGTERM sets `stop`."""

    async def supervised() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        probes = await _start_probes(ProbeSettings())
        try:
            if before is not None:
                await before()
            if probes is not None:
                probes.started = True
            await main(stop)
        finally:
            if probes is not None:
                await probes.close()

    asyncio.run(supervised())


async def _start_probes(settings: ProbeSettings) -> ProbeServer | None:
    if settings.metrics_port is None:
        return None
    checks = {}
    if settings.database_url:
        checks["database"] = _database_answers(DatabaseUrl(settings.database_url))
    server = ProbeServer(settings.metrics_port, checks, host=settings.metrics_host)
    await server.start()
    return server


def _database_answers(url: DatabaseUrl) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        connection = await asyncpg.connect(url.asyncpg_dsn(), timeout=2)
        try:
            await connection.fetchval("SELECT 1")
        finally:
            await connection.close()

    return check
