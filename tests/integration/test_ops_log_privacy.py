"""No log line of the whole integration run holds an e-mail address, a date of birth or a
card number. Every clinicpay process the run started wrote its output to a file in the
session's work directory; this test runs after all the others and reads every one of them.

Dates are everywhere in logs (timestamps, due dates), so a date of birth is recognised by
value: every date of birth the test suite sends (read from its sources), any date before
2020 (no log has a reason to name one: the suite's invoices, payments and schedules are
later), and any field named like one.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from tests.integration.payments_support import post

# Logs of the stand-ins for other parties, not of clinicpay: the fake Stripe holds cards.
NOT_OURS = {"localstripe.log", "tansu.log"}
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A card number as people write it: 13-19 digits, or in groups (4-4-4-4, Amex's 4-6-5), not
# part of a longer token such as a UUID or a hex id.
CARD_CANDIDATE = re.compile(
    r"(?<![\w-])(?:[2-6]\d{12,18}"
    r"|[2-6]\d{3}([ -])\d{4}\1\d{4}\1\d{1,7}"
    r"|3\d{3}([ -])\d{6}\2\d{5})(?![\w-])"
)
DOB_LITERAL = re.compile(r"""date_of_birth["']?\s*[:=]\s*["'](\d{4}-\d{2}-\d{2})["']""")
DOB_FIELD = re.compile(r"(birth|dob)", re.IGNORECASE)
OLD_DATE = re.compile(
    r"(?<![\d-])(?:1[89]\d\d|20[01]\d)-(?:0[1-9]|1[0-2])-(?:[0-2]\d|3[01])(?![\d-])"
)
TESTS = Path(__file__).resolve().parents[1]

SENTINEL_EMAIL = f"privacy.{uuid.uuid4().hex[:8]}@example.org"
SENTINEL_DOB = "1961-08-23"
SENTINEL_CARD = "4000056655665556"  # Stripe's Visa debit test number


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(int(d) for d in reversed(digits)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_numbers_in(line: str) -> list[str]:
    numbers = (re.sub(r"[ -]", "", match.group()) for match in CARD_CANDIDATE.finditer(line))
    return [n for n in numbers if 13 <= len(n) <= 19 and luhn_valid(n)]


def dates_of_birth_sent_by_the_tests() -> set[str]:
    found = {SENTINEL_DOB}
    for source in TESTS.rglob("*.py"):
        found.update(DOB_LITERAL.findall(source.read_text(errors="replace")))
    return found


def dob_fields_in(line: str) -> list[str]:
    try:
        document = json.loads(line)
    except json.JSONDecodeError:
        return []
    return [key for key in document if DOB_FIELD.search(key)] if isinstance(document, dict) else []


def offences(line: str, dates_of_birth: set[str]) -> list[str]:
    found = [f"e-mail {m}" for m in EMAIL.findall(line)]
    found += [f"card {n[:6]}…" for n in card_numbers_in(line)]
    found += [f"date of birth {d}" for d in dates_of_birth if d in line]
    found += [f"date before 2020 {d}" for d in OLD_DATE.findall(line) if d not in dates_of_birth]
    found += [f"field {k}" for k in dob_fields_in(line)]
    return found


def test_the_detectors_find_what_they_look_for():
    assert offences(f'{{"event": "x", "to": "{SENTINEL_EMAIL}"}}', set()) == [
        f"e-mail {SENTINEL_EMAIL}"
    ]
    assert card_numbers_in("pan 4242 4242 4242 4242 and 5555-5555-5555-4444") == [
        "4242424242424242",
        "5555555555554444",
    ]
    assert card_numbers_in("offset 4242424242424241 ts 1764219000123") == []
    assert card_numbers_in("51985109-0861-40ec-9151-0ab809d6b0d7 af146c56-1833-4681-8946-28a") == []
    assert card_numbers_in("amex 3782 822463 10005") == ["378282246310005"]
    assert offences('{"patient_dob": "x"}', set()) == ["field patient_dob"]
    assert offences("born 1990-05-17, paid 2026-11-20T10:00:00Z", set()) == [
        "date before 2020 1990-05-17"
    ]
    assert "1984-03-02" in dates_of_birth_sent_by_the_tests()


def push_personal_data_through_every_service(suite, staff) -> None:
    """Personal data in bodies, paths and query strings, valid and invalid, so the logs of
    this run have had every chance to hold some."""
    invoicing = suite.invoicing_api.url
    account = staff.post(
        f"{invoicing}/v1/accounts",
        json={
            "guarantor": {
                "name": "Dana Sentinel",
                "email": SENTINEL_EMAIL,
                "date_of_birth": SENTINEL_DOB,
                "contact_preference": "email",
            },
            "patients": [{"name": "Kim Sentinel", "date_of_birth": SENTINEL_DOB}],
        },
    )
    assert account.status_code == 201, account.text
    account_id = account.json()["id"]
    checked = staff.post(
        f"{invoicing}/v1/accounts/{account_id}/identity-checks",
        json={"date_of_birth": SENTINEL_DOB},
    )
    assert checked.status_code in (200, 403), checked.text
    for url in (suite.invoicing_api.url, suite.payments_api.url, suite.ledger_api.url):
        assert staff.get(f"{url}/v1/accounts/{SENTINEL_EMAIL}").status_code >= 400
        staff.get(f"{url}/v1/accounts/{SENTINEL_DOB}", params={"email": SENTINEL_EMAIL})
    refused = post(
        staff,
        f"{suite.payments_api.url}/v1/payment-methods",
        {"account_id": account_id, "token": SENTINEL_CARD},
    )
    assert refused.status_code == 422
    malformed = staff.post(
        f"{invoicing}/v1/accounts",
        json={"guarantor": {"email": "not-an-address " + SENTINEL_EMAIL, "date_of_birth": "x"}},
    )
    assert malformed.status_code == 422


@pytest.mark.last
def test_no_log_line_of_the_run_holds_an_email_a_date_of_birth_or_a_card_number(
    suite, staff, workdir
):
    push_personal_data_through_every_service(suite, staff)
    dates_of_birth = dates_of_birth_sent_by_the_tests()
    logs = sorted(p for p in workdir.glob("*.log") if p.name not in NOT_OURS)
    assert {p.name for p in logs} >= {f"{name}.log" for name in suite.by_name}

    found = []
    lines = 0
    for log in logs:
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
            lines += 1
            found += [f"{log.name}:{number}: {o}" for o in offences(line, dates_of_birth)]
    assert lines > 0
    assert found == [], "\n".join(found[:50])
