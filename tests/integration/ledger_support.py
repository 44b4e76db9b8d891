"""What the ledger's integration tests share: contract events built for one account, published
straight to their topics, and the ledger's answers about them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaProducer

from contracts import Envelope, contract_named, make_envelope
from eventbus.topics import INVOICING, PAYMENTS, REMINDERS

TOPIC_OF = {"invoicing": INVOICING, "payments": PAYMENTS, "reminders": REMINDERS}


@dataclass
class Book:
    """Builds the events of one billing account, and the arithmetic DESIGN.md expects of them:
    issued − adjusted − voided − paid + refunded − written off."""

    clinic_id: uuid.UUID
    account_id: uuid.UUID = field(default_factory=uuid.uuid4)
    currency: str = "USD"
    expected_balance: int = 0
    expected_invoices: dict[uuid.UUID, int] = field(default_factory=dict)

    def _envelope(self, context: str, name: str, data: dict, when: datetime | None = None):
        contract = contract_named(context, name)
        return make_envelope(
            event_type=contract.type,
            aggregate_id=uuid.uuid4(),
            sequence=1,
            clinic_id=self.clinic_id,
            account_id=self.account_id,
            data=contract.model.model_validate(data),
            time=when or datetime.now(UTC),
            correlation_id=f"req-{uuid.uuid4().hex[:8]}",
        )

    def _move(self, invoice_id: uuid.UUID | None, amount: int) -> None:
        self.expected_balance += amount
        if invoice_id is not None:
            self.expected_invoices[invoice_id] = self.expected_invoices.get(invoice_id, 0) + amount

    def issued(
        self, total: int, invoice_id: uuid.UUID | None = None, due: date | None = None, **kw
    ) -> Envelope:
        invoice_id = invoice_id or uuid.uuid4()
        issued_on = kw.pop("issued_on", date(2026, 11, 20))
        self._move(invoice_id, total)
        return self._envelope(
            "invoicing",
            "InvoiceIssued",
            {
                "invoice_id": str(invoice_id),
                "account_id": str(self.account_id),
                "patient_id": str(uuid.uuid4()),
                "currency": self.currency,
                "total_amount": total,
                "issued_on": issued_on.isoformat(),
                "due_date": (due or issued_on + timedelta(days=30)).isoformat(),
                "lines": [],
            },
            **kw,
        )

    def _on_invoice(self, name: str, invoice_id: uuid.UUID, amount: int, data: dict, sign: int):
        self._move(invoice_id, sign * amount)
        return self._envelope(
            "invoicing",
            name,
            {
                "invoice_id": str(invoice_id),
                "account_id": str(self.account_id),
                "currency": self.currency,
                **data,
            },
        )

    def adjusted(self, invoice_id: uuid.UUID, amount: int, on: str = "2026-11-21") -> Envelope:
        body = {
            "adjustment_id": str(uuid.uuid4()),
            "amount": amount,
            "adjusted_on": on,
            "amount_due": 0,
        }
        return self._on_invoice("InvoiceAdjusted", invoice_id, amount, body, -1)

    def voided(self, invoice_id: uuid.UUID, amount: int, on: str = "2026-11-22") -> Envelope:
        body = {"voided_amount": amount, "voided_on": on}
        return self._on_invoice("InvoiceVoided", invoice_id, amount, body, -1)

    def written_off(self, invoice_id: uuid.UUID, amount: int, on: str = "2026-11-23") -> Envelope:
        body = {"amount": amount, "written_off_on": on}
        return self._on_invoice("InvoiceWrittenOff", invoice_id, amount, body, -1)

    def _money(self, name: str, allocations, unallocated: int, sign: int, at: str) -> Envelope:
        amount = sum(a for _, a in allocations) + unallocated
        for invoice_id, allocated in allocations:
            self._move(invoice_id, sign * allocated)
        self._move(None, sign * unallocated)
        body = {
            "payment_id": str(uuid.uuid4()),
            "account_id": str(self.account_id),
            "amount": amount,
            "currency": self.currency,
            "allocations": [{"invoice_id": str(i), "amount": a} for i, a in allocations],
            "unallocated_amount": unallocated,
        }
        if name == "PaymentCaptured":
            body["captured_at"] = at
        else:
            body |= {"refund_id": str(uuid.uuid4()), "refunded_at": at}
        return self._envelope("payments", name, body)

    def captured(self, allocations, unallocated: int = 0, at="2026-11-24T10:00:00Z") -> Envelope:
        return self._money("PaymentCaptured", allocations, unallocated, -1, at)

    def refunded(self, allocations, unallocated: int = 0, at="2026-11-25T10:00:00Z") -> Envelope:
        return self._money("PaymentRefunded", allocations, unallocated, +1, at)

    def reminder_due(self, invoice_id: uuid.UUID) -> Envelope:
        return self._envelope(
            "reminders",
            "ReminderDue",
            {
                "reminder_id": str(uuid.uuid4()),
                "kind": "invoice_due",
                "step": "due",
                "subject_type": "invoice",
                "subject_id": str(invoice_id),
                "account_id": str(self.account_id),
                "due_at": "2026-12-20T09:00:00Z",
            },
        )


def topic_of(envelope: Envelope) -> str:
    return TOPIC_OF[envelope.source.removeprefix("clinicpay/")]


async def publish(bootstrap_servers: str, *envelopes: Envelope, raw: list[tuple] = ()) -> None:
    """Publish the events to their topics keyed by account, then any (topic, key, value)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=5)
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send(topic_of(envelope), key=envelope.key, value=envelope.encode())
        for topic, key, value in raw:
            await producer.send(topic, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()
