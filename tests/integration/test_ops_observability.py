"""Every process exposes Prometheus metrics and probes, and one W3C trace runs from an HTTP
request through the recorded event, the envelope and the Kafka headers into the consumers."""

from __future__ import annotations

import json
import secrets
import uuid

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from eventbus.topics import INVOICING, PAYMENTS
from tests.integration.harness import eventually, read_topic
from tests.integration.payments_support import (
    new_account,
    open_invoice,
    pay,
    post,
    publish_reminder,
    published_eventually,
    save_card,
)
from tests.integration.test_walking_skeleton import issue_invoice, open_account


def observed_url(process) -> str:
    """An API answers on its own port; a relay or worker on its METRICS_PORT."""
    return process.url if process.port else f"http://127.0.0.1:{process.env['METRICS_PORT']}"


def samples(process) -> list:
    response = httpx.get(f"{observed_url(process)}/metrics", timeout=5)
    assert response.status_code == 200, process.name
    assert response.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def value(process, name: str, **labels) -> float:
    return sum(
        s.value
        for s in samples(process)
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def new_traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def test_every_process_answers_metrics_health_and_readiness(suite):
    for process in suite.by_name.values():
        url = observed_url(process)
        assert samples(process), process.name
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200, process.name
        ready = httpx.get(f"{url}/readyz", timeout=5)
        assert ready.status_code == 200, (process.name, ready.text)
        assert ready.json()["status"] == "ready"


def test_request_latency_is_recorded_by_route_template_and_status(suite, staff):
    api = suite.invoicing_api
    for _ in range(3):
        staff.get(f"{api.url}/v1/invoices/{uuid.uuid4()}")
    httpx.get(f"{api.url}/no/such/path/{uuid.uuid4()}", timeout=5)
    count = "clinicpay_http_request_duration_seconds_count"
    assert value(api, count, route="/v1/invoices/{invoice_id}", status="404") >= 3
    assert value(api, count, route="unmatched", status="404") >= 1
    names = {s.labels.get("route") for s in samples(api) if s.name == count}
    assert not any(str(uuid_like).count("-") >= 4 for uuid_like in names)  # no raw ids


async def test_a_requests_trace_reaches_the_envelope_kafka_headers_and_the_ledger(suite, staff):
    trace_id, traceparent = new_traceparent()
    account = open_account(suite, staff)
    invoice = issue_invoice(
        suite, staff, account, (1, 4_200), headers={"traceparent": traceparent}
    )

    async def published():
        records = await read_topic(suite.infra.bootstrap_servers, INVOICING)
        return [r for r in records if json.loads(r.value).get("subject") == invoice["id"]]

    (record,) = await eventually(published, timeout=20)
    envelope = json.loads(record.value)
    assert envelope["traceparent"].split("-")[1] == trace_id
    assert dict(record.headers)["traceparent"].decode() == envelope["traceparent"]
    assert envelope["traceparent"] != traceparent  # the API's own span, a child of the caller's

    issued = "clinicpay.invoicing.InvoiceIssued.v1"

    async def relayed_and_consumed():
        published = value(suite.invoicing_relay, "clinicpay_events_published_total", type=issued)
        consumed = value(suite.ledger_worker, "clinicpay_events_consumed_total", type=issued)
        return published >= 1 and consumed >= 1

    await eventually(relayed_and_consumed, timeout=20)
    assert value(suite.invoicing_relay, "clinicpay_relay_leader") == 1
    backlog = [s for s in samples(suite.invoicing_relay) if s.name == "clinicpay_relay_backlog"]
    assert backlog and all(s.value >= 0 for s in backlog)
    lag = [s for s in samples(suite.ledger_worker) if s.name == "clinicpay_consumer_lag"]
    assert {s.labels["topic"] for s in lag} >= {INVOICING}


async def test_a_payments_trace_is_continued_by_the_invoicing_consumer(suite, staff, db):
    trace_id, traceparent = new_traceparent()
    account = new_account(suite, staff)
    invoice_id = await open_invoice(suite, staff, db, account, 3_000)
    card = save_card(suite.payments_api.url, staff, account)
    paid = post(
        staff,
        f"{suite.payments_api.url}/v1/payments",
        {
            "account_id": str(account),
            "amount": 3_000,
            "currency": "USD",
            "payment_method_id": card["id"],
            "invoice_id": invoice_id,
        },
        headers={"traceparent": traceparent},
    )
    assert paid.status_code == 201, paid.text

    async def continued():
        lines = [json.loads(line) for line in suite.invoicing_worker.log_lines() if "{" in line]
        return [
            line
            for line in lines
            if line.get("event") == "payments.consumed" and line.get("trace_id") == trace_id
        ]

    await eventually(continued, timeout=30)
    captured = "clinicpay.payments.PaymentCaptured.v1"
    assert value(suite.payments_relay, "clinicpay_events_published_total", type=captured) >= 1
    calls = "clinicpay_gateway_calls_total"
    assert value(suite.payments_api, calls, operation="charge", outcome="succeeded") >= 1
    assert value(suite.payments_api, calls, operation="save_card", outcome="ok") >= 1


async def test_a_reminders_trace_is_continued_into_the_charge_it_causes(suite, staff):
    trace_id, traceparent = new_traceparent()
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    scheduled = pay(
        suite.payments_api.url, staff, account, card["id"], 1_700, scheduled_for="2031-03-01"
    ).json()
    await publish_reminder(
        suite.infra.bootstrap_servers,
        staff.clinic_id,
        account,
        "scheduled_payment_due",
        traceparent=traceparent,
        payment_id=scheduled["id"],
    )
    captured = await published_eventually(
        suite.infra.bootstrap_servers, scheduled["id"], "PaymentCaptured"
    )
    assert captured["traceparent"].split("-")[1] == trace_id


async def test_a_dead_lettered_message_is_counted(suite):
    before = value(suite.ledger_worker, "clinicpay_events_dead_lettered_total", topic=PAYMENTS)
    producer = AIOKafkaProducer(bootstrap_servers=suite.infra.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(PAYMENTS, key=b"not-an-account", value=b"not json at all")
    finally:
        await producer.stop()

    async def counted():
        after = value(suite.ledger_worker, "clinicpay_events_dead_lettered_total", topic=PAYMENTS)
        return after > before

    await eventually(counted, timeout=20)
