"""Every refused request gets a clear problem response and records nothing."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from tests.integration.harness import StaffClient
from tests.integration.test_walking_skeleton import draft_body, open_account

PROBLEM = "application/problem+json"


@pytest.fixture
async def recorded_events(db):
    async def count() -> int:
        return await db.fetchval("SELECT count(*) FROM invoicing.invoicing_events")

    return count


def _line(**overrides):
    line = {
        "description": "Session",
        "service_date": "2026-11-20",
        "quantity": 1,
        "unit_amount": 100,
    }
    line.update(overrides)
    return line


def _body(account=None, **overrides):
    body = draft_body(account or uuid.uuid4(), (1, 100))
    body.update(overrides)
    return body


MALFORMED_BODIES = {
    "negative amount": _body(lines=[_line(unit_amount=-1)]),
    "fractional amount": _body(lines=[_line(unit_amount=12.5)]),
    "amount as string": _body(lines=[_line(unit_amount="1200")]),
    "zero quantity": _body(lines=[_line(quantity=0)]),
    "no lines": _body(lines=[]),
    "unknown field": _body(discount=5),
    "lowercase currency": _body(currency="usd"),
    "account id not a uuid": _body(account_id="42"),
    "missing lines": {k: v for k, v in _body().items() if k != "lines"},
    "impossible date": _body(due_date="2026-02-30"),
    "amount too large": _body(lines=[_line(unit_amount=10**15)]),
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
async def test_malformed_drafts_are_422_and_record_nothing(suite, staff, recorded_events, body):
    before = await recorded_events()
    response = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/invalid-request")
    assert await recorded_events() == before


async def test_a_body_that_is_not_json_is_422(suite, staff, recorded_events):
    before = await recorded_events()
    response = staff.post(
        f"{suite.invoicing_api.url}/v1/invoices",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert await recorded_events() == before


async def test_an_oversized_body_is_413(suite, staff, recorded_events):
    before = await recorded_events()
    huge = _body(lines=[_line(description="x" * 500)] * 1000)
    response = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await recorded_events() == before


def _token_with(secret: str, **claims) -> str:
    now = int(time.time())
    payload = {
        "sub": "x",
        "clinic_id": str(uuid.uuid4()),
        "roles": ["billing"],
        "aud": "clinicpay",
        "iat": now,
        "exp": now + 60,
    }
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
        f"Bearer {_token_with('some-other-secret')}",
    ],
    ids=["missing", "garbage", "basic", "wrong-secret"],
)
async def test_requests_without_a_valid_token_are_401(suite, recorded_events, authorization):
    before = await recorded_events()
    headers = {"Authorization": authorization} if authorization else {}
    for url in (
        f"{suite.invoicing_api.url}/v1/invoices/{uuid.uuid4()}",
        f"{suite.ledger_api.url}/v1/accounts/{uuid.uuid4()}/balance",
    ):
        assert httpx.get(url, headers=headers).status_code == 401
    response = httpx.post(f"{suite.invoicing_api.url}/v1/invoices", json=_body(), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert await recorded_events() == before


async def test_an_expired_token_is_401(suite):
    from tests.integration.harness import TEST_JWT_SECRET

    expired = _token_with(TEST_JWT_SECRET, exp=int(time.time()) - 10)
    response = httpx.get(
        f"{suite.invoicing_api.url}/v1/invoices/{uuid.uuid4()}",
        headers={"Authorization": f"Bearer {expired}"},
    )
    assert response.status_code == 401


async def test_a_role_without_billing_rights_cannot_write(suite, codec, clinic_id, recorded_events):
    before = await recorded_events()
    finance = StaffClient(codec, clinic_id, ["finance"])
    response = finance.post(f"{suite.invoicing_api.url}/v1/invoices", json=_body())
    assert response.status_code == 403
    assert await recorded_events() == before


async def test_an_unknown_invoice_is_404(suite, staff):
    for response in (
        staff.get(f"{suite.invoicing_api.url}/v1/invoices/{uuid.uuid4()}"),
        staff.post(f"{suite.invoicing_api.url}/v1/invoices/{uuid.uuid4()}/issue"),
    ):
        assert response.status_code == 404
        assert response.json()["type"].endswith("/invoice-not-found")


async def test_an_id_that_is_not_a_uuid_is_422(suite, staff):
    assert staff.get(f"{suite.invoicing_api.url}/v1/invoices/42").status_code == 422


async def test_another_clinics_invoice_and_balance_are_404_not_403(
    suite, staff, other_clinic_staff, recorded_events
):
    from tests.integration.harness import eventually

    account = open_account(suite, staff)
    account_id = account.id
    draft = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=draft_body(account, (1, 900)))
    invoice_id = draft.json()["id"]
    assert (
        staff.post(f"{suite.invoicing_api.url}/v1/invoices/{invoice_id}/issue").status_code == 200
    )

    async def balance_known():
        response = staff.get(f"{suite.ledger_api.url}/v1/accounts/{account_id}/balance")
        return response.status_code == 200

    assert await eventually(balance_known)
    before = await recorded_events()
    assert (
        other_clinic_staff.get(f"{suite.invoicing_api.url}/v1/invoices/{invoice_id}").status_code
        == 404
    )
    assert (
        other_clinic_staff.post(
            f"{suite.invoicing_api.url}/v1/invoices/{invoice_id}/issue"
        ).status_code
        == 404
    )
    assert (
        other_clinic_staff.get(
            f"{suite.ledger_api.url}/v1/accounts/{account_id}/balance"
        ).status_code
        == 404
    )
    assert await recorded_events() == before


async def test_issuing_twice_is_409_and_records_nothing_more(suite, staff, recorded_events):
    account = open_account(suite, staff)
    draft = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=_body(account))
    url = f"{suite.invoicing_api.url}/v1/invoices/{draft.json()['id']}/issue"
    assert staff.post(url).status_code == 200
    before = await recorded_events()
    again = staff.post(url)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/invoice-not-draft")
    assert await recorded_events() == before


async def test_a_due_date_before_the_issue_date_is_refused_at_issue(suite, staff, recorded_events):
    account = open_account(suite, staff)
    draft = staff.post(
        f"{suite.invoicing_api.url}/v1/invoices", json=_body(account, due_date="2020-01-01")
    )
    before = await recorded_events()
    response = staff.post(f"{suite.invoicing_api.url}/v1/invoices/{draft.json()['id']}/issue")
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-invoice")
    assert await recorded_events() == before


async def test_reads_of_a_patients_records_are_in_the_access_log_even_when_refused(
    suite, staff, other_clinic_staff, db
):
    account = open_account(suite, staff)
    draft = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=_body(account))
    invoice_id = draft.json()["id"]
    correlation_id = f"audit-{uuid.uuid4().hex[:8]}"
    mine = staff.get(
        f"{suite.invoicing_api.url}/v1/invoices/{invoice_id}",
        headers={"X-Correlation-Id": correlation_id},
    )
    theirs = other_clinic_staff.get(f"{suite.invoicing_api.url}/v1/invoices/{invoice_id}")
    assert (mine.status_code, theirs.status_code) == (200, 404)
    rows = await db.fetch(
        """SELECT actor, clinic_id, action, outcome, correlation_id, client_ip
           FROM invoicing.access_log
           WHERE record_type = 'invoice' AND record_id = $1 AND action = 'read'
           ORDER BY id""",
        invoice_id,
    )
    assert [(r["clinic_id"], r["action"], r["outcome"]) for r in rows] == [
        (staff.clinic_id, "read", "allowed"),
        (other_clinic_staff.clinic_id, "read", "not_found"),
    ]
    assert rows[0]["correlation_id"] == correlation_id
    assert rows[0]["client_ip"] == "127.0.0.1"
    assert rows[0]["actor"].startswith("staff-")
