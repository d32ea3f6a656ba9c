"""Money: integers in minor units inside, shown with the currency's own exponent and symbol."""

from __future__ import annotations

from decimal import Decimal

from babel.core import UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision


def to_major(amount: int, currency: str) -> Decimal:
    """99000 RUB -> Decimal('990.00'); JPY has no minor unit, KWD has three."""
    return Decimal(amount).scaleb(-get_currency_precision(currency))


def format_money(amount: int, currency: str, language: str = "en") -> str:
    """Format minor units for a reader: format_money(99000, "RUB", "ru") == "990,00 ₽"."""
    try:
        return format_currency(to_major(amount, currency), currency, locale=language)
    except (UnknownLocaleError, ValueError):
        return format_currency(to_major(amount, currency), currency, locale="en")
