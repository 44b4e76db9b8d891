import pytest

from portal.money import InvalidAmount, format_money, parse_amount


def test_amounts_read_with_symbol_thousands_and_cents():
    assert format_money(123_456, "USD") == "$1,234.56"
    assert format_money(-500, "USD") == "-$5.00"
    assert format_money(1200, "JPY") == "1,200 JPY"


@pytest.mark.parametrize(
    ("typed", "minor"), [("12.50", 1250), ("$1,012.5", 101250), ("7", 700), (" 0.01 ", 1)]
)
def test_typed_amounts_become_minor_units(typed, minor):
    assert parse_amount(typed, "USD") == minor


@pytest.mark.parametrize("typed", ["", "abc", "0", "-5", "1.005", "1e9", "NaN", "Infinity"])
def test_amounts_that_cannot_be_charged_are_refused(typed):
    with pytest.raises(InvalidAmount):
        parse_amount(typed, "USD")
