"""`make run` seeds a demo clinic through the services' APIs and the portal's own pages, and
prints a parent's link that works; a second run finds the clinic and seeds nothing twice."""

from __future__ import annotations

from clinicpay.demo import PARENT, seed
from clinicpay.suite import DEMO_CLINIC_ID
from tests.integration.harness import StaffClient
from tests.integration.portal_support import signed_in_client


async def test_the_demo_clinic_has_a_family_of_three_every_invoice_state_a_plan_and_autopay(
    suite, codec, db
):
    link = seed(suite.env)
    assert link.startswith(f"{suite.portal.url}/l/")
    staff = StaffClient(codec, DEMO_CLINIC_ID, ["billing", "finance"])
    invoices = staff.get(f"{suite.invoicing_api.url}/v1/invoices", params={"limit": 100}).json()
    assert {i["status"] for i in invoices["data"]} == {
        "draft",
        "issued",
        "partially_paid",
        "paid",
        "void",
        "written_off",
    }

    family = signed_in_client(link, PARENT["date_of_birth"])
    home = family.get(f"{suite.portal.url}/home").text
    assert "Riley Rivera" in home and "Sam Rivera" in home
    assert home.count("View receipt") == 2, "a paid invoice and a part payment"
    assert "Partly paid" in home

    arrangements = await db.fetch(
        "SELECT kind, arrangement_id FROM portal.arrangements WHERE clinic_id = $1",
        DEMO_CLINIC_ID,
    )
    kinds = {row["kind"]: row["arrangement_id"] for row in arrangements}
    plan = staff.get(f"{suite.payments_api.url}/v1/payment-plans/{kinds['plan']}").json()
    assert plan["status"] == "active" and len(plan["installments"]) == 3
    mandate = staff.get(f"{suite.payments_api.url}/v1/autopay/{kinds['autopay']}").json()
    assert mandate["status"] == "enabled" and mandate["weekday"] == "monday"

    again = seed(suite.env)
    assert again != link
    signed_in_client(again, "2019-07-14")  # a child's date of birth opens it too
    after = staff.get(f"{suite.invoicing_api.url}/v1/invoices", params={"limit": 100}).json()
    assert len(after["data"]) == len(invoices["data"])
