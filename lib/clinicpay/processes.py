"""Running one clinicpay process: an HTTP API under uvicorn, or a worker until a signal."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI

from clinicpay.settings import ServiceSettings
from telemetry import configure_logging


def start(settings: ServiceSettings) -> None:
    configure_logging(json=settings.log_json, level=settings.log_level)


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
        if before is not None:
            await before()
        await main(stop)

    asyncio.run(supervised())
