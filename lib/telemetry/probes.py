"""`/healthz`, `/readyz` and `/metrics` for a process that serves no HTTP of its own (relays,
workers), on a small port (`METRICS_PORT`) that Kubernetes probes and Prometheus scrape.

A minimal HTTP/1.1 responder on asyncio: three GET paths, no bodies read, one answer per
connection, so it costs the worker nothing between probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

import structlog

from telemetry.metrics import exposition

log = structlog.get_logger("probes")

ReadinessCheck = Callable[[], Awaitable[None]]
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class ProbeServer:
    def __init__(self, port: int, checks: dict[str, ReadinessCheck], host: str = "127.0.0.1"):
        self.port = port
        self.host = host
        self.checks = checks
        self.started = False  # set once the process has finished its start-up work
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._answer, self.host, self.port)
        log.info("probes.listening", port=self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            method, path, *_ = request_line.decode("latin-1").split() + ["", ""]
            status, content_type, body = await self._respond(method, path.split("?", 1)[0])
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method != "GET":
            return 405, "text/plain", b"GET only\n"
        if path == "/metrics":
            body, content_type = exposition()
            return 200, content_type, body
        if path == "/healthz":
            return _json(200, {"status": "ok"})
        if path == "/readyz":
            return await self._readiness()
        return 404, "text/plain", b"not found\n"

    async def _readiness(self) -> tuple[int, str, bytes]:
        results = {"started": "ok" if self.started else "failing: starting"}
        for name, check in self.checks.items():
            try:
                await asyncio.wait_for(check(), timeout=2.0)
                results[name] = "ok"
            except Exception as error:  # any failure means not ready; say which
                results[name] = f"failing: {type(error).__name__}"
        ready = all(v == "ok" for v in results.values())
        return _json(
            200 if ready else 503, {"status": "ready" if ready else "not-ready", "checks": results}
        )


def _json(status: int, document: dict) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(document).encode()
