"""Idempotency-Key on POST: one effect per key, the first answer replayed, reuse refused."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.integration.test_walking_skeleton import ACCOUNT_BODY, draft_body, open_account


async def count_drafts(db) -> int:
    """Every invoice ever drafted: each one's first recorded event."""
    return await db.fetchval(
        "SELECT count(*) FROM invoicing.invoicing_events WHERE originator_version = 1"
    )


async def test_a_retry_with_the_same_key_replays_the_first_answer(suite, staff, db):
    url = f"{suite.invoicing_api.url}/v1/invoices"
    body = draft_body(open_account(suite, staff), (1, 4_200))
    key = {"Idempotency-Key": f"draft-{uuid.uuid4()}"}
    before = await count_drafts(db)
    first = staff.post(url, json=body, headers=key)
    retry = staff.post(url, json=body, headers=key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert await count_drafts(db) == before + 1


async def test_the_same_key_with_a_different_body_is_422_and_changes_nothing(suite, staff, db):
    url = f"{suite.invoicing_api.url}/v1/invoices"
    key = {"Idempotency-Key": f"draft-{uuid.uuid4()}"}
    account = open_account(suite, staff)
    assert staff.post(url, json=draft_body(account, (1, 100)), headers=key).status_code == 201
    before = await count_drafts(db)
    changed = staff.post(url, json=draft_body(account, (1, 999)), headers=key)
    assert changed.status_code == 422
    assert changed.json()["type"].endswith("/idempotency-key-reused")
    assert await count_drafts(db) == before


async def test_keys_are_scoped_to_the_callers_clinic(suite, staff, other_clinic_staff):
    url = f"{suite.invoicing_api.url}/v1/accounts"
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    mine = staff.post(url, json=ACCOUNT_BODY, headers=key)
    theirs = other_clinic_staff.post(url, json=ACCOUNT_BODY, headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


async def test_twenty_concurrent_requests_with_one_key_make_one_invoice(suite, staff, db):
    url = f"{suite.invoicing_api.url}/v1/invoices"
    body = draft_body(open_account(suite, staff), (1, 777))
    headers = {**staff.headers, "Idempotency-Key": f"burst-{uuid.uuid4()}"}
    before = await count_drafts(db)
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post(url, json=body, headers=headers) for _ in range(20))
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count_drafts(db) == before + 1


async def test_a_malformed_key_is_400(suite, staff):
    response = staff.post(
        f"{suite.invoicing_api.url}/v1/invoices",
        json=draft_body(uuid.uuid4(), (1, 100)),
        headers={"Idempotency-Key": "x" * 300},
    )
    assert response.status_code == 400
