"""Choosing the card to charge: one of the account's saved cards, or a new one saved first.

A new card arrives as a gateway token: from Stripe Elements in the browser when Stripe is
configured (the number goes to Stripe, never here), or one of the sandbox's published test
cards on the embedded default.
"""

from __future__ import annotations

from portal.clients import Backends, Caller
from portal.web import uuid_or_none

SANDBOX_CARDS = (
    ("pm_card_visa", "Visa ending 4242 — test card, charges succeed"),
    ("pm_card_mastercard", "Mastercard ending 4444 — test card, charges succeed"),
    ("pm_card_chargeCustomerFail", "Visa ending 0341 — test card, charges are declined"),
    ("pm_card_chargeDeclined", "Visa ending 0002 — test card, declined when saved"),
)
DECLINES = {
    "card_declined": "Your card was declined.",
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card was declined for insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "The card's security code is incorrect.",
}


def declined(code: str | None) -> str:
    reason = DECLINES.get(code or "", "Your card was declined.")
    return f"{reason} Nothing was charged. Try another card."


async def chosen_card(
    backends: Backends, caller: Caller, account_id, saved: list[dict], form: dict, key: str
) -> tuple[str | None, str | None, int]:
    """(the payment method id, None, 200) or (None, what to tell the family, HTTP status)."""
    chosen = form.get("card", "")
    if chosen != "new":
        if uuid_or_none(chosen) and any(c["id"] == chosen for c in saved):
            return chosen, None, 200
        return None, "Choose a card.", 422
    token = form.get("new_card_token", "")
    if not token.startswith(("pm_", "tok_")) or len(token) > 255:
        return None, "Enter your card details.", 422
    answer = await backends.post(
        caller,
        "payments",
        "/v1/payment-methods",
        {"account_id": str(account_id), "token": token, "make_default": not saved},
        key=f"portal-{key}-card",
    )
    if answer.status == 402:
        return None, declined(answer.body.get("decline_code")), 402
    if not answer.ok:
        message = "That card could not be saved. Check the details or use another card."
        return None, message, 422
    return answer.body["id"], None, 201
