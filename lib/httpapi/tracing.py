"""ASGI middleware: one correlation id and one server span per request, bound for logs and
recorded events, and the request's latency by route template and status."""

from __future__ import annotations

import time

import structlog
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry import Trace, bind_trace
from telemetry.context import accept_correlation_id
from telemetry.metrics import HTTP_REQUEST_DURATION
from telemetry.tracing import current_traceparent, extract, tracer

HEADER = "x-correlation-id"
UNMATCHED = "unmatched"  # 404s by path would make one time series per probe of the internet
log = structlog.get_logger("http")


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value for name, value in scope["headers"]}
        supplied = headers.get(HEADER)
        correlation_id = accept_correlation_id(supplied.decode("latin-1") if supplied else None)
        parent = extract(
            {k: headers[k].decode("latin-1") for k in ("traceparent", "tracestate") if k in headers}
        )
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((HEADER.encode(), correlation_id.encode()))
            await send(message)

        method = scope["method"]
        with tracer().start_as_current_span(
            f"{method} {UNMATCHED}", context=parent, kind=SpanKind.SERVER
        ) as span:
            trace = Trace(correlation_id=correlation_id, traceparent=current_traceparent())
            with bind_trace(trace):
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    elapsed = time.perf_counter() - started
                    route = _route_of(scope)
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    HTTP_REQUEST_DURATION.labels(method, route, str(status)).observe(elapsed)
                    # The route template, not the path: a caller may put anything in a path
                    # (an e-mail address where an id belongs); never bodies or headers.
                    log.info(
                        "request",
                        method=method,
                        route=route,
                        status=status,
                        duration_ms=round(elapsed * 1000, 2),
                    )


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED
