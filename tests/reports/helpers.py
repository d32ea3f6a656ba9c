"""Seeding orders and records through the real write side, and a naive report to compare with.

The naive report reads every order and record of the projects and applies the rules of
reports/figures.py in plain Python, one row at a time: no tallies, no SQL grouping.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from orderreport.events.models import EventRecord
from orderreport.ingest.record import record_in_transaction
from orderreport.ingest.rows import EventItem, EventRow, OrderItem, OrderRow, new_tag
from orderreport.orders.models import UNCOUNTED, Order
from orderreport.projects.models import ApiKey, Event, Project
from orderreport.reports.figures import Period, steps

_ids = itertools.count(1)


def add_order(
    project: Project,
    at: dt.datetime,
    total: int,
    currency: str = "RUB",
    products: list[dict[str, Any]] | None = None,
    external_id: str | None = None,
    is_test: bool = False,
) -> Order:
    """Record an order as the API would (the write side's own statements), at time `at`;
    `is_test`: as the integration page's test order."""
    key = ApiKey.objects.filter(project=project).first()
    assert key is not None
    row = OrderRow(
        project_id=project.pk,
        external_id=external_id or f"order-{next(_ids)}",
        total=total,
        currency=currency,
        username="",
        email="",
        phone="",
        products=products or [],
        data=[],
        origin="",
        client_ip=None,
        user_agent="",
        received_at=at,
        ingest_tag=new_tag(),
        is_test=is_test,
    )
    item = OrderItem(key.pk, project.account_id, at.date().replace(day=1), row)
    (result,) = record_in_transaction([item])
    assert result.created, result
    return Order.objects.get(pk=result.record_id)


def add_record(event: Event, at: dt.datetime) -> EventRecord:
    key = ApiKey.objects.filter(project_id=event.project_id).first()
    assert key is not None
    row = EventRow(
        project_id=event.project_id,
        event_id=event.pk,
        data=[{"name": "name", "value": "Ann"}],
        origin="",
        client_ip=None,
        user_agent="",
        received_at=at,
        ingest_tag=new_tag(),
    )
    (result,) = record_in_transaction([EventItem(key.pk, row)])
    assert result.created, result
    return EventRecord.objects.get(pk=result.record_id)


@dataclass
class NaiveMoney:
    revenue: int = 0
    orders: int = 0
    items: int = 0
    cancelled_orders: int = 0
    cancelled_total: int = 0


@dataclass
class Naive:
    money: dict[str, NaiveMoney] = field(default_factory=dict)
    previous: dict[str, NaiveMoney] = field(default_factory=dict)
    series: list[tuple[dt.datetime, dict[str, NaiveMoney], int]] = field(default_factory=list)
    statuses: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    products: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    leads: dict[int, list[int]] = field(default_factory=dict)
    previous_leads: dict[int, int] = field(default_factory=dict)


def _add(money: dict[str, NaiveMoney], order: Order) -> None:
    m = money.setdefault(order.currency, NaiveMoney())
    items = sum(p["count"] for p in order.products)
    if order.status in UNCOUNTED:
        m.cancelled_orders += 1
        m.cancelled_total += order.total
    else:
        m.orders += 1
        m.revenue += order.total
        m.items += items


def _step_of(at: dt.datetime, zone: ZoneInfo, group: str) -> dt.datetime:
    local = at.astimezone(zone)
    if group == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if group == "week":
        day -= dt.timedelta(days=day.weekday())
    elif group == "month":
        day = day.replace(day=1)
    return dt.datetime.combine(day, dt.time(), zone)


def naive(project_ids: list[int], period: Period, group: str) -> Naive:
    zone = period.zone
    start = dt.datetime.combine(period.first, dt.time(), zone)
    end = dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time(), zone)
    prev = period.previous()
    prev_start = dt.datetime.combine(prev.first, dt.time(), zone)
    result = Naive()
    # Keyed by UTC instant (the repeated hour of a DST change is two steps).
    series: dict[dt.datetime, tuple[dict[str, NaiveMoney], list[int]]] = {
        s.astimezone(dt.UTC): ({}, [0])
        for s in steps(period, group)  # type: ignore[arg-type]
    }
    products: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    statuses: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    # The integration page's test orders are in no report.
    for order in Order.objects.filter(project_id__in=project_ids, is_test=False):
        at = order.received_at
        if start <= at < end:
            _add(result.money, order)
            _add(series[_step_of(at, zone, group).astimezone(dt.UTC)][0], order)
            statuses[order.status, order.currency][0] += 1
            statuses[order.status, order.currency][1] += order.total
            if order.status not in UNCOUNTED:
                for p in order.products:
                    acc = products[order.currency, p["name"]]
                    acc[0] += p["count"]
                    acc[1] += p["price"] * p["count"]
        elif prev_start <= at < start:
            _add(result.previous, order)
    days = period.days
    for record in EventRecord.objects.filter(project_id__in=project_ids):
        at = record.received_at
        if start <= at < end:
            index = (at.astimezone(zone).date() - period.first).days
            result.leads.setdefault(record.event_id, [0] * days)[index] += 1
            series[_step_of(at, zone, group).astimezone(dt.UTC)][1][0] += 1
        elif prev_start <= at < start:
            result.previous_leads[record.event_id] = (
                result.previous_leads.get(record.event_id, 0) + 1
            )
    result.series = [(s, money, leads[0]) for s, (money, leads) in series.items()]
    result.statuses = {k: (v[0], v[1]) for k, v in statuses.items()}
    result.products = {k: (v[0], v[1]) for k, v in products.items()}
    return result


def naive_top(naive: Naive, by: str, per_currency: int = 10) -> list[tuple[Any, Any]]:
    """The top products as report() lists them: up to `per_currency` in each currency,
    currencies with the most orders (cancelled included) first, then by code."""
    rank = sorted(naive.money, key=lambda c: (-(naive.money[c].orders +
                                                naive.money[c].cancelled_orders), c))  # fmt: skip
    products = [kv for kv in naive.products.items() if kv[1] != (0, 0)]
    if by == "revenue":
        products.sort(key=lambda kv: (rank.index(kv[0][0]), kv[0][0], -kv[1][1], -kv[1][0],
                                      kv[0][1]))  # fmt: skip
    else:
        products.sort(key=lambda kv: (rank.index(kv[0][0]), kv[0][0], -kv[1][0], -kv[1][1],
                                      kv[0][1]))  # fmt: skip
    taken: dict[str, int] = defaultdict(int)
    top = []
    for (currency, name), sums in products:
        if taken[currency] < per_currency:
            taken[currency] += 1
            top.append(((currency, name), sums))
    return top
