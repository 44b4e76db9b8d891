"""Calls on the invoicing service that its integration tests share, and payment events
published the way the payments service will publish them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer

from contracts import Envelope, contract_named, make_envelope
from eventbus.topics import PAYMENTS
from tests.integration.harness import StaffClient
from tests.integration.test_walking_skeleton import Account, draft_body, open_account

CAPTURED = contract_named("payments", "PaymentCaptured")
REFUNDED = contract_named("payments", "PaymentRefunded")

__all__ = ["Account", "draft_body", "open_account"]


def send(method: str, staff: StaffClient, url: str, **kwargs) -> httpx.Response:
    """Any method, with the staff member's token (the harness client has GET and POST)."""
    headers = {**staff.headers, **kwargs.pop("headers", {})}
    return httpx.request(method, url, headers=headers, timeout=10, **kwargs)


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": f"test-{uuid.uuid4()}"}


def draft(suite, staff: StaffClient, account: Account, *lines, **fields) -> dict:
    body = draft_body(account, *(lines or [(1, 10_000)]))
    body.update(fields)
    response = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def issue(suite, staff: StaffClient, invoice_id: str) -> dict:
    response = staff.post(f"{suite.invoicing_api.url}/v1/invoices/{invoice_id}/issue")
    assert response.status_code == 200, response.text
    return response.json()


def issued_invoice(suite, staff: StaffClient, account: Account | None = None, *lines) -> dict:
    account = account or open_account(suite, staff)
    return issue(suite, staff, draft(suite, staff, account, *lines)["id"])


def get_invoice(suite, staff: StaffClient, invoice_id: str) -> dict:
    response = staff.get(f"{suite.invoicing_api.url}/v1/invoices/{invoice_id}")
    assert response.status_code == 200, response.text
    return response.json()


def configure_clinic(suite, codec, clinic_id: uuid.UUID, **settings) -> dict:
    admin = StaffClient(codec, clinic_id, ["admin"])
    body = {
        "name": "Sunny Speech",
        "timezone": "America/Chicago",
        "currency": "USD",
        "payment_terms_days": 30,
        "invoice_number_prefix": "INV-",
    }
    body.update(settings)
    response = send("PUT", admin, f"{suite.invoicing_api.url}/v1/clinic", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def recorded_events(db) -> int:
    return await db.fetchval("SELECT count(*) FROM invoicing.invoicing_events")


# -- payments' events


def payment_captured(
    clinic_id: uuid.UUID, invoice: dict, amount: int, payment_id: uuid.UUID | None = None
) -> Envelope:
    payment_id = payment_id or uuid.uuid4()
    data = CAPTURED.model.model_validate(
        {
            "payment_id": payment_id,
            "account_id": invoice["account_id"],
            "amount": amount,
            "currency": invoice["currency"],
            "captured_at": datetime.now(UTC),
            "allocations": [{"invoice_id": invoice["id"], "amount": amount}],
            "unallocated_amount": 0,
        }
    )
    return _envelope(CAPTURED.type, payment_id, clinic_id, invoice["account_id"], data)


def payment_refunded(
    clinic_id: uuid.UUID, invoice: dict, amount: int, payment_id: uuid.UUID
) -> Envelope:
    refund_id = uuid.uuid4()
    data = REFUNDED.model.model_validate(
        {
            "refund_id": refund_id,
            "payment_id": payment_id,
            "account_id": invoice["account_id"],
            "amount": amount,
            "currency": invoice["currency"],
            "refunded_at": datetime.now(UTC),
            "allocations": [{"invoice_id": invoice["id"], "amount": amount}],
            "unallocated_amount": 0,
        }
    )
    return _envelope(REFUNDED.type, refund_id, clinic_id, invoice["account_id"], data)


def _envelope(event_type, aggregate_id, clinic_id, account_id, data) -> Envelope:
    return make_envelope(
        event_type=event_type,
        aggregate_id=aggregate_id,
        sequence=1,
        clinic_id=clinic_id,
        account_id=uuid.UUID(str(account_id)),
        data=data,
        time=datetime.now(UTC),
        correlation_id=f"test-{uuid.uuid4().hex[:8]}",
    )


async def publish(bootstrap_servers: str, *envelopes: Envelope, raw: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(PAYMENTS, key=envelope.key, value=envelope.encode())
        if raw is not None:
            await producer.send_and_wait(PAYMENTS, key=b"garbage", value=raw)
    finally:
        await producer.stop()
