"""Structured logs, metrics and the trace context (correlation and causation ids, W3C trace
context) of a unit of work."""

from telemetry.context import (
    Trace,
    bind_trace,
    continue_trace,
    current_trace,
    new_correlation_id,
)
from telemetry.logs import configure_logging, get_logger

__all__ = [
    "Trace",
    "bind_trace",
    "continue_trace",
    "configure_logging",
    "current_trace",
    "get_logger",
    "new_correlation_id",
]
