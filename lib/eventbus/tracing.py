"""Consumers continue the trace an event carries (its `traceparent` extension, set by the
relay from the request that recorded it), so what they record joins the same trace."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry.trace import Link, SpanKind, get_current_span

from contracts import Envelope
from telemetry import Trace, continue_trace
from telemetry.tracing import extract, tracer


def traceparent_of(envelope: Envelope) -> str | None:
    value = (envelope.extensions or {}).get("traceparent")
    return value if isinstance(value, str) else None


@contextmanager
def continue_event_trace(name: str, envelope: Envelope) -> Iterator[Trace]:
    with continue_trace(
        name,
        correlation_id=envelope.correlation_id,
        causation_id=str(envelope.id),
        traceparent=traceparent_of(envelope),
    ) as trace:
        yield trace


@contextmanager
def batch_span(name: str, envelopes: Sequence[Envelope]) -> Iterator[None]:
    """One consumer span for a batch committed together: the child of its first event's trace
    and linked to every other event's, as OpenTelemetry's messaging conventions do for batches."""
    if len(envelopes) == 1:
        with continue_event_trace(name, envelopes[0]):
            yield
        return
    contexts = [
        get_current_span(extract({"traceparent": tp})).get_span_context()
        for tp in map(traceparent_of, envelopes)
        if tp
    ]
    links = [Link(context) for context in contexts if context.is_valid]
    with tracer().start_as_current_span(name, kind=SpanKind.CONSUMER, links=links):
        yield


def traced_projection(name: str, project):
    """`project(connection, deliveries)` inside one consumer span per batch (see batch_span)."""

    async def traced(connection, deliveries):
        with batch_span(f"{name} process", [d.envelope for d in deliveries]):
            await project(connection, deliveries)

    return traced
