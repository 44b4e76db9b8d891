"""The demo clinic `make run` seeds, through the services' own APIs and the portal's pages:
a parent paying for two children, invoices in every state, a payment plan and an autopay.
It ends with a patient link that works (links are single-use: `clinicpay portal demo-link`
mints another).

Nothing here writes a table: every record is made the way staff and families make them.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from auth import LinkCodec, TokenCodec
from clinicpay.settings import EMBEDDED_JWT_SECRET, EMBEDDED_LINK_SECRET
from clinicpay.suite import DEMO_CLINIC_ID

PARENT = {"name": "Jordan Rivera", "date_of_birth": "1984-03-02"}
CLINIC = {
    "name": "Sunny Speech & Therapy",
    "timezone": "America/Chicago",
    "currency": "USD",
    "payment_terms_days": 30,
    "invoice_number_prefix": "SST-",
}


@dataclass
class Demo:
    env: dict[str, str]

    def __post_init__(self) -> None:
        codec = TokenCodec(verify_key=self.env.get("JWT_SECRET", EMBEDDED_JWT_SECRET))
        token = codec.mint(
            subject="demo-seed@clinicpay.local",
            clinic_id=DEMO_CLINIC_ID,
            roles=["admin", "billing", "finance"],
        )
        self.staff = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.links = LinkCodec(self.env.get("LINK_SECRET") or EMBEDDED_LINK_SECRET)
        self.today = date.today()

    def url(self, service: str) -> str:
        return self.env[f"{service.upper()}_URL"]

    # -- staff side

    def post(self, service: str, path: str, body: dict | None = None) -> dict:
        answer = self.staff.post(
            self.url(service) + path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        answer.raise_for_status()
        return answer.json()

    def account(self, guarantor: str, born: str, *children: tuple[str, str]) -> dict:
        first = guarantor.split()[0].lower()
        return self.post(
            "invoicing",
            "/v1/accounts",
            {
                "guarantor": {
                    "name": guarantor,
                    "email": f"{first}@example.com",
                    "date_of_birth": born,
                    "contact_preference": "email",
                },
                "patients": [{"name": n, "date_of_birth": b} for n, b in children],
            },
        )

    def invoice(self, account: dict, patient: int, *lines, issue: bool = True, **extra) -> dict:
        draft = self.post(
            "invoicing",
            "/v1/invoices",
            {
                "account_id": account["id"],
                "patient_id": account["patients"][patient]["id"],
                "lines": [
                    {
                        "description": description,
                        "code": code,
                        "service_date": (self.today - timedelta(days=days_ago)).isoformat(),
                        "quantity": 1,
                        "unit_amount": amount,
                    }
                    for description, code, days_ago, amount in lines
                ],
                **extra,
            },
        )
        return self.post("invoicing", f"/v1/invoices/{draft['id']}/issue") if issue else draft

    # -- family side, through the portal's pages

    def link(self, account: dict) -> str:
        token = self.links.mint(clinic_id=DEMO_CLINIC_ID, account_id=uuid.UUID(account["id"]))
        return f"{self.url('portal')}/l/{token}"

    def family(self, account: dict, born: str) -> httpx.Client:
        client = httpx.Client(base_url=self.url("portal"), timeout=30)
        page = client.get(self.link(account))
        answer = client.post(
            "/verify", data={"csrf_token": _csrf(page.text), "date_of_birth": born}
        )
        if answer.status_code != 303:
            raise RuntimeError(f"demo sign-in refused: {answer.status_code}")
        return client

    def submit(self, client: httpx.Client, page: str, action: str, fields: dict) -> httpx.Response:
        """Fill a portal form as a browser would, retrying while payments has yet to learn of
        a new invoice (each try is a new form, so nothing is charged twice)."""
        for _ in range(60):
            html = client.get(page).text
            data = {"csrf_token": _csrf(html), "form_id": uuid.uuid4().hex, **fields}
            answer = client.post(action, data=data)
            if answer.status_code == 303:
                return answer
            time.sleep(1)
        raise RuntimeError(f"demo step {action} did not go through: {answer.status_code}")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _wait_for(urls: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not start")
            time.sleep(0.5)


def _existing_parent(demo: Demo) -> dict | None:
    listed = demo.staff.get(demo.url("invoicing") + "/v1/invoices", params={"limit": 100})
    if listed.status_code != 200 or not listed.json()["data"]:
        return None
    for account_id in dict.fromkeys(i["account_id"] for i in listed.json()["data"]):
        account = demo.staff.get(demo.url("invoicing") + f"/v1/accounts/{account_id}").json()
        if account.get("guarantor", {}).get("name") == PARENT["name"]:
            return account
    return None


def seed(env: dict[str, str]) -> str:
    """Seeds the demo clinic once (a second `make run` finds it) and returns a parent's link."""
    demo = Demo(env)
    _wait_for([demo.url(s) for s in ("invoicing", "payments", "ledger", "portal")])
    parent = _existing_parent(demo)
    if parent is None:
        parent = _seed(demo)
    return demo.link(parent)


