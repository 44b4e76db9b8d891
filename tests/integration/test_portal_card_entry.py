"""With Stripe configured, a new card is typed into Stripe Elements in the browser and only
the PaymentMethod id Stripe returns reaches the portal: no page has a card number field."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from clinicpay.embedded import free_port
from tests.integration.harness import ServiceProcess
from tests.integration.portal_support import (
    GUARANTOR_DOB,
    dollars,
    issue,
    link_for,
    open_family,
    settled,
)


async def test_with_stripe_the_card_goes_to_stripe_and_only_its_token_to_the_portal(
    suite, staff, db, phone, workdir
):
    port = free_port()
    env = {
        **suite.env,
        "PORTAL_PORT": str(port),
        "PAYMENTS_GATEWAY": "stripe",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_clinicpay_portal",
    }
    portal = ServiceProcess("portal-stripe", ["portal", "serve"], env, workdir, port).start()
    try:
        family = open_family(suite, staff, "Lane Ortiz", ("Bea Ortiz", "2017-03-17"))
        issue(suite, staff, family, "Bea Ortiz", ("Speech therapy", "2026-11-21", 1, 6_500))
        await settled(suite, staff, db, family)
        page = phone
        stripe_js = []
        # No network here: Stripe.js is not loaded, so the test plays its part below.
        await page.route(
            "https://js.stripe.com/**", lambda r: stripe_js.append(r.request.url) or r.abort()
        )

        link = link_for(suite, staff.clinic_id, family.account_id).replace(
            suite.portal.url, portal.url
        )
        await page.goto(link)
        await page.get_by_label("Date of birth").fill(GUARANTOR_DOB)
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("link", name="Pay balance").click()
        response = await page.reload()
        assert "https://js.stripe.com" in response.headers["content-security-policy"]
        assert stripe_js, "the pay page loads Stripe.js"
        await expect(page.get_by_role("group", name="Card details")).to_be_attached()
        await expect(page.get_by_label("Test card (sandbox)")).to_have_count(0)
        visible_inputs = await page.locator("input:not([type=hidden]), select").evaluate_all(
            "els => els.map(e => e.name)"
        )
        assert set(visible_inputs) <= {"amount_choice", "other_amount", "card", "when", "pay_on"}
        await page.steps.shot("stripe-card-form")

        # What Stripe.js does on submit: put the PaymentMethod id in the form.
        await page.locator("#new_card_token").evaluate("e => e.value = 'pm_card_visa'")
        await page.get_by_role("button", name="Pay").click()
        await expect(page.get_by_test_id("receipt-amount")).to_have_text(dollars(6_500))
        await page.steps.shot("stripe-receipt")
        assert uuid.UUID(page.url.rsplit("/", 1)[1])
    finally:
        portal.stop()
