"""Carries the trace (correlation and causation ids, W3C traceparent) of a recorded domain
event beside it.

The trace is request metadata, not domain state: aggregates never see it. This mapper adds
it to the stored state when an event is recorded and strips it when the event is read back,
so the outbox relay can put it into the envelope.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from telemetry import Trace, current_trace

TRACE_KEY = "__trace__"


class TracingMapper(Mapper):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        trace = current_trace()
        state[TRACE_KEY] = [trace.correlation_id, trace.causation_id, trace.traceparent]
        stored = self.transcoder.encode(state)
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=stored,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event, _ = self.to_traced_event(stored_event)
        return event

    def to_traced_event(self, stored_event: StoredEvent) -> tuple[Any, Trace | None]:
        event = super().to_domain_event(stored_event)
        recorded = event.__dict__.pop(TRACE_KEY, None)
        if not recorded:
            return event, None
        # Events recorded before traceparent was kept hold two ids.
        traceparent = recorded[2] if len(recorded) > 2 else None
        return event, Trace(recorded[0], causation_id=recorded[1], traceparent=traceparent)
