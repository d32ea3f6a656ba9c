"""Money: integers in minor units inside, shown with the currency's own exponent and symbol."""

from __future__ import annotations

import re
from decimal import Context, Decimal, localcontext

from babel.core import UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies

# The ISO 4217 codes an order may carry (the API's rule, the project settings' choices).
CURRENCIES = frozenset(list_currencies())


def to_major(amount: int, currency: str) -> Decimal:
    """99000 RUB -> Decimal('990.00'); JPY has no minor unit, KWD has three.

    Exact at any size: a product line (int64 price times int64 count) has up to 38 digits,
    and the default decimal context would round it to 28.
    """
    value = Decimal(amount)
    return value.scaleb(-get_currency_precision(currency), Context(prec=_digits(value)))


def _digits(value: Decimal) -> int:
    """A decimal precision that holds value exactly, also once shown with a few decimals."""
    _sign, digits, exponent = value.as_tuple()
    return max(28, len(digits) + abs(int(exponent)) + 4)


# CLDR asks for a space between a currency code and the digits ("RUB 990.00"); Babel's
# pattern for English glues them ("RUB990.00").
_CODE_THEN_DIGIT = re.compile(r"^(-?[A-Z]{3})(?=\d)")


def format_money(amount: int, currency: str, language: str = "en") -> str:
    """Format minor units for a reader: format_money(99000, "RUB", "ru") == "990,00 ₽"."""
    major = to_major(amount, currency)
    # Babel rounds to the currency's digits in the current context: it must hold them all.
    with localcontext() as context:
        context.prec = max(context.prec, _digits(major))
        try:
            text = format_currency(major, currency, locale=language)
        except (UnknownLocaleError, ValueError):
            text = format_currency(major, currency, locale="en")
    return _CODE_THEN_DIGIT.sub("\\1\xa0", text)
