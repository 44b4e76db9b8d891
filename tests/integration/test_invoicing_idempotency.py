"""Idempotency-Key on invoicing's writes: retries replay, a changed body is refused, and a
burst of concurrent requests with one key has one effect."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.integration.invoicing_api import (
    get_invoice,
    issued_invoice,
    new_key,
    open_account,
    recorded_events,
)
from tests.integration.test_walking_skeleton import ACCOUNT_BODY, draft_body


async def burst(url: str, headers: dict, body: dict | None, times: int = 20) -> list:
    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(
            *(client.post(url, json=body, headers=headers) for _ in range(times))
        )


async def test_a_retried_issue_replays_the_first_answer_and_uses_one_number(suite, staff, db):
    account = open_account(suite, staff)
    created = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=draft_body(account, (1, 1)))
    url = f"{suite.invoicing_api.url}/v1/invoices/{created.json()['id']}/issue"
    key = new_key()
    first = staff.post(url, headers=key)
    events = await recorded_events(db)
    retry = staff.post(url, headers=key)
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert await recorded_events(db) == events


async def test_a_retried_adjustment_credits_once(suite, staff, db):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    url = f"{suite.invoicing_api.url}/v1/invoices/{invoice['id']}/adjust"
    key = new_key()
    body = {"amount": 1_000, "reason": "courtesy"}
    assert staff.post(url, json=body, headers=key).status_code == 200
    assert staff.post(url, json=body, headers=key).status_code == 200
    assert get_invoice(suite, staff, invoice["id"])["amount_due"] == 9_000


async def test_the_same_key_with_a_different_amount_is_422_and_changes_nothing(suite, staff, db):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    url = f"{suite.invoicing_api.url}/v1/invoices/{invoice['id']}/adjust"
    key = new_key()
    assert staff.post(url, json={"amount": 1_000, "reason": "x"}, headers=key).status_code == 200
    events = await recorded_events(db)
    changed = staff.post(url, json={"amount": 5_000, "reason": "x"}, headers=key)
    assert changed.status_code == 422
    assert changed.json()["type"].endswith("/idempotency-key-reused")
    assert await recorded_events(db) == events
    assert get_invoice(suite, staff, invoice["id"])["amount_due"] == 9_000


async def test_twenty_concurrent_adjustments_with_one_key_credit_once(suite, staff):
    invoice = issued_invoice(suite, staff, None, (1, 10_000))
    url = f"{suite.invoicing_api.url}/v1/invoices/{invoice['id']}/adjust"
    responses = await burst(
        url, {**staff.headers, **new_key()}, {"amount": 700, "reason": "courtesy"}
    )
    assert {r.status_code for r in responses} == {200}
    assert len({str(r.json()["adjustments"]) for r in responses}) == 1
    assert get_invoice(suite, staff, invoice["id"])["amount_due"] == 9_300


async def test_twenty_concurrent_issues_with_one_key_assign_one_number(suite, staff):
    account = open_account(suite, staff)
    created = staff.post(f"{suite.invoicing_api.url}/v1/invoices", json=draft_body(account, (1, 1)))
    url = f"{suite.invoicing_api.url}/v1/invoices/{created.json()['id']}/issue"
    responses = await burst(url, {**staff.headers, **new_key()}, None)
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["number"] for r in responses}) == 1


async def test_twenty_concurrent_account_openings_with_one_key_open_one_account(suite, staff, db):
    url = f"{suite.invoicing_api.url}/v1/accounts"
    changes = """SELECT count(*) FROM invoicing.access_log
                 WHERE path = '/v1/accounts' AND action = $1"""
    before = await db.fetchval(changes, "change")
    responses = await burst(url, {**staff.headers, **new_key()}, ACCOUNT_BODY)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    opened = await db.fetchval(changes, "change")
    assert opened == before + 1  # the route ran once; the other answers were replays


async def test_a_replayed_answer_is_in_the_access_log_as_a_read_by_whoever_received_it(
    suite, staff, db
):
    url = f"{suite.invoicing_api.url}/v1/accounts"
    key = new_key()
    first = staff.post(url, json=ACCOUNT_BODY, headers=key)
    retry = staff.post(url, json=ACCOUNT_BODY, headers=key)
    assert retry.headers["idempotent-replayed"] == "true"
    rows = await db.fetch(
        """SELECT action, actor, outcome FROM invoicing.access_log
           WHERE record_type = 'billing_account' AND record_id = $1 ORDER BY id""",
        first.json()["id"],
    )
    logged = [(r["action"], r["outcome"]) for r in rows]
    assert logged == [("change", "allowed"), ("read", "allowed")]
    assert rows[1]["actor"] == rows[0]["actor"] != "anonymous"


def test_without_a_key_each_draft_is_a_new_draft(suite, staff):
    body = draft_body(open_account(suite, staff), (1, 1))
    url = f"{suite.invoicing_api.url}/v1/invoices"
    ids = {staff.post(url, json=body).json()["id"] for _ in range(2)}
    assert len(ids) == 2
    assert uuid.UUID(ids.pop())
