"""A family spreads its balance over a payment plan after seeing the exact schedule, turns
autopay on and off, and reads its statement; in the browser, on a phone-sized screen."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.async_api import expect

from tests.integration.portal_support import (
    GUARANTOR_DOB,
    dollars,
    issue,
    ledger_balance,
    link_for,
    open_family,
    settled,
)


async def _sign_in(page, link: str) -> None:
    await page.goto(link)
    await page.get_by_label("Date of birth").fill(GUARANTOR_DOB)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()


def _long(day: date) -> str:
    return day.strftime("%b %-d, %Y")


async def test_a_plan_charges_exactly_the_schedule_the_family_accepted(suite, staff, db, phone):
    family = open_family(suite, staff, "Jesse Hart", ("Rowan Hart", "2016-06-06"))
    invoice = issue(suite, staff, family, "Rowan Hart", ("ABA session", "2026-11-09", 1, 10_001))
    await settled(suite, staff, db, family)
    page = phone
    await _sign_in(page, link_for(suite, staff.clinic_id, family.account_id))

    await page.get_by_role("link", name="Plan").click()
    await expect(page.get_by_label(f"Invoice {invoice['number']}", exact=False)).to_be_checked()
    await page.get_by_label("Number of payments").select_option("3")
    await page.get_by_label("Every two weeks").check()
    start = date.today() + timedelta(days=3)
    await page.get_by_label("Date of the first payment").fill(start.isoformat())
    await page.get_by_label("Test card (sandbox)").select_option("pm_card_visa")
    await page.steps.shot("plan-form")
    await page.get_by_role("button", name="Preview the schedule").click()

    expected = [
        (1, start, 3_334),
        (2, start + timedelta(weeks=2), 3_334),
        (3, start + timedelta(weeks=4), 3_333),
    ]
    rows = page.get_by_role("table").get_by_role("row")
    for number, due, amount in expected:
        await expect(rows.nth(number).get_by_role("cell")).to_have_text(
            [str(number), _long(due), dollars(amount)]
        )
    await page.steps.shot("plan-preview")
    await page.get_by_role("button", name="Accept this plan").click()
    await expect(page.get_by_role("status")).to_contain_text("active")
    await page.steps.shot("plan-accepted")

    plan_id = page.url.rsplit("/", 1)[1]
    plan = staff.get(f"{suite.payments_api.url}/v1/payment-plans/{plan_id}").json()
    assert [
        (i["number"], date.fromisoformat(i["due_date"]), i["amount"]) for i in plan["installments"]
    ] == expected
    assert plan["invoice_ids"] == [invoice["id"]] and plan["interval"] == "biweekly"

    await page.get_by_role("link", name="Plan").click()
    await expect(page.get_by_role("region", name="Your payment plan")).to_contain_text(
        f"{dollars(10_001)} in 3 payments"
    )


async def test_autopay_shows_its_next_charge_date_and_turns_off(suite, staff, db, phone):
    family = open_family(suite, staff, "Toni Berg", ("Eden Berg", "2015-05-05"))
    issue(suite, staff, family, "Eden Berg", ("Speech therapy", "2026-11-12", 1, 7_000))
    await settled(suite, staff, db, family)
    page = phone
    await _sign_in(page, link_for(suite, staff.clinic_id, family.account_id))

    await page.get_by_role("link", name="Autopay").click()
    await expect(page.get_by_role("heading", name="Autopay is off")).to_be_visible()
    await page.get_by_label("Day of the week").select_option("thursday")
    await page.get_by_label("Test card (sandbox)").select_option("pm_card_mastercard")
    await page.get_by_role("button", name="Turn on autopay").click()
    await expect(page.get_by_role("heading", name="Autopay is on")).to_be_visible()
    await page.steps.shot("autopay-on")

    mandates = await db.fetch(
        "SELECT arrangement_id FROM portal.arrangements WHERE account_id = $1 AND kind = 'autopay'",
        family.account_id,
    )
    mandate = staff.get(f"{suite.payments_api.url}/v1/autopay/{mandates[0][0]}").json()
    assert mandate["weekday"] == "thursday" and mandate["status"] == "enabled"
    first = date.fromisoformat(mandate["first_charge_on"])
    await expect(page.get_by_test_id("next-charge")).to_have_text(_long(first))
    await expect(page.get_by_role("main")).to_contain_text("Mastercard ending 4444")

    await page.reload()
    await expect(page.get_by_role("heading", name="Autopay is on")).to_be_visible()
    await page.get_by_role("button", name="Turn off autopay").click()
    await expect(page.get_by_role("heading", name="Autopay is off")).to_be_visible()
    await page.steps.shot("autopay-off")
    mandate = staff.get(f"{suite.payments_api.url}/v1/autopay/{mandates[0][0]}").json()
    assert mandate["status"] == "disabled"
    assert ledger_balance(suite, staff, family.account_id) == 7_000, "turning it on charges nothing"


async def test_the_statement_shows_what_the_ledger_answers(suite, staff, db, phone):
    family = open_family(suite, staff, "Noel Frey", ("Ines Frey", "2014-04-04"))
    issue(suite, staff, family, "Ines Frey", ("OT session", "2026-11-13", 1, 5_500))
    await settled(suite, staff, db, family)
    page = phone
    await _sign_in(page, link_for(suite, staff.clinic_id, family.account_id))

    today = date.today()
    ledger = staff.get(
        f"{suite.ledger_api.url}/v1/accounts/{family.account_id}/statement",
        params={"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()},
    )
    await page.get_by_role("link", name="Statement").click()
    await page.get_by_label("From", exact=True).fill((today - timedelta(days=7)).isoformat())
    await page.get_by_label("To", exact=True).fill(today.isoformat())
    await page.get_by_role("button", name="Show statement").click()
    await page.steps.shot("statement")
    assert ledger.status_code == 200, ledger.text
    statement = ledger.json()
    assert statement["closing_balance"] == 5_500
    await expect(page.get_by_test_id("closing-balance")).to_have_text(dollars(5_500))
    await expect(page.get_by_role("table")).to_contain_text(dollars(5_500))
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download this statement (CSV)").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".csv")
    saved = page.steps.folder / download.suggested_filename
    await download.save_as(saved)
    assert "5500" in saved.read_text() or "55.00" in saved.read_text()
