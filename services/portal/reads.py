"""What a patient's pages show, read from the services that own it.

Balances come from the ledger; invoices, lines and patients from invoicing; payments, cards,
plans and autopay from payments. Nothing is computed here that a service already answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from portal.clients import Backends, Caller

OPEN_STATUSES = frozenset({"issued", "partially_paid"})
SHOWN_STATUSES = frozenset({"issued", "partially_paid", "paid", "void", "written_off"})


@dataclass
class Clinic:
    name: str
    timezone: ZoneInfo
    currency: str

    def local(self, instant: str | datetime | None) -> datetime | None:
        if instant is None:
            return None
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        return instant.astimezone(self.timezone)

    def today(self) -> date:
        return datetime.now(self.timezone).date()


@dataclass
class PatientView:
    id: str
    name: str
    invoices: list[dict] = field(default_factory=list)

    @property
    def open_invoices(self) -> list[dict]:
        return [i for i in self.invoices if i["status"] in OPEN_STATUSES]

    @property
    def balance(self) -> int:
        return sum(i["balance"] for i in self.open_invoices)


@dataclass
class AccountView:
    account_id: UUID
    clinic: Clinic
    guarantor_name: str
    patients: list[PatientView]
    balance: int | None  # from the ledger; None when the ledger has not answered
    currency: str
    payments: list[dict]
    cards: list[dict]

    @property
    def open_invoices(self) -> list[dict]:
        return [i for p in self.patients for i in p.open_invoices]

    def invoice(self, invoice_id: str) -> dict | None:
        return next((i for p in self.patients for i in p.invoices if i["id"] == invoice_id), None)


async def clinic_of(backends: Backends, caller: Caller) -> Clinic:
    answer = await backends.get(caller, "invoicing", "/v1/clinic")
    body = answer.body if answer.ok else {}
    return Clinic(
        name=body.get("name") or "Your clinic",
        timezone=ZoneInfo(body.get("timezone", "UTC")),
        currency=body.get("currency", "USD"),
    )


async def invoices_of(backends: Backends, caller: Caller, account_id: UUID) -> list[dict]:
    summaries: list[dict] = []
    cursor = None
    while True:
        answer = await backends.get(
            caller,
            "invoicing",
            "/v1/invoices",
            account_id=account_id,
            limit=100,
            starting_after=cursor,
        )
        if not answer.ok:
            break
        summaries += answer.body["data"]
        if not answer.body["has_more"] or not answer.body["data"]:
            break
        cursor = answer.body["data"][-1]["id"]
    shown = [s for s in summaries if s["status"] in SHOWN_STATUSES]
    details = await asyncio.gather(
        *(backends.get(caller, "invoicing", f"/v1/invoices/{s['id']}") for s in shown)
    )
    return [d.body for d in details if d.ok]


async def ledger_balance(backends: Backends, caller: Caller, account_id: UUID) -> dict | None:
    answer = await backends.get(caller, "ledger", f"/v1/accounts/{account_id}/balance")
    if answer.status == 404:
        return {"balance": 0, "invoices": []}
    return answer.body if answer.ok else None


async def account_view(backends: Backends, caller: Caller, account_id: UUID) -> AccountView:
    clinic, account, invoices, ledger, payments, cards = await asyncio.gather(
        clinic_of(backends, caller),
        backends.get(caller, "invoicing", f"/v1/accounts/{account_id}"),
        invoices_of(backends, caller, account_id),
        ledger_balance(backends, caller, account_id),
        backends.get(caller, "payments", "/v1/payments", account_id=account_id, limit=200),
        backends.get(caller, "payments", "/v1/payment-methods", account_id=account_id),
    )
    body = account.body if account.ok else {"guarantor": {"name": ""}, "patients": []}
    per_invoice = {i["invoice_id"]: i["balance"] for i in (ledger or {}).get("invoices", [])}
    patients = {p["id"]: PatientView(p["id"], p["name"]) for p in body["patients"]}
    for invoice in sorted(invoices, key=_oldest_first):
        invoice["balance"] = per_invoice.get(invoice["id"], invoice["amount_due"])
        patient = patients.setdefault(
            invoice["patient_id"], PatientView(invoice["patient_id"], "Patient")
        )
        patient.invoices.append(invoice)
    return AccountView(
        account_id=account_id,
        clinic=clinic,
        guarantor_name=body["guarantor"]["name"],
        patients=list(patients.values()),
        balance=ledger["balance"] if ledger else None,
        currency=(ledger or {}).get("currency") or clinic.currency,
        payments=payments.body["items"] if payments.ok else [],
        cards=cards.body["items"] if cards.ok else [],
    )


def _oldest_first(invoice: dict[str, Any]) -> tuple:
    return (invoice.get("issued_on") or "9999", invoice.get("number") or "")
