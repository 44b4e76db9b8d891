"""Every money event of DESIGN.md through the broker into the journal and the balances, in
any order across topics; bad messages to the dead-letter topic."""

from __future__ import annotations

import json
import subprocess
import uuid

from eventbus.topics import PAYMENTS, dead_letter
from tests.integration.harness import CLINICPAY, eventually, read_topic
from tests.integration.ledger_support import Book, publish


def balance(suite, staff, account_id):
    response = staff.get(f"{suite.ledger_api.url}/v1/accounts/{account_id}/balance")
    return response.json() if response.status_code == 200 else None


async def settled_balance(suite, staff, book: Book, entries: int, db) -> dict:
    async def projected():
        count = await db.fetchval(
            "SELECT count(*) FROM ledger.journal_entries WHERE account_id = $1", book.account_id
        )
        return count == entries and balance(suite, staff, book.account_id)

    return await eventually(projected, timeout=20)


async def test_every_money_event_moves_the_balance_as_designed(suite, staff, db):
    book = Book(staff.clinic_id)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events = [
        book.issued(10_000, first),
        book.issued(5_000, second),
        book.issued(2_500, third),
        book.adjusted(first, 1_000),
        book.captured([(first, 6_000)], unallocated=500),
        book.refunded([(first, 2_000)]),
        book.voided(second, 5_000),
        book.written_off(third, 2_500),
        book.reminder_due(first),
    ]
    await publish(suite.infra.bootstrap_servers, *events)

    found = await settled_balance(suite, staff, book, entries=8, db=db)
    assert found["balance"] == book.expected_balance == 10_000 - 1_000 - 6_500 + 2_000
    assert found["credit"] == 0
    by_invoice = {uuid.UUID(i["invoice_id"]): i["balance"] for i in found["invoices"]}
    assert by_invoice == book.expected_invoices == {first: 5_000, second: 0, third: 0}
    assert await db.fetchval(
        "SELECT count(*) FROM ledger.audit_log WHERE event_id = ANY($1::uuid[])",
        [e.id for e in events],
    ) == len(events)


async def test_a_payment_before_its_invoice_is_a_credit_until_the_invoice_arrives(suite, staff, db):
    book = Book(staff.clinic_id)
    invoice = uuid.uuid4()
    payment = book.captured([(invoice, 4_000)])
    await publish(suite.infra.bootstrap_servers, payment)
    early = await settled_balance(suite, staff, book, entries=1, db=db)
    assert (early["balance"], early["credit"]) == (-4_000, 4_000)
    assert early["invoices"] == [{"invoice_id": str(invoice), "balance": -4_000, "due_date": None}]

    await publish(suite.infra.bootstrap_servers, book.issued(4_000, invoice, due=None))
    late = await settled_balance(suite, staff, book, entries=2, db=db)
    assert (late["balance"], late["credit"]) == (0, 0)
    assert late["invoices"][0]["due_date"] == "2026-12-20"


async def test_another_clinics_balance_is_not_found(suite, staff, other_clinic_staff, db):
    book = Book(staff.clinic_id)
    await publish(suite.infra.bootstrap_servers, book.issued(700))
    await settled_balance(suite, staff, book, entries=1, db=db)
    response = other_clinic_staff.get(
        f"{suite.ledger_api.url}/v1/accounts/{book.account_id}/balance"
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def dlq_cli(suite, *args: str) -> list[dict]:
    done = subprocess.run(
        [CLINICPAY, "ledger", "dlq", *args, "--json"],
        env=suite.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_bad_messages_go_to_the_dead_letter_topic_and_the_partition_keeps_moving(
    suite, staff, db
):
    book = Book(staff.clinic_id)
    unbalanced = book.captured([(uuid.uuid4(), 3_000)], unallocated=0)
    unbalanced.data["amount"] = 9_999  # allocations no longer add up: valid JSON, unpostable
    garbage = (
        b'{"id": "not an envelope"'  # on payments: invoicing's tests read every record of theirs
    )
    key = str(book.account_id).encode()
    group = suite.env["LEDGER_CONSUMER_GROUP"].encode()
    await publish(
        suite.infra.bootstrap_servers,
        raw=[(PAYMENTS, key, garbage), (PAYMENTS, key, unbalanced.encode())],
    )
    after = Book(staff.clinic_id, account_id=book.account_id)
    await publish(suite.infra.bootstrap_servers, after.issued(1_234))
    assert (await settled_balance(suite, staff, after, entries=1, db=db))["balance"] == 1_234

    async def dead_letters():
        records = await read_topic(suite.infra.bootstrap_servers, dead_letter(PAYMENTS))
        return [r for r in records if r.key == key and dict(r.headers)["dlq_consumer"] == group]

    letters = await eventually(dead_letters, timeout=15)
    reasons = {r.value: dict(r.headers)["dlq_reason"].decode() for r in letters}
    assert reasons[garbage].startswith("InvalidEvent")
    assert reasons[unbalanced.encode()].startswith("UnbalancedEntry")

    listed = [d for d in dlq_cli(suite, "list") if d["event_id"] == str(unbalanced.id)]
    assert listed and listed[0]["source"].startswith(PAYMENTS + ":")
    assert listed[0]["reason"].startswith("UnbalancedEntry") and not listed[0]["replayed"]

    [source] = {(d["dlq_topic"], d["partition"], d["offset"]) for d in listed[:1]}
    replayed = dlq_cli(
        suite, "replay", "--topic", PAYMENTS, "--partition", str(source[1]), "--offset",
        str(source[2]),
    )  # fmt: skip
    assert [d["event_id"] for d in replayed] == [str(unbalanced.id)]
    assert (
        dlq_cli(
            suite,
            "replay",
            "--topic",
            PAYMENTS,
            "--partition",
            str(source[1]),
            "--offset",
            str(source[2]),
        )
        == []
    )  # fmt: skip  (each dead letter goes back once)

    async def dead_lettered_again():
        again = [r for r in await dead_letters() if r.value == unbalanced.encode()]
        return len(again) == 2 or [
            (r.topic, r.offset, r.key, r.value[:50]) for r in await dead_letters()
        ]

    assert await eventually(dead_lettered_again, timeout=15)
    assert balance(suite, staff, book.account_id)["balance"] == 1_234
