"""Finance's read models: statements (JSON and CSV), the trial balance, aging; and the
rebuild of journal and balances from the audit log alone."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import uuid
from datetime import date

from tests.integration.harness import CLINICPAY, eventually
from tests.integration.ledger_support import Book, publish


async def projected(db, book: Book, entries: int) -> None:
    async def done():
        return entries == await db.fetchval(
            "SELECT count(*) FROM ledger.journal_entries WHERE account_id = $1", book.account_id
        )

    await eventually(done, timeout=20)


def ledger_get(suite, staff, path: str, **kwargs):
    return staff.get(f"{suite.ledger_api.url}/v1/{path}", **kwargs)


async def test_a_statement_opens_with_what_was_owed_and_runs_to_the_closing_balance(
    suite, staff, db
):
    book = Book(staff.clinic_id)
    october, november = uuid.uuid4(), uuid.uuid4()
    await publish(
        suite.infra.bootstrap_servers,
        book.issued(8_000, october, issued_on=date(2026, 10, 5)),
        book.issued(6_000, november, issued_on=date(2026, 11, 3)),
        book.captured([(october, 8_000)], unallocated=1_000, at="2026-11-10T15:00:00Z"),
        book.adjusted(november, 500, on="2026-11-12"),
        book.issued(3_000, issued_on=date(2026, 12, 2)),
    )
    await projected(db, book, 5)
    path = f"accounts/{book.account_id}/statement"
    body = ledger_get(suite, staff, path, params={"from": "2026-11-01", "to": "2026-11-30"}).json()

    assert body["opening_balance"] == 8_000
    assert [e["amount"] for e in body["entries"]] == [6_000, -9_000, -500]
    assert [e["balance_after"] for e in body["entries"]] == [14_000, 5_000, 4_500]
    assert body["closing_balance"] == 4_500
    assert body["entries"][1]["invoice_id"] == str(october)
    assert body["entries"][1]["payment_id"] is not None
    assert body["entries"][1]["event_type"] == "clinicpay.payments.PaymentCaptured.v1"

    as_csv = ledger_get(
        suite,
        staff,
        path,
        params={"from": "2026-11-01", "to": "2026-11-30"},
        headers={"Accept": "text/csv"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert lines[1][:2] == ["opening_balance", "8000"]
    assert [row[8] for row in lines[3:-1]] == ["6000", "-9000", "-500"]
    assert lines[-1][:2] == ["closing_balance", "4500"]

    backwards = ledger_get(suite, staff, path, params={"from": "2026-11-30", "to": "2026-11-01"})
    assert backwards.status_code == 422
    assert backwards.headers["content-type"] == "application/problem+json"


async def test_the_trial_balance_sums_to_zero_and_its_receivable_is_the_accounts(
    suite, codec, clinic_id, db
):
    from tests.integration.harness import StaffClient

    finance = StaffClient(codec, clinic_id, ["finance"])
    books = [Book(clinic_id) for _ in range(3)]
    events = []
    for n, book in enumerate(books):
        invoice = uuid.uuid4()
        events += [book.issued(10_000 + n, invoice), book.captured([(invoice, 4_000)], 250)]
        events += [book.refunded([(invoice, 1_000)]), book.written_off(invoice, 100)]
    await publish(suite.infra.bootstrap_servers, *events)
    for book in books:
        await projected(db, book, 4)

    body = ledger_get(suite, finance, "trial-balance").json()
    [usd] = body["currencies"]
    assert usd["net"] == 0 and usd["total_debits"] == usd["total_credits"]
    accounts = {a["ledger_account"]: a["balance"] for a in usd["accounts"]}
    assert sum(accounts.values()) == 0
    assert accounts["patient_receivable"] == sum(b.expected_balance for b in books)
    assert accounts["bad_debt_expense"] == 300
    assert accounts["processor_clearing"] == 3 * (4_250 - 1_000)
    billing = StaffClient(codec, clinic_id, ["billing"])
    assert ledger_get(suite, billing, "trial-balance").status_code == 403


async def test_aging_puts_what_is_owed_in_buckets_of_days_past_due(suite, codec, clinic_id, db):
    from tests.integration.harness import StaffClient

    finance = StaffClient(codec, clinic_id, ["finance"])
    book, other = Book(clinic_id), Book(clinic_id)
    due = {
        "current": (date(2026, 12, 31), 1_000),
        "days_1_30": (date(2026, 11, 20), 2_000),
        "days_31_60": (date(2026, 10, 15), 3_000),
        "days_61_90": (date(2026, 9, 15), 4_000),
        "days_over_90": (date(2026, 1, 1), 5_000),
    }
    paid_invoice = uuid.uuid4()
    events = [book.issued(amount, due=day) for day, amount in due.values()]
    events += [other.issued(700, paid_invoice, due=date(2026, 1, 1))]
    events += [other.captured([(paid_invoice, 700)])]
    await publish(suite.infra.bootstrap_servers, *events)
    await projected(db, book, 5)
    await projected(db, other, 2)

    body = ledger_get(suite, finance, "reports/aging", params={"as_of": "2026-12-01"}).json()
    [row] = [a for a in body["accounts"] if a["account_id"] == str(book.account_id)]
    assert {bucket: row[bucket] for bucket in due} == {b: amount for b, (_, amount) in due.items()}
    assert row["total"] == 15_000
    assert not [a for a in body["accounts"] if a["account_id"] == str(other.account_id)]
    [totals] = body["totals"]
    assert totals["total"] == 15_000 and totals["currency"] == "USD"


def rebuild_cli(suite) -> tuple[int, dict]:
    done = subprocess.run(
        [CLINICPAY, "ledger", "rebuild", "--json"],
        env=suite.env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


async def test_a_rebuild_from_the_audit_log_equals_the_live_ledger_and_finds_drift(
    suite, staff, db
):
    book = Book(staff.clinic_id)
    invoice = uuid.uuid4()
    await publish(
        suite.infra.bootstrap_servers,
        book.issued(5_000, invoice),
        book.captured([(invoice, 2_000)]),
        book.reminder_due(invoice),
    )
    await projected(db, book, 2)

    code, result = rebuild_cli(suite)
    assert (code, result["equal"]) == (0, True), result["differences"]
    assert result["events"] >= 3 and result["entries"] >= 2

    await db.execute(
        "UPDATE ledger.account_balances SET balance = balance + 1 WHERE account_id = $1",
        book.account_id,
    )
    try:
        code, result = rebuild_cli(suite)
    finally:
        await db.execute(
            "UPDATE ledger.account_balances SET balance = balance - 1 WHERE account_id = $1",
            book.account_id,
        )
    assert code == 1 and not result["equal"]
    assert {(d["table"], d["only_in"]) for d in result["differences"]} == {
        ("account_balances", "live"),
        ("account_balances", "rebuilt"),
    }
    assert rebuild_cli(suite)[0] == 0
