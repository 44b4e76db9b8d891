"""The W3C trace context: continued from a message by consumers, one span per batch linked
to each event's trace, and carried by the relay into the envelope and the Kafka headers."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contracts import Envelope
from eventbus.relay import _headers, _with_trace_context
from eventbus.tracing import batch_span, continue_event_trace
from telemetry import Trace, current_trace
from telemetry.tracing import trace_id_of

EXPORTED = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def recording_provider():
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTED))
    trace.set_tracer_provider(provider)  # once per process; nothing else in this one sets it
    yield
    EXPORTED.shutdown()  # spans of later tests in this process are not kept


@pytest.fixture(autouse=True)
def fresh_spans():
    EXPORTED.clear()


def traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def envelope(traceparent: str | None = None) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        type="clinicpay.invoicing.InvoiceIssued.v1",
        source="clinicpay/invoicing",
        subject=str(uuid.uuid4()),
        time=datetime.now(UTC),
        clinic_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        correlation_id="request-1",
        causation_id=None,
        sequence=1,
        data={},
        extensions={"traceparent": traceparent} if traceparent else None,
    )


def test_a_consumer_continues_the_trace_its_event_carries():
    parent = traceparent()
    event = envelope(parent)
    with continue_event_trace("ledger process", event) as bound:
        assert current_trace() == bound
        assert (bound.correlation_id, bound.causation_id) == ("request-1", str(event.id))
        assert trace_id_of(bound.traceparent) == trace_id_of(parent)
        assert bound.traceparent != parent  # the consumer's own span, a child
    (span,) = EXPORTED.get_finished_spans()
    assert span.kind == trace.SpanKind.CONSUMER
    assert format(span.parent.span_id, "016x") == parent.split("-")[2]


def test_an_event_without_trace_context_starts_a_new_trace():
    with continue_event_trace("ledger process", envelope()) as bound:
        assert bound.traceparent and bound.traceparent.startswith("00-")
    (span,) = EXPORTED.get_finished_spans()
    assert span.parent is None


def test_a_batch_is_one_span_linked_to_every_events_trace():
    parents = [traceparent(), traceparent()]
    with batch_span("ledger process", [envelope(p) for p in parents] + [envelope()]):
        pass
    (span,) = EXPORTED.get_finished_spans()
    linked = {format(link.context.trace_id, "032x") for link in span.links}
    assert linked == {trace_id_of(p) for p in parents}


def test_the_relay_puts_the_recorded_trace_into_envelope_and_headers():
    parent = traceparent()
    traced = _with_trace_context(envelope(), Trace("request-1", traceparent=parent))
    assert traced.to_json()["traceparent"] == parent
    assert ("traceparent", parent.encode()) in _headers(traced)
    untraced = _with_trace_context(envelope(), Trace("request-1"))
    assert "traceparent" not in untraced.to_json()
    assert [name for name, _ in _headers(untraced)] == ["ce_type", "ce_id"]
