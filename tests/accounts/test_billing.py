"""Billing periods: a month counted from the account's anchor date."""

from __future__ import annotations

import datetime as dt

import pytest

from orderreport.accounts.billing import billing_period

D = dt.date


@pytest.mark.parametrize(
    ("anchor", "today", "start", "end"),
    [
        # An ordinary anchor: the same day each month.
        (D(2026, 3, 15), D(2026, 3, 15), D(2026, 3, 15), D(2026, 4, 15)),
        (D(2026, 3, 15), D(2026, 4, 14), D(2026, 3, 15), D(2026, 4, 15)),
        (D(2026, 3, 15), D(2026, 4, 15), D(2026, 4, 15), D(2026, 5, 15)),
        (D(2026, 3, 15), D(2027, 1, 1), D(2026, 12, 15), D(2027, 1, 15)),
        # The 1st: calendar months.
        (D(2025, 1, 1), D(2026, 11, 30), D(2026, 11, 1), D(2026, 12, 1)),
        # Jan 31: the period ends on the last day of shorter months, then back to the 31st.
        (D(2026, 1, 31), D(2026, 1, 31), D(2026, 1, 31), D(2026, 2, 28)),
        (D(2026, 1, 31), D(2026, 2, 27), D(2026, 1, 31), D(2026, 2, 28)),
        (D(2026, 1, 31), D(2026, 2, 28), D(2026, 2, 28), D(2026, 3, 31)),
        (D(2026, 1, 31), D(2026, 3, 30), D(2026, 2, 28), D(2026, 3, 31)),
        (D(2026, 1, 31), D(2026, 3, 31), D(2026, 3, 31), D(2026, 4, 30)),
        (D(2026, 1, 31), D(2026, 4, 30), D(2026, 4, 30), D(2026, 5, 31)),
        (D(2026, 1, 31), D(2026, 12, 31), D(2026, 12, 31), D(2027, 1, 31)),
        # Leap years: Feb 29 exists in 2028, not in 2027.
        (D(2028, 1, 31), D(2028, 2, 29), D(2028, 2, 29), D(2028, 3, 31)),
        (D(2028, 1, 31), D(2028, 2, 28), D(2028, 1, 31), D(2028, 2, 29)),
        (D(2028, 2, 29), D(2028, 3, 28), D(2028, 2, 29), D(2028, 3, 29)),
        (D(2028, 2, 29), D(2029, 2, 28), D(2029, 2, 28), D(2029, 3, 29)),
        (D(2028, 2, 29), D(2029, 2, 27), D(2029, 1, 29), D(2029, 2, 28)),
        (D(2028, 2, 29), D(2032, 2, 29), D(2032, 2, 29), D(2032, 3, 29)),
        # Across a year end.
        (D(2026, 12, 31), D(2027, 1, 15), D(2026, 12, 31), D(2027, 1, 31)),
        (D(2026, 12, 31), D(2027, 2, 28), D(2027, 2, 28), D(2027, 3, 31)),
    ],
)
def test_it_finds_the_period_containing_today(
    anchor: dt.date, today: dt.date, start: dt.date, end: dt.date
) -> None:
    assert billing_period(anchor, today) == (start, end)


@pytest.mark.parametrize("anchor", [D(2026, 1, 31), D(2028, 2, 29), D(2026, 5, 30), D(2027, 1, 1)])
def test_it_tiles_the_calendar_without_gaps_or_overlaps(anchor: dt.date) -> None:
    day = anchor
    start, end = billing_period(anchor, day)
    assert start == anchor
    while day < anchor + dt.timedelta(days=3 * 366):
        current = billing_period(anchor, day)
        assert current[0] <= day < current[1]
        assert 28 <= (current[1] - current[0]).days <= 31
        if current != (start, end):
            assert current[0] == end, "a new period starts where the last one ended"
            start, end = current
        day += dt.timedelta(days=1)
