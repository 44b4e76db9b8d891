"""Billing staff sign in with their token, see what the clinic is owed, and void, adjust,
write off and refund through the owning services, each after a confirmation step."""

from __future__ import annotations

import time

import httpx
from playwright.async_api import expect

from tests.integration.harness import StaffClient, eventually
from tests.integration.portal_support import (
    dollars,
    issue,
    ledger_balance,
    link_for,
    open_family,
    pay_by_form,
    settled,
    signed_in_client,
)


async def _staff_sign_in(page, suite, token: str) -> None:
    await page.goto(f"{suite.portal.url}/staff")
    await expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    await page.get_by_label("Staff token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


async def _balance_becomes(suite, staff, account_id, expected: int) -> None:
    async def reached():
        return ledger_balance(suite, staff, account_id) == expected

    await eventually(reached, timeout=30)


def _invoice(suite, staff, invoice: dict) -> dict:
    return staff.get(f"{suite.invoicing_api.url}/v1/invoices/{invoice['id']}").json()


def _pay(suite, staff, family, amount: int) -> dict:
    """The family pays through the portal (a new Visa card)."""
    client = signed_in_client(link_for(suite, staff.clinic_id, family.account_id))
    answer = pay_by_form(
        client, suite.portal.url, amount_choice="other", other_amount=f"{amount / 100:.2f}"
    )
    assert answer.status_code == 303, answer.text
    payment_id = answer.headers["location"].rsplit("/", 1)[1]
    return staff.get(f"{suite.payments_api.url}/v1/payments/{payment_id}").json()


async def test_the_dashboard_shows_balances_aging_payments_and_acts_after_confirming(
    suite, staff, db, phone
):
    first = open_family(suite, staff, "Harper Quinn", ("Milo Quinn", "2016-01-01"))
    to_void = issue(suite, staff, first, "Milo Quinn", ("Evaluation", "2026-11-03", 1, 12_000))
    kept = issue(suite, staff, first, "Milo Quinn", ("Therapy", "2026-11-10", 1, 8_000))
    second = open_family(suite, staff, "Reese Vance", ("Ada Vance", "2015-02-02"))
    paid_into = issue(suite, staff, second, "Ada Vance", ("Therapy", "2026-11-04", 1, 5_000))
    await settled(suite, staff, db, first)
    await settled(suite, staff, db, second)
    payment = _pay(suite, staff, second, 2_000)
    await _balance_becomes(suite, staff, second.account_id, 3_000)
    page = phone

    await _staff_sign_in(page, suite, staff.token)
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    async def total_shown():
        await page.reload()
        return await page.get_by_test_id("total-outstanding").text_content() == dollars(23_000)

    assert await eventually(total_shown, timeout=30), "invoicing's list catches up"
    outstanding = page.get_by_role("region", name="Outstanding balances")
    await expect(outstanding.get_by_role("row").nth(1)).to_contain_text("Harper Quinn")
    await expect(outstanding.get_by_role("row").nth(1)).to_contain_text(dollars(20_000))
    await expect(page.get_by_role("region", name="Recent payments")).to_contain_text(dollars(2_000))
    await page.steps.shot("staff-dashboard")

    # Void one invoice: the summary first, then the change.
    await page.goto(f"{suite.portal.url}/staff/invoices/{to_void['id']}")
    await page.get_by_role("button", name="Void…").click()
    await expect(page.get_by_test_id("confirm-summary")).to_contain_text(
        f"Void invoice {to_void['number']}"
    )
    await page.steps.shot("confirm-void")
    assert _invoice(suite, staff, to_void)["status"] == "issued", "nothing before confirming"
    await page.get_by_role("button", name="Yes, void invoice").click()
    await expect(page.get_by_test_id("invoice-status")).to_have_text("void")
    assert _invoice(suite, staff, to_void)["status"] == "void"
    await _balance_becomes(suite, staff, first.account_id, 8_000)

    # Credit an adjustment on the other.
    await page.goto(f"{suite.portal.url}/staff/invoices/{kept['id']}")
    await page.get_by_label("Amount (USD)").fill("15.00")
    await page.get_by_label("Reason", exact=True).first.fill("courtesy discount")
    await page.get_by_role("button", name="Adjust…").click()
    await expect(page.get_by_test_id("confirm-summary")).to_contain_text(f"Credit {dollars(1_500)}")
    await page.get_by_role("button", name="Yes, credit an adjustment").click()
    await expect(page.get_by_test_id("amount-due")).to_have_text(dollars(6_500))
    assert _invoice(suite, staff, kept)["amount_adjusted"] == 1_500
    await _balance_becomes(suite, staff, first.account_id, 6_500)

    # Refund part of the second family's payment.
    await page.goto(f"{suite.portal.url}/staff/accounts/{second.account_id}")
    await page.get_by_label("Refund amount (USD)").fill("5.00")
    await page.get_by_label("Reason").select_option("billing_error")
    await page.get_by_role("button", name="Refund…").click()
    await expect(page.get_by_test_id("confirm-summary")).to_contain_text(f"Refund {dollars(500)}")
    await page.get_by_role("button", name="Yes, refund payment").click()
    await expect(page.get_by_role("status")).to_contain_text("refund")
    await page.steps.shot("refunded")
    refunded = staff.get(f"{suite.payments_api.url}/v1/payments/{payment['id']}").json()
    assert refunded["refunded_amount"] == 500
    await _balance_becomes(suite, staff, second.account_id, 3_500)

    # Write off what remains on the second family's invoice.
    await page.goto(f"{suite.portal.url}/staff/invoices/{paid_into['id']}")
    await page.get_by_label("Reason", exact=True).last.fill("uncollectable")
    await page.get_by_role("button", name="Write off…").click()
    await page.get_by_role("button", name="Yes, write off what is due").click()
    await expect(page.get_by_test_id("invoice-status")).to_have_text("written off")
    assert _invoice(suite, staff, paid_into)["status"] == "written_off"
    await _balance_becomes(suite, staff, second.account_id, 0)


async def test_a_finance_role_reads_but_the_billing_service_refuses_its_changes(
    suite, staff, codec, db, phone
):
    family = open_family(suite, staff, "Drew Park", ("Yuri Park", "2014-03-03"))
    invoice = issue(suite, staff, family, "Yuri Park", ("Therapy", "2026-11-05", 1, 4_000))
    await settled(suite, staff, db, family)
    finance = StaffClient(codec, staff.clinic_id, ["finance"])
    page = phone
    await _staff_sign_in(page, suite, finance.token)
    await page.goto(f"{suite.portal.url}/staff/invoices/{invoice['id']}")
    await page.get_by_role("button", name="Void…").click()
    await page.get_by_role("button", name="Yes, void invoice").click()
    await expect(page.get_by_role("alert")).to_contain_text("does not allow")
    assert _invoice(suite, staff, invoice)["status"] == "issued"

    await page.goto(f"{suite.portal.url}/staff/sign-in")
    await page.get_by_label("Staff token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not a valid staff token")


async def test_revoked_links_stop_working_and_end_their_sessions(suite, staff, codec):
    family = open_family(suite, staff, "Jules Roy", ("Nico Roy", "2013-04-04"))
    signed_in = signed_in_client(link_for(suite, staff.clinic_id, family.account_id))
    unused = link_for(suite, staff.clinic_id, family.account_id)
    revoke = f"{suite.portal.url}/v1/accounts/{family.account_id}/links/revoke"

    finance = StaffClient(codec, staff.clinic_id, ["finance"])
    assert finance.post(revoke).status_code == 403
    assert httpx.post(revoke).status_code == 401
    assert httpx.get(unused).status_code == 200, "still valid before the revocation"

    answer = staff.post(revoke)
    assert answer.status_code == 200, answer.text
    assert httpx.get(unused).status_code == 410
    assert signed_in.get(f"{suite.portal.url}/home").status_code == 303
    time.sleep(1.1)  # links carry their issue time in whole seconds
    fresh = link_for(suite, staff.clinic_id, family.account_id)
    assert httpx.get(fresh).status_code == 200, "links minted afterwards work"
