"""Every ledger endpoint answers malformed, out-of-range and unauthorised requests with a
clear problem+json 4xx."""

from __future__ import annotations

import uuid

import httpx
import pytest

ACCOUNT = uuid.uuid4()
MALFORMED = [
    "/v1/accounts/not-a-uuid/balance",
    f"/v1/accounts/{ACCOUNT}/statement?from=2026-13-01&to=2026-12-01",
    f"/v1/accounts/{ACCOUNT}/statement?from=2026-11-01",
    f"/v1/accounts/{ACCOUNT}/statement?from=2026-11-30&to=2026-11-01",
    f"/v1/accounts/{ACCOUNT}/statement?from=2026-11-01&to=2026-11-30&format=xml",
    "/v1/trial-balance?as_of=yesterday",
    "/v1/reports/aging?as_of=2026-02-30",
    "/v1/audit/events?limit=0",
    "/v1/audit/events?limit=501",
    "/v1/audit/events?account_id=nope",
    "/v1/audit/events?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
    "/v1/audit/events?subject=" + "x" * 201,
]
ENDPOINTS = [
    f"/v1/accounts/{ACCOUNT}/balance",
    f"/v1/accounts/{ACCOUNT}/statement?from=2026-11-01&to=2026-11-30",
    "/v1/trial-balance",
    "/v1/reports/aging",
    "/v1/audit/verify",
    "/v1/audit/head",
    "/v1/audit/events",
]


def problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


@pytest.mark.parametrize("path", MALFORMED)
def test_a_malformed_request_is_a_422(suite, staff, path):
    problem(staff.get(f"{suite.ledger_api.url}{path}"), 422)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_token_is_a_401(suite, path):
    problem(httpx.get(f"{suite.ledger_api.url}{path}"), 401)


@pytest.mark.parametrize("path", ENDPOINTS[2:])
def test_finance_reports_need_a_finance_role(suite, codec, clinic_id, path):
    from tests.integration.harness import StaffClient

    billing = StaffClient(codec, clinic_id, ["billing"])
    problem(billing.get(f"{suite.ledger_api.url}{path}"), 403)


def test_an_unknown_starting_after_is_a_404(suite, staff):
    problem(staff.get(f"{suite.ledger_api.url}/v1/audit/events?starting_after={uuid.uuid4()}"), 404)
