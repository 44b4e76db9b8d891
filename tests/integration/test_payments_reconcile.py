"""`clinicpay payments reconcile --date`: the gateway's day against ours, every mismatch named."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime

from tests.integration import stripe_support
from tests.integration.harness import CLINICPAY
from tests.integration.payments_support import pay, post, save_card

stripe_payments = stripe_support.stripe_payments  # the session's Stripe-configured deployment


def reconcile(env: dict[str, str]) -> subprocess.CompletedProcess:
    today = datetime.now(UTC).date().isoformat()
    return subprocess.run(
        [CLINICPAY, "payments", "reconcile", "--date", today],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_reconcile_names_each_charge_that_stripe_and_we_see_differently(
    stripe_payments, staff
):
    account = uuid.uuid4()
    token = stripe_payments.tokenize("4242424242424242")
    card = post(
        staff,
        f"{stripe_payments.url}/v1/payment-methods",
        {"account_id": str(account), "token": token},
    ).json()
    matched = pay(stripe_payments.url, staff, account, card["id"], 1_234).json()
    stranger = str(uuid.uuid4())
    stripe_payments.client.v1.payment_intents.create(
        params={
            "amount": 4_321,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"clinicpay_payment_id": stranger},
        }
    )
    with stripe_payments.worker_stopped():
        stripe_payments.proxy.inject("POST", "/v1/payment_intents", "502_after")
        unresolved = pay(stripe_payments.url, staff, account, card["id"], 2_222).json()
        assert unresolved["status"] == "processing"

        result = reconcile(stripe_payments.env)

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("charge_unknown_here") and stranger in line for line in lines)
    assert any(
        line.startswith("captured_there_not_here") and unresolved["id"] in line for line in lines
    )
    assert not any(matched["id"] in line for line in lines)


async def test_a_clean_sandbox_day_reconciles_without_mismatches(suite, staff):
    account = uuid.uuid4()
    card = save_card(suite.payments_api.url, staff, account)
    paid = pay(suite.payments_api.url, staff, account, card["id"], 3_000).json()
    refunded = post(
        staff,
        f"{suite.payments_api.url}/v1/payments/{paid['id']}/refunds",
        {"amount": 1_000, "reason": "billing_error"},
    )
    assert refunded.status_code == 201

    result = reconcile(suite.env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("0 mismatch(es)")
