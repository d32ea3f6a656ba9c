from __future__ import annotations

from decimal import Decimal

from orderreport.money import format_money, to_major


def test_it_uses_each_currencys_exponent() -> None:
    assert to_major(99000, "RUB") == Decimal("990.00")
    assert to_major(5000, "JPY") == Decimal("5000")
    assert to_major(1234, "KWD") == Decimal("1.234")


def test_it_formats_in_the_readers_language() -> None:
    assert format_money(99000, "RUB", "ru") == "990,00\xa0₽"
    assert format_money(99000, "USD", "en") == "$990.00"
    assert format_money(500000, "JPY", "en") == "¥500,000"
    assert format_money(99000, "RUB", "en") == "RUB\xa0990.00"  # a code is spaced off
