"""What the portal's tests share: a family with issued invoices, a link to the portal, and a
real headless Chromium (Debian's `chromium`, driven by Playwright) that saves a screenshot of
every step under test-artifacts/portal/."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from auth import LinkCodec
from clinicpay.settings import EMBEDDED_LINK_SECRET
from tests.integration.harness import StaffClient, eventually

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GUARANTOR_DOB = "1984-03-02"


@dataclass
class Family:
    account_id: uuid.UUID
    patients: dict[str, uuid.UUID]
    invoices: list[dict] = field(default_factory=list)

    @property
    def total_due(self) -> int:
        return sum(invoice["amount_due"] for invoice in self.invoices)


def open_family(suite, staff: StaffClient, guarantor: str, *children: tuple[str, str]) -> Family:
    body = {
        "guarantor": {
            "name": guarantor,
            "email": f"{guarantor.split()[0].lower()}@example.com",
            "date_of_birth": GUARANTOR_DOB,
            "contact_preference": "email",
        },
        "patients": [{"name": name, "date_of_birth": born} for name, born in children],
    }
    response = staff.post(f"{suite.invoicing_api.url}/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    account = response.json()
    return Family(
        uuid.UUID(account["id"]), {p["name"]: uuid.UUID(p["id"]) for p in account["patients"]}
    )


def issue(suite, staff: StaffClient, family: Family, patient: str, *lines: tuple) -> dict:
    """Issues an invoice of (description, service_date, quantity, unit_amount) lines."""
    draft = staff.post(
        f"{suite.invoicing_api.url}/v1/invoices",
        json={
            "account_id": str(family.account_id),
            "patient_id": str(family.patients[patient]),
            "currency": "USD",
            "lines": [
                {
                    "description": description,
                    "service_date": served,
                    "quantity": quantity,
                    "unit_amount": unit,
                }
                for description, served, quantity, unit in lines
            ],
        },
    )
    assert draft.status_code == 201, draft.text
    issued = staff.post(f"{suite.invoicing_api.url}/v1/invoices/{draft.json()['id']}/issue")
    assert issued.status_code == 200, issued.text
    family.invoices.append(issued.json())
    return issued.json()


def ledger_balance(suite, staff: StaffClient, account_id: uuid.UUID) -> int | None:
    response = staff.get(f"{suite.ledger_api.url}/v1/accounts/{account_id}/balance")
    return response.json()["balance"] if response.status_code == 200 else None


async def settled(suite, staff: StaffClient, db, family: Family) -> None:
    """Wait until the ledger holds every invoice and payments can charge them."""

    async def ledger_has_all():
        return ledger_balance(suite, staff, family.account_id) == family.total_due

    async def payments_knows_all():
        known = await db.fetchval(
            "SELECT count(*) FROM payments.invoices WHERE invoice_id = ANY($1::uuid[])",
            [uuid.UUID(i["id"]) for i in family.invoices],
        )
        return known == len(family.invoices)

    await eventually(ledger_has_all, timeout=60)
    await eventually(payments_knows_all, timeout=60)


def link_for(suite, clinic_id: uuid.UUID, account_id: uuid.UUID, **options) -> str:
    codec = LinkCodec(suite.env.get("LINK_SECRET") or EMBEDDED_LINK_SECRET)
    token = codec.mint(clinic_id=clinic_id, account_id=account_id, **options)
    return f"{suite.portal.url}/l/{token}"


async def link_from_mailbox(suite, staff: StaffClient, db, family: Family, invoice: dict) -> str:
    """The link in the notice reminders sent for `invoice`: its `issued` step is run now (the
    scheduler's tick, as of the step's instant), and the dev mailbox holds the message."""
    from tests.integration.reminders_support import mailbox, tick

    async def issued_step():
        return await db.fetchval(
            """SELECT due_at FROM reminders.schedule
               WHERE subject_type = 'invoice' AND subject_id = $1 AND step = 'issued'""",
            invoice["id"],
        )

    tick(suite, await eventually(issued_step, timeout=90))

    async def delivered():
        return mailbox(suite, staff, family.account_id)

    messages = await eventually(delivered, timeout=90)
    [notice] = [m for m in messages if m["kind"] == "invoice_issued" and m["channel"] == "email"]
    assert notice["link"].startswith(f"{suite.portal.url}/l/"), notice["link"]
    return notice["link"]


def dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def signed_in_client(link: str, date_of_birth: str = GUARANTOR_DOB) -> httpx.Client:
    """An HTTP client (no browser) holding a patient session opened through `link`."""
    client = httpx.Client(timeout=20)
    page = client.get(link)
    assert page.status_code == 200, page.text
    answer = client.post(
        link.split("/l/")[0] + "/verify",
        data={"csrf_token": csrf_of(page.text), "date_of_birth": date_of_birth},
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def pay_by_form(client: httpx.Client, portal_url: str, **choices: str) -> httpx.Response:
    """Posts the pay form as a family would: in full, with a new Visa card, now, unless
    `choices` say otherwise."""
    form = client.get(f"{portal_url}/pay").text
    fields = {
        "csrf_token": csrf_of(form),
        "form_id": uuid.uuid4().hex,
        "amount_choice": "full",
        "card": "new",
        "new_card_token": "pm_card_visa",
        "when": "now",
        **choices,
    }
    return client.post(f"{portal_url}/pay", data=fields)


class Steps:
    """Screenshots of one test's steps, numbered in the order taken."""

    def __init__(self, page, name: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    async def shot(self, step: str) -> None:
        self.count += 1
        await self.page.screenshot(
            path=self.folder / f"{self.count:02d}-{step}.png", full_page=True
        )


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator:
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def phone(chromium, request) -> AsyncIterator:
    """A fresh phone-sized browser context and page, and its screenshots."""
    context = await chromium.new_context(viewport=PHONE, accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(20_000)
    page.steps = Steps(page, request.node.name)
    yield page
    await context.close()
