"""What the payments integration tests share: requests with keys, invoices payments can see,
the events payments published."""

from __future__ import annotations

import json
import uuid

import httpx

from eventbus.topics import PAYMENTS
from tests.integration.harness import StaffClient, eventually, read_topic
from tests.integration.test_walking_skeleton import Account, issue_invoice, open_account

_accounts: dict[uuid.UUID, Account] = {}


def new_account(suite, staff: StaffClient) -> uuid.UUID:
    """A billing account opened at invoicing, so its invoices can be issued."""
    account = open_account(suite, staff)
    _accounts[account.id] = account
    return account.id


def keyed(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or f"test-{uuid.uuid4()}"}


def post(staff: StaffClient, url: str, body: dict | None = None, key: str | None = None, **kwargs):
    headers = {**keyed(key), **kwargs.pop("headers", {})}
    return staff.post(url, json=body, headers=headers, **kwargs)


def save_card(api_url: str, staff: StaffClient, account_id: uuid.UUID, token: str = "pm_card_visa"):
    response = post(
        staff, f"{api_url}/v1/payment-methods", {"account_id": str(account_id), "token": token}
    )
    assert response.status_code == 201, response.text
    return response.json()


def pay(
    api_url: str, staff: StaffClient, account_id, method_id, amount: int, **extra
) -> httpx.Response:
    body = {
        "account_id": str(account_id),
        "amount": amount,
        "currency": "USD",
        "payment_method_id": str(method_id),
        **{k: str(v) for k, v in extra.items()},
    }
    return post(staff, f"{api_url}/v1/payments", body)


async def open_invoice(suite, staff, db, account_id, amount: int, schema: str = "payments") -> str:
    """Issue an invoice through invoicing and wait until payments has seen it."""
    invoice = issue_invoice(suite, staff, _accounts[account_id], (1, amount))

    async def known():
        return await db.fetchval(
            f"SELECT true FROM {schema}.invoices WHERE invoice_id = $1", uuid.UUID(invoice["id"])
        )

    await eventually(known, timeout=20)
    return invoice["id"]


async def published(
    bootstrap_servers: str, subject: str, event_type: str | None = None
) -> list[dict]:
    records = await read_topic(bootstrap_servers, PAYMENTS)
    envelopes = [envelope for r in records if (envelope := _envelope(r.value))]
    return [
        e
        for e in envelopes
        if e.get("subject") == subject
        and (event_type is None or str(e.get("type")).endswith(f".{event_type}.v1"))
    ]


def _envelope(value: bytes) -> dict | None:
    """Other tests put malformed messages on the topic on purpose (dead-letter tests)."""
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) else None


async def published_eventually(bootstrap_servers: str, subject: str, event_type: str) -> dict:
    async def found():
        return await published(bootstrap_servers, subject, event_type)

    return (await eventually(found, timeout=20))[0]


async def publish_reminder(
    bootstrap_servers: str, clinic_id, account_id, kind: str, traceparent=None, **fields
) -> tuple:
    """Publish a ReminderDue as the reminders service will; returns (envelope, record metadata)."""
    import dataclasses
    from datetime import UTC, datetime

    from contracts import contract_named, make_envelope

    contract = contract_named("reminders", "ReminderDue")
    reminder_id = uuid.uuid4()
    subject_type = {
        "installment_due": "plan_installment",
        "scheduled_payment_due": "scheduled_payment",
        "autopay_charge_due": "autopay_period",
    }[kind]
    data = {
        "reminder_id": str(reminder_id),
        "kind": kind,
        "step": "due",
        "subject_type": subject_type,
        "subject_id": str(
            fields.get("plan_id") or fields.get("payment_id") or fields.get("mandate_id")
        ),
        "account_id": str(account_id),
        "due_at": datetime.now(UTC).isoformat(),
        **{k: v if isinstance(v, int) else str(v) for k, v in fields.items()},
    }
    envelope = make_envelope(
        event_type=contract.type,
        aggregate_id=reminder_id,
        sequence=1,
        clinic_id=clinic_id,
        account_id=account_id,
        data=contract.model.model_validate(data),
        time=datetime.now(UTC),
        correlation_id=f"reminder-{reminder_id.hex[:8]}",
    )
    if traceparent:
        envelope = dataclasses.replace(envelope, extensions={"traceparent": traceparent})
    return envelope, await send(bootstrap_servers, envelope)


async def send(bootstrap_servers: str, envelope) -> object:
    from aiokafka import AIOKafkaProducer

    from eventbus.topics import REMINDERS

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        return await producer.send_and_wait(REMINDERS, key=envelope.key, value=envelope.encode())
    finally:
        await producer.stop()


async def consumed_past(db, metadata, schema: str = "payments", group: str = "clinicpay-payments"):
    """Wait until the payments worker has consumed a produced record and made any charge it
    queued (the queue is empty of reminders)."""

    async def handled():
        past = await db.fetchval(
            f"""SELECT next_offset > $1 FROM {schema}.consumer_offsets
                WHERE consumer = $2 AND topic = $3 AND partition = $4""",
            metadata.offset,
            group,
            metadata.topic,
            metadata.partition,
        )
        queued = await db.fetchval(
            f"SELECT count(*) FROM {schema}.work_queue WHERE kind = 'reminder'"
        )
        return past and queued == 0

    await eventually(handled, timeout=30)
