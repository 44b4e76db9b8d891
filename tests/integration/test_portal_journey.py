"""A family pays its bill in a real browser on a phone-sized screen: from the link in the
notice reminders sent, through the date-of-birth check, to a receipt and a zero balance read
from the ledger."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.integration.harness import eventually
from tests.integration.portal_support import (
    GUARANTOR_DOB,
    dollars,
    issue,
    ledger_balance,
    link_for,
    link_from_mailbox,
    open_family,
    settled,
)


async def _sign_in(page, link: str, date_of_birth: str = GUARANTOR_DOB) -> None:
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    await page.get_by_label("Date of birth").fill(date_of_birth)
    await page.get_by_role("button", name="Continue").click()


async def test_a_parent_pays_an_invoice_and_sees_a_receipt_and_a_zero_balance(
    suite, staff, db, phone
):
    family = open_family(suite, staff, "Morgan Rivera", ("Avery Rivera", "2018-05-09"))
    invoice = issue(
        suite,
        staff,
        family,
        "Avery Rivera",
        ("Speech therapy, 45 min", "2026-11-16", 1, 9_500),
        ("Speech therapy, 45 min", "2026-11-23", 1, 9_500),
    )
    await settled(suite, staff, db, family)
    page = phone

    await page.goto(await link_from_mailbox(suite, staff, db, family, invoice))
    await page.steps.shot("link-opened")
    await page.get_by_label("Date of birth").fill("1990-01-01")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("alert")).to_contain_text("could not confirm")
    await page.steps.shot("wrong-date-of-birth")

    # Keyboard only from here to the account page.
    await page.get_by_label("Date of birth").focus()
    await page.keyboard.type("03021984")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await expect(page.get_by_test_id("balance")).to_have_text(dollars(19_000))
    invoice_card = page.get_by_role("article").filter(has_text=invoice["number"])
    await expect(invoice_card).to_contain_text("Nov 16, 2026")
    await expect(invoice_card).to_contain_text("Nov 23, 2026")
    await expect(invoice_card).to_contain_text("Speech therapy, 45 min")
    await expect(invoice_card).to_contain_text(dollars(9_500))
    await page.steps.shot("home-with-balance")

    await page.get_by_role("link", name=f"Pay invoice {invoice['number']}").click()
    await expect(page.get_by_label(re.compile("Full balance"))).to_be_checked()
    await expect(page.get_by_label("A new card")).to_be_checked()
    await page.get_by_label("Test card (sandbox)").select_option("pm_card_visa")
    await page.steps.shot("pay-form")
    await page.get_by_role("button", name="Pay").focus()
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("status")).to_contain_text("was received")
    await expect(page.get_by_test_id("receipt-amount")).to_have_text(dollars(19_000))
    await expect(page.get_by_test_id("receipt-status")).to_have_text("Paid")
    await expect(page.get_by_role("main")).to_contain_text(f"Invoice {invoice['number']}")
    await page.steps.shot("receipt")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download receipt").click()
    download = await download_info.value
    saved = page.steps.folder / download.suggested_filename
    await download.save_as(saved)
    text = saved.read_text()
    assert dollars(19_000) in text and invoice["number"] in text and "Visa ending 4242" in text

    async def zero_after_reload():
        await page.goto(page.url.split("/receipts")[0] + "/home")
        return await page.get_by_test_id("balance").text_content() == dollars(0)

    assert await eventually(zero_after_reload, timeout=30)
    assert ledger_balance(suite, staff, family.account_id) == 0
    await expect(page.get_by_role("region", name="Payment history")).to_contain_text("Paid")
    await page.steps.shot("home-after-paying")


async def test_a_declined_card_says_so_and_leaves_the_balance_unchanged(suite, staff, db, phone):
    family = open_family(suite, staff, "Casey Nguyen", ("Jamie Nguyen", "2017-02-11"))
    issue(suite, staff, family, "Jamie Nguyen", ("ABA session", "2026-11-18", 2, 6_000))
    await settled(suite, staff, db, family)
    page = phone

    await _sign_in(page, link_for(suite, staff.clinic_id, family.account_id))
    await expect(page.get_by_test_id("balance")).to_have_text(dollars(12_000))
    await page.get_by_role("link", name="Pay balance").click()
    await page.get_by_label("Another amount").check()
    await page.get_by_label("Amount to pay (USD)").fill("50.00")
    await page.get_by_label("Test card (sandbox)").select_option("pm_card_chargeCustomerFail")
    await page.get_by_role("button", name="Pay").click()

    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Your card was declined")
    await expect(alert).to_contain_text("Nothing was charged")
    await page.steps.shot("declined")

    await page.goto(page.url.replace("/pay", "/home"))
    await expect(page.get_by_test_id("balance")).to_have_text(dollars(12_000))
    await expect(page.get_by_role("region", name="Payment history")).to_contain_text("Declined")
    await page.steps.shot("home-unchanged")
    assert ledger_balance(suite, staff, family.account_id) == 12_000


async def test_a_second_familys_link_shows_only_that_familys_bill(suite, staff, db, phone):
    first = open_family(suite, staff, "Robin Okafor", ("Sam Okafor", "2019-07-14"))
    first_invoice = issue(
        suite, staff, first, "Sam Okafor", ("OT evaluation", "2026-11-02", 1, 22_000)
    )
    second = open_family(suite, staff, "Alex Brandt", ("Kim Brandt", "2016-04-30"))
    second_invoice = issue(
        suite, staff, second, "Kim Brandt", ("Speech therapy", "2026-11-05", 1, 8_000)
    )
    await settled(suite, staff, db, first)
    await settled(suite, staff, db, second)
    page = phone

    await _sign_in(page, link_for(suite, staff.clinic_id, second.account_id), "2016-04-30")
    await expect(page.get_by_test_id("balance")).to_have_text(dollars(8_000))
    main = page.get_by_role("main")
    await expect(main).to_contain_text(second_invoice["number"])
    await expect(main).to_contain_text("Kim Brandt")
    await expect(main).not_to_contain_text(first_invoice["number"])
    await expect(main).not_to_contain_text("Okafor")
    await page.steps.shot("second-family-home")

    # The first family's invoice, asked for by id, is not there to pay.
    await page.goto(f"{suite.portal.url}/pay?invoice={first_invoice['id']}")
    await expect(page.get_by_role("main")).not_to_contain_text(first_invoice["number"])
    await expect(page.get_by_label(f"Full balance: {dollars(8_000)}")).to_be_checked()
    await page.steps.shot("other-invoice-not-offered")
    assert ledger_balance(suite, staff, first.account_id) == 22_000