def _seed(demo: Demo) -> dict:
    demo.staff.put(demo.url("invoicing") + "/v1/clinic", json=CLINIC).raise_for_status()
    parent = demo.account(
        PARENT["name"],
        PARENT["date_of_birth"],
        ("Riley Rivera", "2019-07-14"),
        ("Sam Rivera", "2021-02-01"),
    )
    settled_invoice = demo.invoice(parent, 0, ("Speech therapy, 45 min", "92507", 40, 9_500))
    demo.invoice(
        parent,
        0,
        ("Speech therapy, 45 min", "92507", 9, 9_500),
        ("Speech therapy, 45 min", "92507", 2, 9_500),
    )
    partly = demo.invoice(parent, 1, ("Occupational therapy evaluation", "97166", 5, 18_000))
    demo.invoice(parent, 1, ("Occupational therapy, 60 min", "97530", 0, 12_000), issue=False)

    planned = demo.account("Casey Morgan", "1979-11-23", ("Avery Morgan", "2017-05-09"))
    plan_invoice = demo.invoice(
        planned,
        0,
        ("ABA therapy, 2 h", "97153", 12, 24_000),
        ("ABA parent training", "97156", 11, 6_000),
    )
    voided = demo.invoice(planned, 0, ("ABA therapy, 2 h", "97153", 3, 24_000))
    demo.post("invoicing", f"/v1/invoices/{voided['id']}/void")

    autopaying = demo.account("Alex Chen", "1990-06-15", ("Jamie Chen", "2018-01-30"))
    demo.invoice(autopaying, 0, ("Speech therapy, 30 min", "92507", 4, 7_000))
    written_off = demo.invoice(autopaying, 0, ("Missed appointment fee", None, 60, 5_000))
    demo.post("invoicing", f"/v1/invoices/{written_off['id']}/write-off", {"reason": "courtesy"})

    jordan = demo.family(parent, PARENT["date_of_birth"])
    new_visa = {"card": "new", "new_card_token": "pm_card_visa", "when": "now"}
    demo.submit(
        jordan,
        "/pay",
        "/pay",
        {"invoice_id": settled_invoice["id"], "amount_choice": "full", **new_visa},
    )
    card = re.search(r'name="card" value="([0-9a-f-]{36})"', jordan.get("/pay").text).group(1)
    demo.submit(
        jordan,
        "/pay",
        "/pay",
        {
            "invoice_id": partly["id"],
            "amount_choice": "other",
            "other_amount": "50.00",
            "card": card,
            "when": "now",
        },
    )

    casey = demo.family(planned, "1979-11-23")
    start = (demo.today + timedelta(days=7)).isoformat()
    plan = {
        "invoice_ids": plan_invoice["id"],
        "installments": "3",
        "interval": "monthly",
        "start_date": start,
        "card": "new",
        "new_card_token": "pm_card_mastercard",
    }
    preview = casey.post(
        "/plan/preview",
        data={"csrf_token": _csrf(casey.get("/plan").text), "form_id": uuid.uuid4().hex, **plan},
    )
    total = re.search(r'name="previewed_total" value="(\d+)"', preview.text).group(1)
    demo.submit(casey, "/plan", "/plan", {**plan, "previewed_total": total})

    alex = demo.family(autopaying, "1990-06-15")
    demo.submit(alex, "/autopay", "/autopay", {"weekday": "monday", **new_visa})
    return parent
