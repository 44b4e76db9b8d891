"""axe-core finds no serious or critical violation on any patient page, and every page can
be worked with the keyboard alone on a phone-sized screen."""

from __future__ import annotations

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import expect

from tests.integration.portal_support import (
    GUARANTOR_DOB,
    issue,
    link_for,
    open_family,
    settled,
)

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


async def _serious_violations(page) -> list[str]:
    await page.wait_for_load_state("load")
    results = await Axe().run(page, options={**WCAG, "resultTypes": ["violations"]})
    assert results.response["testEngine"]["name"] == "axe-core"
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_no_page_has_a_serious_accessibility_violation(suite, staff, db, phone):
    family = open_family(suite, staff, "Wren Cole", ("Ezra Cole", "2017-07-07"))
    issue(suite, staff, family, "Ezra Cole", ("Speech therapy", "2026-11-17", 2, 4_500))
    await settled(suite, staff, db, family)
    page = phone
    found: list[str] = []

    await page.goto(f"{suite.portal.url}/l/not-a-link")
    found += await _serious_violations(page)
    await page.goto(link_for(suite, staff.clinic_id, family.account_id))
    found += await _serious_violations(page)
    await page.get_by_label("Date of birth").fill("1999-12-31")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    found += await _serious_violations(page)
    await page.get_by_label("Date of birth").fill(GUARANTOR_DOB)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()

    for path in ("/home", "/pay", "/plan", "/autopay", "/statement"):
        await page.goto(f"{suite.portal.url}{path}")
        found += await _serious_violations(page)
    await page.goto(f"{suite.portal.url}/plan")
    await page.get_by_role("button", name="Preview the schedule").click()
    await expect(page.get_by_role("heading", name="Check your payment plan")).to_be_visible()
    found += await _serious_violations(page)
    await page.goto(f"{suite.portal.url}/pay")
    await page.get_by_label("Another amount").check()
    await page.get_by_label("Amount to pay (USD)").fill("1000")
    await page.get_by_role("button", name="Pay").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    found += await _serious_violations(page)
    await page.get_by_label("Amount to pay (USD)").fill("10")
    await page.get_by_role("button", name="Pay").click()
    await expect(page.get_by_role("status")).to_be_visible()
    found += await _serious_violations(page)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    found += await _serious_violations(page)
    assert found == []


async def test_a_family_can_pay_with_the_keyboard_alone(suite, staff, db, phone):
    family = open_family(suite, staff, "Sage Lin", ("Kit Lin", "2018-08-08"))
    issue(suite, staff, family, "Kit Lin", ("OT session", "2026-11-19", 1, 3_000))
    await settled(suite, staff, db, family)
    page = phone
    await page.goto(link_for(suite, staff.clinic_id, family.account_id))

    async def tab_to(name: str, limit: int = 40) -> None:
        for _ in range(limit):
            await page.keyboard.press("Tab")
            focused = await page.evaluate(
                "() => { const e = document.activeElement;"
                " return e.labels && e.labels.length ? e.labels[0].innerText"
                " : (e.getAttribute('aria-label') || e.innerText || ''); }"
            )
            if focused.strip().startswith(name):
                return
        raise AssertionError(f"{name!r} cannot be reached with the Tab key")

    await tab_to("Skip to main content")
    await tab_to("Date of birth")
    await page.keyboard.type("03021984")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await tab_to("Pay invoice")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Pay invoice")).to_be_visible()
    await tab_to("Test card (sandbox)")
    await tab_to("Pay")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("was received")
    await page.steps.shot("paid-with-keyboard")
    outline = await page.evaluate(
        "() => { document.querySelector('a.button').focus();"
        " return getComputedStyle(document.activeElement).outlineStyle; }"
    )
    assert outline != "none", "focus is visible"


async def test_no_staff_page_has_a_serious_accessibility_violation(suite, staff, db, phone):
    family = open_family(suite, staff, "Remy Fox", ("Ori Fox", "2016-06-16"))
    invoice = issue(suite, staff, family, "Ori Fox", ("Speech therapy", "2026-11-20", 1, 6_000))
    await settled(suite, staff, db, family)
    page = phone
    found: list[str] = []

    await page.goto(f"{suite.portal.url}/staff/sign-in")
    found += await _serious_violations(page)
    await page.get_by_label("Staff token").fill(staff.token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    found += await _serious_violations(page)
    for path in (
        "/staff/invoices?status=issued&overdue=1",
        f"/staff/invoices/{invoice['id']}",
        f"/staff/accounts/{family.account_id}",
    ):
        await page.goto(f"{suite.portal.url}{path}")
        found += await _serious_violations(page)
    await page.goto(f"{suite.portal.url}/staff/invoices/{invoice['id']}")
    await page.get_by_role("button", name="Void…").click()
    await expect(page.get_by_role("heading", name="Void invoice?")).to_be_visible()
    found += await _serious_violations(page)
    assert found == []
