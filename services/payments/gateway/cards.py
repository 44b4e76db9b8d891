"""The sandbox's test cards: the tokens Stripe documents for its test mode, and what each does.

A browser never sends a card number to clinicpay. In test mode Stripe.js would turn
4242 4242 4242 4242 into a token; the sandbox accepts the tokens Stripe publishes for its test
cards directly, so the whole suite can be shown with no account anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    key: str
    brand: str
    last4: str
    declined_on_save: str | None = None
    declined_on_charge: str | None = None
    exp_month: int = 12
    exp_year: int = 2034


VISA = TestCard("visa", "visa", "4242")
MASTERCARD = TestCard("mastercard", "mastercard", "4444")
DECLINED = TestCard("declined", "visa", "0002", declined_on_save="generic_decline")
INSUFFICIENT_FUNDS = TestCard(
    "insufficient_funds", "visa", "9995", declined_on_save="insufficient_funds"
)
FAILS_WHEN_CHARGED = TestCard(
    "fails_when_charged", "visa", "0341", declined_on_charge="card_declined"
)

CARDS = {
    card.key: card for card in (VISA, MASTERCARD, DECLINED, INSUFFICIENT_FUNDS, FAILS_WHEN_CHARGED)
}

TOKENS = {
    "pm_card_visa": VISA,
    "tok_visa": VISA,
    "pm_card_mastercard": MASTERCARD,
    "tok_mastercard": MASTERCARD,
    "pm_card_visa_chargeDeclined": DECLINED,
    "pm_card_chargeDeclined": DECLINED,
    "tok_chargeDeclined": DECLINED,
    "pm_card_visa_chargeDeclinedInsufficientFunds": INSUFFICIENT_FUNDS,
    "pm_card_chargeDeclinedInsufficientFunds": INSUFFICIENT_FUNDS,
    "tok_chargeDeclinedInsufficientFunds": INSUFFICIENT_FUNDS,
    "pm_card_chargeCustomerFail": FAILS_WHEN_CHARGED,
    "tok_chargeCustomerFail": FAILS_WHEN_CHARGED,
}
