"""ASGI middleware: one correlation id per request, bound for logs and recorded events."""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry import Trace, bind_trace
from telemetry.context import accept_correlation_id

HEADER = "x-correlation-id"
log = structlog.get_logger("http")


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = dict(scope["headers"]).get(HEADER.encode())
        correlation_id = accept_correlation_id(supplied.decode("latin-1") if supplied else None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((HEADER.encode(), correlation_id.encode()))
            await send(message)

        with bind_trace(Trace(correlation_id=correlation_id)):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                # Paths only: query strings may hold identifiers, never bodies or headers.
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
