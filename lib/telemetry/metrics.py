"""The Prometheus metrics every clinicpay process exposes on `/metrics`.

They are defined once here, in the process's default registry, so each shared part (the HTTP
shell, the relay, the consumers, the gateway port) records into the same families whatever
service it runs in; Prometheus tells the services apart by the scrape target.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

HTTP_REQUEST_DURATION = Histogram(
    "clinicpay_http_request_duration_seconds",
    "HTTP request latency by route template and status",
    ("method", "route", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_PUBLISHED = Counter(
    "clinicpay_events_published_total",
    "Contract events a relay published (acknowledged by the broker)",
    ("relay", "topic", "type"),
)
RELAY_BACKLOG = Gauge(
    "clinicpay_relay_backlog",
    "Notifications recorded but not yet published: last notification id minus position",
    ("relay",),
)
RELAY_LEADER = Gauge(
    "clinicpay_relay_leader",
    "1 while this replica holds the relay's advisory lock and publishes",
    ("relay",),
)
EVENTS_CONSUMED = Counter(
    "clinicpay_events_consumed_total",
    "Events a consumer processed and committed with its position",
    ("consumer", "topic", "type"),
)
CONSUMER_LAG = Gauge(
    "clinicpay_consumer_lag",
    "Messages in the partition after the consumer's committed position",
    ("consumer", "topic", "partition"),
)
DEAD_LETTERED = Counter(
    "clinicpay_events_dead_lettered_total",
    "Messages a consumer sent to the dead-letter topic, by the class of the reason",
    ("consumer", "topic", "reason"),
)
GATEWAY_CALLS = Counter(
    "clinicpay_gateway_calls_total",
    "Calls to the payment gateway by operation and outcome",
    ("gateway", "operation", "outcome"),
)
GATEWAY_CALL_DURATION = Histogram(
    "clinicpay_gateway_call_duration_seconds",
    "Payment gateway call latency by operation",
    ("gateway", "operation"),
)
REMINDERS_SENT = Counter(
    "clinicpay_reminders_sent_total",
    "Notifications sent to patients or staff, by kind and channel",
    ("kind", "channel"),
)


def record_reminder_sent(kind: str, channel: str) -> None:
    """Count one notification sent (reminders calls this after its notifier succeeds)."""
    REMINDERS_SENT.labels(kind=kind, channel=channel).inc()


def exposition() -> tuple[bytes, str]:
    """The body and content type of a `/metrics` answer."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
