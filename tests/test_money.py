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


# The API takes price and count up to int64 each: a product line can reach (2**63 - 1) ** 2,
# 38 digits, past the 28 of Python's default decimal context.
HUGE = (2**63 - 1) ** 2


def test_it_keeps_every_digit_of_a_huge_amount() -> None:
    assert to_major(HUGE, "USD") == Decimal("850705917302346158473969077842325012.49")
    assert to_major(-HUGE * 10**6, "JPY") == Decimal(-HUGE * 10**6)


def test_it_formats_a_huge_amount_exactly() -> None:
    assert format_money(HUGE, "USD") == "$850,705,917,302,346,158,473,969,077,842,325,012.49"
    assert format_money(HUGE, "RUB", "ru") == (
        "850\xa0705\xa0917\xa0302\xa0346\xa0158\xa0473\xa0969\xa0077\xa0842\xa0325\xa0012,49\xa0₽"
    )
    assert format_money(-HUGE, "KWD", "en") == (
        "-KWD\xa085,070,591,730,234,615,847,396,907,784,232,501.249"
    )
