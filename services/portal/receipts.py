"""A payment's receipt: on the page, and as a file to keep."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from portal.money import format_money
from portal.reads import Clinic, clinic_of
from portal.store import Session
from portal.web import Portal, uuid_or_none

STATUS_WORDS = {
    "captured": "Paid",
    "scheduled": "Scheduled",
    "processing": "Processing",
    "failed": "Declined",
    "refunded": "Refunded",
    "partially_refunded": "Partly refunded",
}


@dataclass
class Receipt:
    payment: dict
    clinic: Clinic
    card: str
    invoice_numbers: dict[str, str]

    @property
    def number(self) -> str:
        return "R-" + self.payment["id"].replace("-", "")[:10].upper()

    @property
    def filename(self) -> str:
        return f"receipt-{self.number}.txt"

    @property
    def status(self) -> str:
        return STATUS_WORDS.get(self.payment["status"], self.payment["status"].title())

    @property
    def paid_at(self) -> datetime | None:
        return self.clinic.local(self.payment.get("captured_at"))

    @property
    def requested_at(self) -> datetime | None:
        return self.clinic.local(self.payment.get("requested_at"))

    def money(self, amount: int) -> str:
        return format_money(amount, self.payment["currency"])


async def receipt_view(portal: Portal, session: Session, payment_id: str) -> Receipt | None:
    """The payment's receipt, or None unless it is a payment of the session's account."""
    if uuid_or_none(payment_id) is None:
        return None
    caller = portal.patient_caller(session)
    answer = await portal.backends.get(caller, "payments", f"/v1/payments/{payment_id}")
    if not answer.ok or answer.body.get("account_id") != str(session.account_id):
        return None
    payment = answer.body
    allocated = [a["invoice_id"] for a in payment.get("allocations") or []]
    clinic, cards, *invoices = await asyncio.gather(
        clinic_of(portal.backends, caller),
        portal.backends.get(
            caller, "payments", "/v1/payment-methods", account_id=session.account_id
        ),
        *(portal.backends.get(caller, "invoicing", f"/v1/invoices/{i}") for i in allocated),
    )
    card = next(
        (
            c
            for c in (cards.body["items"] if cards.ok else [])
            if c["id"] == payment["payment_method_id"]
        ),
        None,
    )
    return Receipt(
        payment=payment,
        clinic=clinic,
        card=f"{card['brand'].title()} ending {card['last4']}" if card else "Card",
        invoice_numbers={i.body["id"]: i.body.get("number") or "Invoice" for i in invoices if i.ok},
    )


def receipt_text(receipt: Receipt) -> str:
    payment = receipt.payment
    when = receipt.paid_at or receipt.requested_at
    lines = [
        f"{receipt.clinic.name}",
        f"Receipt {receipt.number}",
        "",
        f"Status:   {receipt.status}",
        f"Amount:   {receipt.money(payment['amount'])}",
        f"Date:     {when.strftime('%Y-%m-%d %H:%M %Z') if when else '-'}",
        f"Card:     {receipt.card}",
        f"Payment:  {payment['id']}",
    ]
    if payment.get("scheduled_for") and payment["status"] == "scheduled":
        lines.append(f"Charged on: {payment['scheduled_for']}")
    if payment.get("allocations"):
        lines += ["", "Applied to:"]
        for allocation in payment["allocations"]:
            number = receipt.invoice_numbers.get(allocation["invoice_id"], "Invoice")
            lines.append(f"  {number:<14} {receipt.money(allocation['amount'])}")
    if payment.get("unallocated_amount"):
        lines.append(f"  {'Account credit':<14} {receipt.money(payment['unallocated_amount'])}")
    for refund in payment.get("refunds") or []:
        lines.append(f"Refunded: {receipt.money(refund['amount'])} ({refund['status']})")
    return "\n".join(lines) + "\n"
