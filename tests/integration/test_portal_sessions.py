"""The portal's door: single-use links, a rate-limited date-of-birth check that never tells
whether an account exists, session cookies, CSRF and the idle timeout. Plain HTTP."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from auth import LinkCodec
from tests.integration.portal_support import (
    GUARANTOR_DOB,
    csrf_of,
    issue,
    link_for,
    open_family,
    pay_by_form,
    settled,
    signed_in_client,
)


def _try_date(client: httpx.Client, link: str, date_of_birth: str) -> httpx.Response:
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post(
        link.split("/l/")[0] + "/verify",
        data={"csrf_token": csrf_of(page.text), "date_of_birth": date_of_birth},
    )


def _alert(html: str) -> str:
    start = html.index('role="alert"')
    return html[start : html.index("</div>", start)]


def test_five_wrong_answers_start_a_cool_down_even_for_the_right_one(suite, staff):
    family = open_family(suite, staff, "Dana Wolfe", ("Lee Wolfe", "2015-09-09"))
    link = link_for(suite, staff.clinic_id, family.account_id)
    with httpx.Client(timeout=20) as client:
        for _ in range(4):
            answer = _try_date(client, link, "2000-01-01")
            assert answer.status_code == 422
            assert "could not confirm" in answer.text
        fifth = _try_date(client, link, "2000-01-01")
        assert fifth.status_code == 429 and "Too many attempts" in fifth.text
        right = _try_date(client, link, GUARANTOR_DOB)
        assert right.status_code == 429, "the right answer waits out the cool-down too"
        assert "portal_session" not in client.cookies
        # A fresh link for the same account does not reset the count.
        fresh = _try_date(client, link_for(suite, staff.clinic_id, family.account_id), "2015-09-09")
        assert fresh.status_code == 429


def test_an_unknown_account_reads_exactly_like_a_wrong_date_of_birth(suite, staff):
    family = open_family(suite, staff, "Pat Kim", ("Jo Kim", "2014-01-01"))
    with httpx.Client(timeout=20) as client:
        wrong = _try_date(client, link_for(suite, staff.clinic_id, family.account_id), "1999-09-09")
    with httpx.Client(timeout=20) as client:
        unknown = _try_date(client, link_for(suite, staff.clinic_id, uuid.uuid4()), "1999-09-09")
    assert wrong.status_code == unknown.status_code == 422
    assert _alert(wrong.text) == _alert(unknown.text)


def test_a_link_opens_one_session_and_expired_forged_or_used_links_open_none(suite, staff):
    family = open_family(suite, staff, "Sky Patel", ("Ash Patel", "2013-03-03"))
    link = link_for(suite, staff.clinic_id, family.account_id)
    client = signed_in_client(link)
    assert client.get(f"{suite.portal.url}/home").status_code == 200
    assert httpx.get(link).status_code == 410, "a used link opens nothing"

    expired = link_for(
        suite, staff.clinic_id, family.account_id, ttl_seconds=60, now=time.time() - 3600
    )
    forged_token = LinkCodec("not-the-portals-secret-but-long-enough-for-hs256").mint(
        clinic_id=staff.clinic_id, account_id=family.account_id
    )
    for refused in (expired, f"{suite.portal.url}/l/{forged_token}", f"{suite.portal.url}/l/x.y.z"):
        answer = httpx.get(refused)
        assert answer.status_code == 410
        assert "can no longer be used" in answer.text
        assert "portal_session" not in answer.cookies


def test_the_session_cookie_is_http_only_strict_and_not_secure_on_plain_http(suite, staff):
    family = open_family(suite, staff, "Rene Diaz", ("Noa Diaz", "2012-12-12"))
    link = link_for(suite, staff.clinic_id, family.account_id)
    with httpx.Client(timeout=20) as client:
        page = client.get(link)
        answer = client.post(
            f"{suite.portal.url}/verify",
            data={"csrf_token": csrf_of(page.text), "date_of_birth": GUARANTOR_DOB},
        )
        cookie = next(
            h for h in answer.headers.get_list("set-cookie") if h.startswith("portal_session=")
        )
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "samesite"} <= attributes
        assert "samesite=strict" in cookie.lower()
        assert "secure" not in attributes, "plain HTTP on the embedded default"
        assert client.get(f"{suite.portal.url}/home").status_code == 200


async def test_an_idle_session_ends_and_logout_ends_it_too(suite, staff, db):
    family = open_family(suite, staff, "Quinn Ito", ("Mika Ito", "2011-11-11"))
    client = signed_in_client(link_for(suite, staff.clinic_id, family.account_id))
    home = client.get(f"{suite.portal.url}/home")
    assert home.status_code == 200
    await db.execute(
        "UPDATE portal.sessions SET last_seen_at = now() - interval '16 minutes'"
        " WHERE account_id = $1",
        family.account_id,
    )
    expired = client.get(f"{suite.portal.url}/home")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/signed-out?reason=expired"
    assert client.get(f"{suite.portal.url}/home").status_code == 303, "it stays ended"

    again = signed_in_client(link_for(suite, staff.clinic_id, family.account_id))
    home = again.get(f"{suite.portal.url}/home")
    without_token = again.post(f"{suite.portal.url}/logout", data={})
    assert without_token.status_code == 403, "logging out needs the CSRF token too"
    out = again.post(f"{suite.portal.url}/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303
    again.cookies.clear()
    assert again.get(f"{suite.portal.url}/home").status_code == 303


async def test_forms_without_the_sessions_csrf_token_or_with_bad_amounts_charge_nothing(
    suite, staff, db
):
    family = open_family(suite, staff, "Kai Moreno", ("Lu Moreno", "2010-10-10"))
    issue(suite, staff, family, "Lu Moreno", ("Speech therapy", "2026-11-10", 1, 10_000))
    await settled(suite, staff, db, family)
    client = signed_in_client(link_for(suite, staff.clinic_id, family.account_id))
    form = client.get(f"{suite.portal.url}/pay").text
    fields = {
        "form_id": uuid.uuid4().hex,
        "amount_choice": "full",
        "card": "new",
        "new_card_token": "pm_card_visa",
        "when": "now",
    }
    assert client.post(f"{suite.portal.url}/pay", data=fields).status_code == 403
    forged = {**fields, "csrf_token": "x" * 43}
    assert client.post(f"{suite.portal.url}/pay", data=forged).status_code == 403
    signed = {**fields, "csrf_token": csrf_of(form), "amount_choice": "other"}
    for amount, message in (
        ("100.01", "more than you owe"),
        ("abc", "Enter an amount as a number"),
        ("0", "greater than zero"),
        ("1.001", "whole cents"),
    ):
        answer = client.post(f"{suite.portal.url}/pay", data={**signed, "other_amount": amount})
        assert answer.status_code == 422 and message in answer.text, amount
    late = {**signed, "other_amount": "5", "when": "later", "pay_on": "2020-01-01"}
    assert client.post(f"{suite.portal.url}/pay", data=late).status_code == 422
    payments = staff.get(f"{suite.payments_api.url}/v1/payments?account_id={family.account_id}")
    assert payments.json()["items"] == []


async def test_another_familys_receipts_and_invoices_are_not_found(suite, staff, db):
    first = open_family(suite, staff, "Eli Stone", ("Ari Stone", "2009-09-09"))
    invoice = issue(suite, staff, first, "Ari Stone", ("OT session", "2026-11-11", 1, 4_000))
    second = open_family(suite, staff, "Val Cruz", ("Bo Cruz", "2008-08-08"))
    await settled(suite, staff, db, first)
    paying = signed_in_client(link_for(suite, staff.clinic_id, first.account_id))
    paid = pay_by_form(paying, suite.portal.url)
    assert paid.status_code == 303, paid.text
    receipt = paid.headers["location"]

    other = signed_in_client(link_for(suite, staff.clinic_id, second.account_id))
    assert other.get(f"{suite.portal.url}{receipt}").status_code == 404
    assert other.get(f"{suite.portal.url}{receipt}/download").status_code == 404
    answer = pay_by_form(
        other,
        suite.portal.url,
        invoice_id=invoice["id"],
        amount_choice="other",
        other_amount="10",
    )
    assert answer.status_code == 404
    payments = staff.get(f"{suite.payments_api.url}/v1/payments?account_id={second.account_id}")
    assert payments.json()["items"] == []


def test_link_tokens_never_reach_the_portals_logs(suite, staff):
    family = open_family(suite, staff, "Ray Lund", ("Ola Lund", "2007-07-07"))
    link = link_for(suite, staff.clinic_id, family.account_id)
    signed_in_client(link)
    token = link.rsplit("/", 1)[1]
    lines = suite.portal.log_lines()
    assert lines and not [line for line in lines if token in line]
    requests = [json.loads(line) for line in lines if '"request"' in line]
    assert any(r.get("route") == "/l/{token}" for r in requests)


async def test_every_read_and_payment_is_traced_to_the_family_session(suite, staff, db):
    family = open_family(suite, staff, "Mo Greer", ("Liv Greer", "2006-06-06"))
    issue(suite, staff, family, "Liv Greer", ("Speech therapy", "2026-11-14", 1, 2_500))
    await settled(suite, staff, db, family)
    client = signed_in_client(link_for(suite, staff.clinic_id, family.account_id))
    paid = pay_by_form(client, suite.portal.url)
    payment_id = paid.headers["location"].rsplit("/", 1)[1]
    actors = await db.fetch(
        """SELECT DISTINCT actor, purpose FROM payments.access_log
           WHERE record_id = $1 AND action = 'change'""",
        payment_id,
    )
    assert [(a["actor"].split(":")[0], a["purpose"]) for a in actors] == [
        ("portal for guarantor-session", "patient portal")
    ]
    session = actors[0]["actor"].rsplit(":", 1)[1]
    assert (
        await db.fetchval("SELECT account_id FROM portal.sessions WHERE reference = $1", session)
        == family.account_id
    )
    reads = await db.fetchval(
        """SELECT count(*) FROM invoicing.access_log
           WHERE record_id = $1 AND purpose = 'patient portal'""",
        str(family.account_id),
    )
    assert reads > 0, "invoicing records the portal's reads of the account"
