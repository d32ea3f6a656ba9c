"""The reports API (issue 10): GET /api/external/reports, a period's figures as JSON.

The overview page's figures (reports/figures.py computes them for both) for the key's own
project, per currency and never summed across currencies. Server keys only, through the read
API's check chain (read.py): the same errors, CORS and 422 per bad query parameter.

Amounts are integers in minor units, as the track API takes them (99000 RUB = 990.00 ₽);
each currency says how many of its digits are minor units (`minor_units`), so a client can
show them without a currency table of its own.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import Any, cast

from babel.numbers import get_currency_precision
from django.utils import timezone

from orderreport.ingest.http import Answer, json_answer, require_server_key
from orderreport.ingest.lookup import KeyInfo
from orderreport.ingest.read import Invalid, Params, Parser, django_view
from orderreport.projects.models import Event, Project
from orderreport.reports.figures import (
    GROUPS,
    MAX_DAYS,
    Group,
    Money,
    Period,
    ProductFigures,
    Report,
    change,
    report,
)

DEFAULT_DAYS = 30
DEFAULT_GROUP: Group = "day"
# An hour's steps for longer periods would be thousands of points (the page shows hours for
# today and yesterday only).
MAX_HOUR_DAYS = 2
# Far enough from datetime's limits that a period, its previous one and their local midnights
# in any zone stay representable.
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@functools.cache
def _zone_names() -> frozenset[str]:
    # "localtime" is the server's own zone under another name; "Factory" is no place.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory"})


def _zone(text: str) -> zoneinfo.ZoneInfo:
    name = text.strip()
    if name not in _zone_names():
        raise Invalid(
            f"Unknown time zone {text[:64]!r}: use an IANA name such as Europe/Moscow or UTC."
        )
    return zoneinfo.ZoneInfo(name)


def _day(text: str) -> dt.date:
    text = text.strip()
    message = "Must be a date as YYYY-MM-DD."
    if not _DATE.match(text):
        raise Invalid(message)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(message) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"Must be a date from {FIRST_DAY} to {LAST_DAY}.")
    return day


def _group(text: str) -> Group:
    if text not in GROUPS:
        raise Invalid(f"Unknown group {text!r}. Choose one of: {', '.join(GROUPS)}.")
    return cast(Group, text)


def _project_zone(project_id: int) -> zoneinfo.ZoneInfo:
    name = Project.objects.filter(pk=project_id).values_list("timezone", flat=True).first()
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _period(parser: Parser, project_id: int) -> tuple[Period, Group] | None:
    """The period and group the parameters ask for; None after naming every bad one."""
    zone = parser.get("tz", _zone)
    first = parser.get("from", _day)
    last = parser.get("to", _day)
    group = parser.get("group", _group, DEFAULT_GROUP)
    if parser.errors:
        return None
    zone = zone or _project_zone(project_id)
    if last is None:
        last = timezone.now().astimezone(zone).date()
        if first is not None and first > last:
            parser.errors["from"] = [f"Must be on or before `to` (default: today, {last})."]
            return None
    if first is None:
        first = max(last - dt.timedelta(days=DEFAULT_DAYS - 1), FIRST_DAY)
    if first > last:
        parser.errors["to"] = ["Must be on or after `from`."]
        return None
    period = Period(first, last, zone)
    if period.days > MAX_DAYS:
        # Named after the parameter sent: a `from` too long ago for today's default `to`.
        parser.errors["to" if parser.params.get("to") else "from"] = [
            f"A period is at most {MAX_DAYS} days; {first} to {last} is {period.days}."
        ]
        return None
    if group == "hour" and period.days > MAX_HOUR_DAYS:
        parser.errors["group"] = [
            f"`hour` is for periods of at most {MAX_HOUR_DAYS} days; use day, week or month."
        ]
        return None
    return period, group


# --- the answer ------------------------------------------------------------------------------


def _local(at: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    # Through UTC: a local midnight that a DST change skips is shown as the instant it is.
    return at.astimezone(dt.UTC).astimezone(zone).isoformat()


def _percent(current: int | None, previous: int | None) -> float | None:
    value = change(current, previous)
    return None if value is None else round(value, 2)


def _figures(money: Money) -> dict[str, Any]:
    return {
        "revenue": money.revenue,
        "orders": money.orders,
        "average_order_value": money.average,
        "items": money.items,
        "cancelled": {"orders": money.cancelled_orders, "total": money.cancelled_total},
    }


def _currency(figures: Report, currency: str) -> dict[str, Any]:
    now = next((m for m in figures.money if m.currency == currency), Money(currency))
    before = figures.previous_of(currency)
    return {
        "currency": currency,
        "minor_units": get_currency_precision(currency),
        **_figures(now),
        "previous": _figures(before),
        "change_percent": {
            "revenue": _percent(now.revenue, before.revenue),
            "orders": _percent(now.orders, before.orders),
            "average_order_value": _percent(now.average, before.average),
            "items": _percent(now.items, before.items),
        },
    }


def report_body(figures: Report) -> dict[str, Any]:
    """The JSON answer for a report (docs/integration.md, "Reports API")."""
    period, zone = figures.period, figures.period.zone
    previous = period.previous()
    # Currencies of the period, most orders first, then those only the previous period had.
    currencies = figures.currencies + sorted(set(figures.previous) - set(figures.currencies))
    keys = dict(
        Event.objects.filter(pk__in=[e.event_id for e in figures.events]).values_list("pk", "key")
    )
    days = [d.isoformat() for d in figures.days]
    return {
        "period": {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "tz": zone.key,
            "group": figures.group,
            "days": period.days,
            "previous": {"from": previous.first.isoformat(), "to": previous.last.isoformat()},
        },
        "currencies": [_currency(figures, c) for c in currencies],
        "series": [
            {
                "start": _local(point.start, zone),
                "currencies": {
                    c: {
                        "revenue": point.of(c).revenue,
                        "orders": point.of(c).orders,
                        "items": point.of(c).items,
                    }
                    for c in currencies
                },
                "leads": point.leads,
            }
            for point in figures.series
        ],
        "statuses": [
            {"status": s.status, "currency": s.currency, "orders": s.orders, "total": s.total}
            for s in figures.statuses
        ],
        "top_products": {
            "by_revenue": [_product(p) for p in figures.top_by_revenue],
            "by_quantity": [_product(p) for p in figures.top_by_quantity],
        },
        "leads": {
            "total": figures.leads,
            "previous": figures.previous_leads,
            "change_percent": _percent(figures.leads, figures.previous_leads),
            "per_event": [
                {
                    "event": keys.get(e.event_id),
                    "name": e.name,
                    "total": e.total,
                    "previous": e.previous,
                    "change_percent": _percent(e.total, e.previous),
                    "by_day": [
                        {"date": day, "leads": n} for day, n in zip(days, e.by_day, strict=True)
                    ],
                }
                for e in figures.events
            ],
        },
        "leads_per_order": (
            None if figures.leads_per_order is None else round(figures.leads_per_order, 4)
        ),
    }


def _product(p: ProductFigures) -> dict[str, Any]:
    return {"name": p.name, "currency": p.currency, "quantity": p.quantity, "revenue": p.revenue}


def reports_answer(info: KeyInfo, params: Params) -> Answer:
    refused = require_server_key(info)
    if refused is not None:
        return refused
    parser = Parser(params)
    asked = _period(parser, info.project_id)
    invalid = parser.invalid()
    if invalid is not None:
        return invalid
    assert asked is not None  # _period names a parameter whenever it gives none
    period, group = asked
    return json_answer(report_body(report([info.project_id], period, group)), 200)


read_reports = django_view(reports_answer)
