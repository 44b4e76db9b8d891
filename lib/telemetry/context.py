"""The trace of the work in hand: which request (correlation) and which message (causation).

An HTTP request or a consumed event binds a trace; everything recorded while it is bound
(domain events, log lines, published envelopes) carries the same ids.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import structlog
from opentelemetry.trace import SpanKind

from telemetry.tracing import current_traceparent, extract, trace_id_of, tracer

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class Trace:
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None  # W3C trace context of the span that did the work


_current: ContextVar[Trace | None] = ContextVar("clinicpay_trace", default=None)


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def accept_correlation_id(candidate: str | None) -> str:
    """A caller's correlation id if it is a safe token, else a fresh one."""
    if candidate and _SAFE_ID.match(candidate):
        return candidate
    return new_correlation_id()


def current_trace() -> Trace:
    return _current.get() or Trace(correlation_id=new_correlation_id())


@contextmanager
def bind_trace(trace: Trace) -> Iterator[Trace]:
    token = _current.set(trace)
    ids = {"correlation_id": trace.correlation_id, "causation_id": trace.causation_id}
    if trace.traceparent:
        ids["trace_id"] = trace_id_of(trace.traceparent)
    with structlog.contextvars.bound_contextvars(**ids):
        try:
            yield trace
        finally:
            _current.reset(token)


@contextmanager
def continue_trace(
    name: str, *, correlation_id: str, causation_id: str | None, traceparent: str | None
) -> Iterator[Trace]:
    """Work caused by a message: a consumer span, child of the `traceparent` the message
    carried, bound with the ids for log lines and for the events the work records."""
    parent = extract({"traceparent": traceparent} if traceparent else {})
    with tracer().start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER):
        trace = Trace(correlation_id, causation_id=causation_id, traceparent=current_traceparent())
        with bind_trace(trace):
            yield trace
