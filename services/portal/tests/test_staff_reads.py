from datetime import date

from portal.staff_reads import AGING_BUCKETS, aging_bucket, summarise

TODAY = date(2026, 11, 27)


def invoice(account: str, due: str, amount: int, status: str = "issued") -> dict:
    return {"account_id": account, "due_date": due, "amount_due": amount, "status": status}


def test_aging_counts_days_past_the_due_date_in_buckets():
    assert aging_bucket(date(2026, 11, 27), TODAY) == "Not yet due"
    assert aging_bucket(date(2026, 11, 26), TODAY) == "1–30 days"
    assert aging_bucket(date(2026, 10, 28), TODAY) == "1–30 days"
    assert aging_bucket(date(2026, 10, 27), TODAY) == "31–60 days"
    assert aging_bucket(date(2026, 8, 29), TODAY) == "61–90 days"
    assert aging_bucket(date(2026, 8, 1), TODAY) == "Over 90 days"


def test_outstanding_balances_rank_accounts_and_skip_settled_invoices():
    outstanding, aging = summarise(
        [
            invoice("a", "2026-12-10", 5_000),
            invoice("b", "2026-10-01", 9_000, "partially_paid"),
            invoice("a", "2026-11-01", 6_000),
            invoice("a", "2026-11-01", 7_000, "paid"),
        ],
        TODAY,
    )
    assert [(o.account_id, o.amount_due, o.invoices) for o in outstanding] == [
        ("a", 11_000, 2),
        ("b", 9_000, 1),
    ]
    assert outstanding[0].oldest_due == date(2026, 11, 1)
    assert aging.buckets == dict(zip(AGING_BUCKETS, [5_000, 6_000, 9_000, 0, 0], strict=True))
    assert aging.total == 20_000
