"""Amounts as people read and type them; integer minor units everywhere else."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK"})
MAX_AMOUNT = 99_999_999


class InvalidAmount(ValueError):
    """What the person typed is not an amount we can charge."""


def exponent(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL else 2


def format_money(minor_units: int, currency: str) -> str:
    places = exponent(currency)
    sign = "-" if minor_units < 0 else ""
    units, cents = divmod(abs(minor_units), 10**places)
    text = f"{units:,}" + (f".{cents:0{places}d}" if places else "")
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def parse_amount(text: str, currency: str) -> int:
    """ "12.50", "$1,012.5" or "12" in major units -> minor units; refuses fractions of a cent."""
    cleaned = text.strip().replace(",", "")
    for symbol in (SYMBOLS.get(currency, ""), currency):
        if symbol and cleaned.startswith(symbol):
            cleaned = cleaned[len(symbol) :].strip()
    if not cleaned or len(cleaned) > 20:
        raise InvalidAmount("Enter an amount, for example 25.00")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidAmount("Enter an amount as a number, for example 25.00") from None
    minor = value.scaleb(exponent(currency))
    if not value.is_finite() or minor != minor.to_integral_value():
        raise InvalidAmount("Enter an amount in whole cents")
    if minor <= 0:
        raise InvalidAmount("Enter an amount greater than zero")
    if minor > MAX_AMOUNT:
        raise InvalidAmount("That amount is too large")
    return int(minor)
