"""Billing periods: a month counted from the account's anchor date."""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta


def billing_period(anchor: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return [start, end) of the period containing today.

    Months are added to the anchor itself (not chained), so an anchor on the 31st gives
    Feb 28/29, then Mar 31 again.
    """
    months = (today.year - anchor.year) * 12 + (today.month - anchor.month)
    start = anchor + relativedelta(months=months)
    if start > today:
        months -= 1
        start = anchor + relativedelta(months=months)
    end = anchor + relativedelta(months=months + 1)
    return start, end
