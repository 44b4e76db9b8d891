"""W3C trace context with the OpenTelemetry API: from an HTTP request, through the recorded
events and the Kafka message, into the consumer's work.

Spans are always made, so each request and each event it causes share one trace id that the
logs, the envelope (`traceparent`, CloudEvents' distributed-tracing extension) and the Kafka
headers carry. They leave the process only when `OTEL_TRACES_EXPORTER` names an exporter:
`console` (stderr) or `otlp` (OTLP over HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`); the default,
`none`, exports nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

EXPORTERS = ("none", "console", "otlp")
_propagator = TraceContextTextMapPropagator()


def configure_tracing(service_name: str, exporter: str | None = None) -> None:
    """Install the SDK's tracer provider once per process, with the chosen exporter."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter = (exporter or os.environ.get("OTEL_TRACES_EXPORTER") or "none").lower()
    if exporter not in EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER must be one of {', '.join(EXPORTERS)}")
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracer() -> trace.Tracer:
    return trace.get_tracer("clinicpay")


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    """The remote parent named by `traceparent`/`tracestate` in `carrier` (else an empty one)."""
    return _propagator.extract(carrier=dict(carrier))


def current_traceparent() -> str | None:
    """The `traceparent` header value of the span in hand, if there is a valid one."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def trace_id_of(traceparent: str | None) -> str | None:
    parts = traceparent.split("-") if traceparent else []
    return parts[1] if len(parts) == 4 else None
