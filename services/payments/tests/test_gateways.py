"""The adapters' own translations, with no gateway running: Stripe's states, the test cards."""

import pytest
import stripe

from payments.gateway import ChargeStatus
from payments.gateway.cards import CARDS, TOKENS
from payments.gateway.sandbox import _card_key
from payments.gateway.stripe import _outcome


def intent(status: str, error: dict | None = None):
    return stripe.PaymentIntent.construct_from(
        {"id": "pi_1", "object": "payment_intent", "status": status, "last_payment_error": error},
        "sk_test",
    )


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        ("succeeded", None, (ChargeStatus.SUCCEEDED, None)),
        ("processing", None, (ChargeStatus.PENDING, None)),
        ("requires_capture", None, (ChargeStatus.PENDING, None)),
        (
            "requires_payment_method",
            {"code": "card_declined", "decline_code": "insufficient_funds"},
            (ChargeStatus.DECLINED, "insufficient_funds"),
        ),
        (
            "requires_payment_method",
            {"code": "card_declined"},
            (ChargeStatus.DECLINED, "card_declined"),
        ),
        ("requires_action", None, (ChargeStatus.DECLINED, "authentication_required")),
    ],
)
def test_a_payment_intents_state_is_read_as_an_outcome(status, error, expected):
    outcome = _outcome(intent(status, error))
    assert (outcome.status, outcome.decline_code) == expected
    assert outcome.intent_id == "pi_1"


def test_the_sandbox_declines_what_stripe_declines_and_where():
    assert TOKENS["pm_card_visa"].declined_on_save is None
    assert TOKENS["pm_card_chargeDeclined"].declined_on_save == "generic_decline"
    assert (
        TOKENS["pm_card_chargeDeclinedInsufficientFunds"].declined_on_save == "insufficient_funds"
    )
    fails_later = TOKENS["pm_card_chargeCustomerFail"]
    assert (fails_later.declined_on_save, fails_later.declined_on_charge) == (None, "card_declined")
    assert {card.last4 for card in CARDS.values()} == {"4242", "4444", "0002", "9995", "0341"}


@pytest.mark.parametrize("key", sorted(CARDS))
def test_a_saved_sandbox_card_names_its_test_card(key):
    assert _card_key(f"pm_sbx_{key}_0123456789abcdef") == key
