"""The audit log: every consumed event, raw and hash-chained; verify finds a changed row;
finance traces a payment back to its invoice and request."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import uuid
from dataclasses import replace

import asyncpg
import pytest

from tests.integration.harness import CLINICPAY, StaffClient, eventually
from tests.integration.ledger_support import Book, publish


async def logged(db, *envelopes) -> bool:
    ids = [e.id for e in envelopes]
    count = await db.fetchval(
        "SELECT count(*) FROM ledger.audit_log WHERE event_id = ANY($1::uuid[])", ids
    )
    return count == len(ids)


def audit_get(suite, staff, path: str, **params):
    return staff.get(f"{suite.ledger_api.url}/v1/audit/{path}", params=params)


def traced(book: Book):
    """An invoice, and a payment caused by it in another request of the same correlation."""
    invoice_id = uuid.uuid4()
    correlation = f"req-{uuid.uuid4().hex[:10]}"
    issued = replace(book.issued(9_000, invoice_id), correlation_id=correlation)
    paid = replace(
        book.captured([(invoice_id, 9_000)]),
        correlation_id=correlation,
        causation_id=str(issued.id),
    )
    return issued, paid, correlation


async def test_a_payment_is_traced_back_to_its_invoice_and_request(suite, staff, db):
    book = Book(staff.clinic_id)
    issued, paid, correlation = traced(book)
    await publish(suite.infra.bootstrap_servers, issued, paid, book.reminder_due(uuid.uuid4()))
    await eventually(lambda: logged(db, issued, paid), timeout=20)

    found = audit_get(suite, staff, "events", correlation_id=correlation).json()
    assert [e["event_id"] for e in found["data"]] == [str(issued.id), str(paid.id)]
    payment = found["data"][1]
    assert payment["causation_id"] == str(issued.id)
    assert payment["envelope"]["data"]["allocations"][0]["invoice_id"] == issued.data["invoice_id"]

    first = audit_get(suite, staff, "events", account_id=str(book.account_id), limit=2).json()
    second = audit_get(
        suite,
        staff,
        "events",
        account_id=str(book.account_id),
        limit=2,
        starting_after=first["data"][-1]["event_id"],
    ).json()
    # Reminders adds events of its own for the account, later: ours are among them, in order,
    # and the pages are the start of the whole list.
    everything = audit_get(
        suite, staff, "events", account_id=str(book.account_id), limit=500
    ).json()["data"]
    ids = [e["event_id"] for e in everything]
    assert ids.index(str(issued.id)) < ids.index(str(paid.id)) and len(ids) >= 3
    assert first["has_more"]
    pages = first["data"] + second["data"]
    assert pages == everything[: len(pages)]

    only_payments = audit_get(
        suite,
        staff,
        "events",
        account_id=str(book.account_id),
        type="clinicpay.payments.PaymentCaptured.v1",
    ).json()
    assert [e["event_id"] for e in only_payments["data"]] == [str(paid.id)]


async def test_the_csv_export_streams_every_matching_event(suite, staff, db):
    book = Book(staff.clinic_id)
    events = [book.issued(100 + i) for i in range(7)]
    await publish(suite.infra.bootstrap_servers, *events)
    await eventually(lambda: logged(db, *events), timeout=20)

    response = audit_get(suite, staff, "events", account_id=str(book.account_id), format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {str(e.id) for e in events} <= {r["event_id"] for r in rows}
    assert json.loads(rows[0]["data"])["account_id"] == str(book.account_id)


async def test_another_clinics_events_are_not_listed(suite, staff, other_clinic_staff, db):
    book = Book(staff.clinic_id)
    event = book.issued(500)
    await publish(suite.infra.bootstrap_servers, event)
    await eventually(lambda: logged(db, event), timeout=20)
    theirs = audit_get(suite, other_clinic_staff, "events", account_id=str(book.account_id))
    assert theirs.json()["data"] == []


def verify_cli(suite) -> tuple[int, dict]:
    done = subprocess.run(
        [CLINICPAY, "ledger", "verify", "--json"],
        env=suite.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, json.loads(done.stdout)


async def test_a_changed_historical_row_is_named_by_verify(suite, staff, db):
    book = Book(staff.clinic_id)
    target = book.issued(4_000)
    later = [book.issued(1 + i) for i in range(3)]  # same account: same partition, same chain
    await publish(suite.infra.bootstrap_servers, target)
    await eventually(lambda: logged(db, target), timeout=20)
    await publish(suite.infra.bootstrap_servers, *later)
    await eventually(lambda: logged(db, *later), timeout=20)
    assert audit_get(suite, staff, "verify").json()["ok"] is True
    chain, seq = await db.fetchrow(
        "SELECT chain, seq FROM ledger.audit_log WHERE event_id = $1", target.id
    )

    async with tampered(db, target.id):
        found = audit_get(suite, staff, "verify").json()
        assert found["ok"] is False
        assert found["first_bad_row"]["chain"] == chain
        assert found["first_bad_row"]["seq"] == seq
        assert found["first_bad_row"]["event_id"] == str(target.id)
        assert "changed" in found["first_bad_row"]["reason"]
        code, cli = verify_cli(suite)
        assert code == 1 and cli["first_bad_row"]["event_id"] == str(target.id)

    assert audit_get(suite, staff, "verify").json()["ok"] is True
    assert verify_cli(suite)[0] == 0


class tampered:
    """Change one amount in a stored envelope as a database owner could, then put it back."""

    def __init__(self, db, event_id):
        self.db, self.event_id = db, event_id

    async def _set(self, amount: str) -> None:
        async with self.db.transaction():
            await self.db.execute("SET LOCAL session_replication_role = replica")
            await self.db.execute(
                """UPDATE ledger.audit_log
                   SET envelope = jsonb_set(envelope, '{data,total_amount}', $2::jsonb)
                   WHERE event_id = $1""",
                self.event_id,
                amount,
            )

    async def __aenter__(self):
        self.original = await self.db.fetchval(
            "SELECT envelope->'data'->>'total_amount' FROM ledger.audit_log WHERE event_id = $1",
            self.event_id,
        )
        await self._set("1")

    async def __aexit__(self, *exc):
        await self._set(self.original)


async def test_the_database_refuses_to_change_the_audit_log(suite, db):
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("DELETE FROM ledger.audit_log WHERE seq = 1")


async def test_the_heads_are_the_last_row_of_every_chain(suite, staff, codec, db):
    book = Book(staff.clinic_id)
    event = book.issued(321)
    await publish(suite.infra.bootstrap_servers, event)
    await eventually(lambda: logged(db, event), timeout=20)
    body = audit_get(suite, staff, "head").json()
    heads = {h["chain"]: h for h in body["heads"]}
    chain, seq, hash_ = await db.fetchrow(
        "SELECT chain, seq, hash FROM ledger.audit_log WHERE event_id = $1", event.id
    )
    assert heads[chain]["seq"] >= seq
    if heads[chain]["seq"] == seq:
        assert heads[chain]["hash"] == hash_.hex()
    billing_only = StaffClient(codec, staff.clinic_id, ["billing"])
    assert audit_get(suite, billing_only, "head").status_code == 403
