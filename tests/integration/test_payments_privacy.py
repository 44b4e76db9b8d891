"""Who may see a patient's payments, what the access log records, and that no card number is
kept anywhere: no table, no event, no log line."""

from __future__ import annotations

import uuid

import httpx

from tests.integration import stripe_support
from tests.integration.harness import StaffClient, read_topic
from tests.integration.payments_support import new_account, open_invoice, pay, post, save_card

stripe_payments = stripe_support.stripe_payments  # the session's Stripe-configured deployment

# Every card number the tests hand to localstripe (as Stripe.js would) or send by mistake.
TEST_CARDS = (
    "4242424242424242",
    "4000000000000341",
    "4000000000000002",
    "4000000000009995",
    "5555555555554444",
)


def card_numbers_in(text: str) -> set[str]:
    return {number for number in TEST_CARDS if number in text}


async def every_stored_value(db) -> str:
    tables = await db.fetch(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
             AND table_type = 'BASE TABLE'"""
    )
    chunks = []
    for table in tables:
        rows = await db.fetch(f'SELECT * FROM "{table["table_schema"]}"."{table["table_name"]}"')
        for row in rows:
            for value in row.values():
                chunks.append(
                    value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                )
    return "\n".join(chunks)


async def test_no_table_event_or_log_line_holds_a_card_number(
    suite, stripe_payments, staff, db, workdir
):
    account = new_account(suite, staff)
    await open_invoice(suite, staff, db, account, 2_500, schema=stripe_support.SCHEMA)
    for number in TEST_CARDS:
        token = stripe_payments.tokenize(number)
        saved = post(
            staff,
            f"{stripe_payments.url}/v1/payment-methods",
            {"account_id": str(account), "token": token},
        )
        if saved.status_code == 201:
            pay(stripe_payments.url, staff, account, saved.json()["id"], 2_500)
    for url in (stripe_payments.url, suite.payments_api.url):  # a careless client sends a PAN
        refused = post(
            staff, f"{url}/v1/payment-methods", {"account_id": str(account), "token": TEST_CARDS[0]}
        )
        assert refused.status_code == 422
        assert TEST_CARDS[0] not in refused.text

    assert card_numbers_in(await every_stored_value(db)) == set()
    for topic in ("clinicpay.payments.v1", "clinicpay.invoicing.v1", "clinicpay.reminders.v1"):
        records = await read_topic(suite.infra.bootstrap_servers, topic)
        assert card_numbers_in("\n".join(r.value.decode() for r in records)) == set(), topic
    for log in workdir.glob("*.log"):
        if log.name != "localstripe.log":  # the gateway's own log: it is the one that holds cards
            assert card_numbers_in(log.read_text(errors="replace")) == set(), log.name


async def test_another_clinics_payments_plans_and_cards_are_404(
    suite, staff, other_clinic_staff, db
):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    payment = pay(suite.payments_api.url, staff, account, card["id"], 1_000).json()
    url = suite.payments_api.url
    assert other_clinic_staff.get(f"{url}/v1/payments/{payment['id']}").status_code == 404
    refund = post(
        other_clinic_staff,
        f"{url}/v1/payments/{payment['id']}/refunds",
        {"amount": 1, "reason": "other"},
    )
    assert refund.status_code == 404
    theirs = other_clinic_staff.get(
        f"{url}/v1/payment-methods", params={"account_id": str(account)}
    )
    assert theirs.json()["items"] == []
    paid_by_them = pay(url, other_clinic_staff, account, card["id"], 1_000)
    assert paid_by_them.status_code == 404
    removal = httpx.delete(
        f"{url}/v1/payment-methods/{card['id']}", headers=other_clinic_staff.headers
    )
    assert removal.status_code == 404
    assert staff.get(f"{url}/v1/payments/{payment['id']}").json()["refunded_amount"] == 0

    outcomes = await db.fetch(
        """SELECT actor, outcome, action FROM payments.access_log
           WHERE record_type = 'payment' AND record_id = $1 ORDER BY id""",
        payment["id"],
    )
    assert [(r["action"], r["outcome"]) for r in outcomes] == [
        ("change", "allowed"),
        ("read", "not_found"),
        ("change", "not_found"),
        ("read", "allowed"),
    ]


async def test_the_portal_pays_with_a_service_token_and_the_log_names_the_patient_session(
    suite, codec, clinic_id, db
):
    portal = StaffClient(codec, clinic_id, ["service"])
    account = uuid.uuid4()
    session = f"guarantor-session:{uuid.uuid4().hex[:12]}"
    acting = {"X-Acting-For": session}
    card = post(
        portal,
        f"{suite.payments_api.url}/v1/payment-methods",
        {"account_id": str(account), "token": "pm_card_visa"},
        headers=acting,
    )
    assert card.status_code == 201, card.text
    response = post(
        portal,
        f"{suite.payments_api.url}/v1/payments",
        {
            "account_id": str(account),
            "amount": 500,
            "currency": "USD",
            "payment_method_id": card.json()["id"],
        },
        headers=acting,
    )
    assert response.status_code == 201, response.text
    actors = await db.fetch(
        "SELECT DISTINCT actor FROM payments.access_log WHERE record_id = $1", response.json()["id"]
    )
    assert len(actors) == 1
    assert actors[0]["actor"].endswith(f" for {session}")


async def test_finance_can_read_payments_but_not_pay(suite, staff, codec, clinic_id):
    finance = StaffClient(codec, clinic_id, ["finance"])
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    payment = pay(suite.payments_api.url, staff, account, card["id"], 300).json()
    assert finance.get(f"{suite.payments_api.url}/v1/payments/{payment['id']}").status_code == 200
    assert pay(suite.payments_api.url, finance, account, card["id"], 300).status_code == 403
    listed = finance.get(
        f"{suite.payments_api.url}/v1/payments", params={"account_id": str(account)}
    )
    assert [p["id"] for p in listed.json()["items"]] == [payment["id"]]
