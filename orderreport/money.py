"""Money: integers in minor units inside, shown with the currency's own exponent and symbol."""

from __future__ import annotations

import re
from decimal import Decimal

from babel.core import UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies

# The ISO 4217 codes an order may carry (the API's rule, the project settings' choices).
CURRENCIES = frozenset(list_currencies())


def to_major(amount: int, currency: str) -> Decimal:
    """99000 RUB -> Decimal('990.00'); JPY has no minor unit, KWD has three."""
    return Decimal(amount).scaleb(-get_currency_precision(currency))


# CLDR asks for a space between a currency code and the digits ("RUB 990.00"); Babel's
# pattern for English glues them ("RUB990.00").
_CODE_THEN_DIGIT = re.compile(r"^(-?[A-Z]{3})(?=\d)")


def format_money(amount: int, currency: str, language: str = "en") -> str:
    """Format minor units for a reader: format_money(99000, "RUB", "ru") == "990,00 ₽"."""
    try:
        text = format_currency(to_major(amount, currency), currency, locale=language)
    except (UnknownLocaleError, ValueError):
        text = format_currency(to_major(amount, currency), currency, locale="en")
    return _CODE_THEN_DIGIT.sub("\\1\xa0", text)
