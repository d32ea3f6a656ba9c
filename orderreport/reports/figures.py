"""A period's figures for one project or several: what the overview page, the reports API and
the daily digest show, computed once here.

Periods are whole local days in a time zone. Orders are counted when they arrived (the
order's `received_at`), in the status they have now: cancelled and refunded orders are kept
out of revenue, order count, average and items, and shown apart. Money is never summed
across currencies: every figure is per currency.

The sums come from the tallies (orderreport/tally.py): quarter-hour slots for orders and event
records, grouped into local days by the database with integer arithmetic (slot + the zone's
offset in slots, divided by 96; the offset taken per stretch between DST changes, so a local
day is exactly the quarter-hours between its two midnights), and into local hours here.
Product lines are tallied per UTC day; a period's partial UTC days at either end are summed
from the orders.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db.models import BigIntegerField, Case, ExpressionWrapper, F, Q, Sum, Value, When

from orderreport import tally
from orderreport.events.models import EventTally
from orderreport.orders.models import UNCOUNTED, Order, OrderTally, ProductTally, Status
from orderreport.orders.tallies import product_lines
from orderreport.projects.models import Event

Group = Literal["hour", "day", "week", "month"]
GROUPS: tuple[Group, ...] = ("hour", "day", "week", "month")
TOP_PRODUCTS = 10
# The longest period a report covers (the custom picker and the API refuse longer ones).
MAX_DAYS = 732


@dataclass(frozen=True)
class Period:
    """Local days `first`..`last` (both included) in `zone`."""

    first: dt.date
    last: dt.date
    zone: ZoneInfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> dt.datetime:
        """The first day's local midnight, as an aware UTC instant."""
        return _midnight(self.first, self.zone)

    @property
    def end(self) -> dt.datetime:
        """The local midnight after the last day (excluded)."""
        return _midnight(self.last + dt.timedelta(days=1), self.zone)

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(
            self.first - dt.timedelta(days=self.days),
            self.first - dt.timedelta(days=1),
            self.zone,
        )


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    # fold=0 and zoneinfo's rule for a skipped midnight (a DST change at 00:00) give the
    # first instant of the local day.
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


@dataclass
class Money:
    """Figures of one currency."""

    currency: str
    revenue: int = 0
    orders: int = 0
    items: int = 0
    # Cancelled and refunded orders: their number and their totals, apart from the rest.
    cancelled_orders: int = 0
    cancelled_total: int = 0

    @property
    def average(self) -> int | None:
        """Average order value in minor units, rounded half up; None without orders."""
        if not self.orders:
            return None
        return (2 * self.revenue + self.orders) // (2 * self.orders)

    def add(self, status: str, orders: int, total: int, items: int) -> None:
        if status in UNCOUNTED:
            self.cancelled_orders += orders
            self.cancelled_total += total
        else:
            self.orders += orders
            self.revenue += total
            self.items += items


@dataclass
class Point:
    """One step of the series: a local hour, day, week or month."""

    start: dt.datetime  # aware, in the period's zone
    group: Group
    money: dict[str, Money] = field(default_factory=dict)
    leads: int = 0

    def of(self, currency: str) -> Money:
        return self.money.get(currency) or Money(currency)


@dataclass
class StatusCount:
    status: str
    currency: str
    orders: int
    total: int


@dataclass
class ProductFigures:
    currency: str
    name: str
    quantity: int
    revenue: int


@dataclass
class EventLeads:
    event_id: int
    name: str
    project_id: int
    total: int
    previous: int
    by_day: list[int]  # one per day of the period


@dataclass
class Report:
    period: Period
    group: Group
    money: list[Money]  # per currency, most orders first
    previous: dict[str, Money]
    series: list[Point]
    statuses: list[StatusCount]
    # Up to TOP_PRODUCTS per currency, currencies in the order of `money`.
    top_by_revenue: list[ProductFigures]
    top_by_quantity: list[ProductFigures]
    events: list[EventLeads]
    leads: int
    previous_leads: int

    @property
    def currencies(self) -> list[str]:
        return [m.currency for m in self.money]

    def previous_of(self, currency: str) -> Money:
        return self.previous.get(currency) or Money(currency)

    @property
    def orders(self) -> int:
        """Counted orders in every currency (a count, so it may be summed)."""
        return sum(m.orders for m in self.money)

    @property
    def leads_per_order(self) -> float | None:
        """Leads for each counted order, where both exist."""
        if not self.leads or not self.orders:
            return None
        return self.leads / self.orders

    @property
    def days(self) -> list[dt.date]:
        return [self.period.first + dt.timedelta(days=n) for n in range(self.period.days)]


def change(current: int | None, previous: int | None) -> float | None:
    """Percent change from `previous`; None where there is nothing to compare with."""
    if current is None or not previous:
        return None
    return (current - previous) * 100 / previous


def default_group(period: Period) -> Group:
    return "hour" if period.days <= 2 else "day"


def report(project_ids: Sequence[int], period: Period, group: Group | None = None) -> Report:
    """The figures of `period` for these projects (the caller has checked who may see them)."""
    group = group or default_group(period)
    ids = list(project_ids)
    money, statuses, series = _orders(ids, period, group)
    previous, _statuses, _series = _orders(ids, period.previous(), None)
    ordered = sorted(money.values(), key=lambda m: (-(m.orders + m.cancelled_orders), m.currency))
    by_revenue, by_quantity = _products(ids, period, [m.currency for m in ordered])
    events, leads_series = _events(ids, period, group)
    for point, leads in zip(series, leads_series, strict=True):
        point.leads = leads
    return Report(
        period=period,
        group=group,
        money=ordered,
        previous=previous,
        series=series,
        statuses=statuses,
        top_by_revenue=by_revenue,
        top_by_quantity=by_quantity,
        events=events,
        leads=sum(e.total for e in events),
        previous_leads=sum(e.previous for e in events),
    )


# --- Steps of the series ---------------------------------------------------------------------


def steps(period: Period, group: Group) -> list[dt.datetime]:
    """The starts of the series' steps, local and aware, in order (empty ones included)."""
    zone = period.zone
    if group == "hour":
        # Every local hour between the two midnights: on a DST change a day has 23 or 25 of
        # them, and a repeated hour appears twice (its two UTC instants differ).
        starts: list[dt.datetime] = []
        seen: set[dt.datetime] = set()
        at = period.start
        while at < period.end:
            hour = _hour_of(at, zone)
            if _utc(hour) not in seen:
                seen.add(_utc(hour))
                starts.append(hour)
            at += dt.timedelta(minutes=15)
        return starts
    days = [period.first + dt.timedelta(days=n) for n in range(period.days)]
    firsts = sorted({_step_day(day, group) for day in days})
    return [dt.datetime.combine(day, dt.time(), zone) for day in firsts]


def _step_day(day: dt.date, group: Group) -> dt.date:
    if group == "week":
        return day - dt.timedelta(days=day.weekday())  # weeks start on Monday (ISO 8601)
    if group == "month":
        return day.replace(day=1)
    return day


def _utc(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC)


def _hour_of(start: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The local wall-clock hour `start` falls in. An hour the clocks repeat whole (a DST
    change of an hour) is two steps, told apart by the fold; a half hour repeated (Lord
    Howe) belongs to its hour, which then lasts 90 minutes."""
    local = start.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    return local.astimezone(dt.UTC).astimezone(zone)


# --- Orders ----------------------------------------------------------------------------------


def _slot_range(period: Period) -> dict[str, int]:
    # Local midnights fall on quarter-hours in every zone in use, so the range is exact.
    return {"slot__gte": tally.slot_of(period.start), "slot__lt": tally.slot_of(period.end)}


def _offset_spans(first: int, end: int, zone: ZoneInfo) -> list[tuple[int, int]]:
    """(first slot, UTC offset in slots) of each stretch of slots first..end-1 between DST
    changes: usually one, two or three for a period."""

    def offset(slot: int) -> int:
        utcoffset = tally.slot_start(slot).astimezone(zone).utcoffset() or dt.timedelta()
        return int(utcoffset.total_seconds()) // tally.SLOT_SECONDS

    spans = [(first, offset(first))]
    at = first
    while at < end - 1:
        step = min(at + tally.SLOTS_PER_DAY, end - 1)
        if offset(step) == spans[-1][1]:
            at = step
            continue
        low, high = at, step  # offset(low) is the current one, offset(high) is not
        while high - low > 1:
            middle = (low + high) // 2
            if offset(middle) == spans[-1][1]:
                low = middle
            else:
                high = middle
        spans.append((high, offset(high)))
        at = high
    return spans


def _local_day(period: Period) -> ExpressionWrapper:
    """The local day of a tally's slot, as days since 1970-01-01 (integer arithmetic)."""
    spans = _offset_spans(tally.slot_of(period.start), tally.slot_of(period.end), period.zone)
    offset: Any = Value(spans[-1][1])
    if len(spans) > 1:
        offset = Case(
            *(When(slot__lt=spans[n + 1][0], then=Value(off))
              for n, (_first, off) in enumerate(spans[:-1])),
            default=Value(spans[-1][1]),
        )  # fmt: skip
    return ExpressionWrapper(
        (F("slot") + offset) / tally.SLOTS_PER_DAY, output_field=BigIntegerField()
    )


_DAY_ZERO = dt.date(1970, 1, 1)


def _day(number: int) -> dt.date:
    return _DAY_ZERO + dt.timedelta(days=number)


def _order_rows(project_ids: list[int], period: Period, by: str | None) -> Iterable[dict[str, Any]]:
    rows = OrderTally.objects.filter(project_id__in=project_ids, **_slot_range(period)).order_by()
    fields = ["currency", "status"]
    if by == "day":
        rows = rows.annotate(day=_local_day(period))
        fields.append("day")
    elif by == "slot":
        fields.append("slot")
    return rows.values(*fields).annotate(
        n=Sum("orders"), total=Sum("revenue"), items_sum=Sum("items")
    )


def _orders(
    project_ids: list[int], period: Period, group: Group | None
) -> tuple[dict[str, Money], list[StatusCount], list[Point]]:
    by = None if group is None else ("slot" if group == "hour" else "day")
    money: dict[str, Money] = {}
    status_sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    # Keyed by UTC instant: aware datetimes of one zone compare by wall time, so the two
    # 01:00s of a DST change would be one key.
    points = {_utc(s): Point(s, group) for s in steps(period, group)} if group else {}
    for row in _order_rows(project_ids, period, by):
        currency, status = row["currency"], row["status"]
        n, total, items = int(row["n"] or 0), int(row["total"] or 0), int(row["items_sum"] or 0)
        if not n and not total and not items:
            continue
        money.setdefault(currency, Money(currency)).add(status, n, total, items)
        acc = status_sums[status, currency]
        acc[0] += n
        acc[1] += total
        if group is None:
            continue
        if group == "hour":
            key = _hour_of(tally.slot_start(row["slot"]), period.zone)
        else:
            day = _step_day(_day(row["day"]), group)
            key = dt.datetime.combine(day, dt.time(), period.zone)
        point = points[_utc(key)]
        point.money.setdefault(currency, Money(currency)).add(status, n, total, items)
    order = {s: n for n, s in enumerate(Status.values)}
    statuses = [
        StatusCount(status, currency, n, total)
        for (status, currency), (n, total) in sorted(
            status_sums.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])
        )
        if n
    ]
    return money, statuses, list(points.values())


# --- Products --------------------------------------------------------------------------------


def _products(
    project_ids: list[int], period: Period, currencies: list[str]
) -> tuple[list[ProductFigures], list[ProductFigures]]:
    """Up to TOP_PRODUCTS products per currency by revenue and by quantity, currencies in
    the report's order (amounts of two currencies are never ranked against each other)."""
    start, end = period.start, period.end
    # Whole UTC days inside the period come from the tallies; the rest from the orders.
    first_full = (start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)).date()
    last_full = end.date()  # excluded
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    if first_full < last_full:
        rows = (
            ProductTally.objects.filter(
                project_id__in=project_ids, day__gte=first_full, day__lt=last_full
            )
            .order_by()
            .values("currency", "name")
            .annotate(q=Sum("quantity"), r=Sum("revenue"))
        )
        for row in rows:
            acc = sums[row["currency"], row["name"]]
            acc[0] += int(row["q"] or 0)
            acc[1] += int(row["r"] or 0)
        edges = Q(received_at__gte=start, received_at__lt=_utc_midnight(first_full)) | Q(
            received_at__gte=_utc_midnight(last_full), received_at__lt=end
        )
    else:
        edges = Q(received_at__gte=start, received_at__lt=end)
    orders = (
        Order.objects.filter(edges, project_id__in=project_ids, is_test=False)
        .exclude(status__in=UNCOUNTED)
        .order_by()
        .values_list("currency", "products")
    )
    for currency, products in orders.iterator(chunk_size=2000):
        for name, count, revenue in product_lines(products):
            acc = sums[currency, name]
            acc[0] += count
            acc[1] += revenue
    figures = [ProductFigures(c, n, q, r) for (c, n), (q, r) in sums.items() if q or r]
    rank = {c: n for n, c in enumerate(currencies)}

    def first(key: Any) -> list[ProductFigures]:
        taken: dict[str, int] = defaultdict(int)
        chosen = []
        for p in sorted(figures, key=lambda p: (rank.get(p.currency, len(rank)), p.currency,
                                                 *key(p), p.name)):  # fmt: skip
            if taken[p.currency] < TOP_PRODUCTS:
                taken[p.currency] += 1
                chosen.append(p)
        return chosen

    return first(lambda p: (-p.revenue, -p.quantity)), first(lambda p: (-p.quantity, -p.revenue))


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


# --- Leads -----------------------------------------------------------------------------------


def _events(
    project_ids: list[int], period: Period, group: Group
) -> tuple[list[EventLeads], list[int]]:
    """Each event's leads by local day, and the leads of every step of the series."""
    days = {period.first + dt.timedelta(days=n): n for n in range(period.days)}
    previous = period.previous()
    base = EventTally.objects.filter(project_id__in=project_ids).order_by()
    current = base.filter(**_slot_range(period))
    by_event: dict[int, list[int]] = {}
    step_index = {_utc(s): n for n, s in enumerate(steps(period, group))}
    series = [0] * len(step_index)
    day_rows = (
        current.annotate(day=_local_day(period))
        .values_list("event_id", "day")
        .annotate(n=Sum("records"))
    )
    for event_id, number, count in day_rows:
        n, day = int(count or 0), _day(number)
        by_event.setdefault(event_id, [0] * period.days)[days[day]] += n
        if group != "hour":
            key = dt.datetime.combine(_step_day(day, group), dt.time(), period.zone)
            series[step_index[_utc(key)]] += n
    if group == "hour":
        hours = current.values_list("slot").annotate(n=Sum("records"))
        for slot, count in hours:
            hour = _hour_of(tally.slot_start(slot), period.zone)
            series[step_index[_utc(hour)]] += int(count or 0)
    before = dict(
        base.filter(**_slot_range(previous))
        .values("event_id")
        .annotate(n=Sum("records"))
        .values_list("event_id", "n")
    )
    ids = {e for e, counts in by_event.items() if any(counts)} | {e for e, n in before.items() if n}
    names = {
        e.pk: e for e in Event.objects.filter(pk__in=ids, project_id__in=project_ids).order_by()
    }
    events = [
        EventLeads(
            event_id=e,
            name=names[e].name,
            project_id=names[e].project_id,
            total=sum(by_event.get(e, ())),
            previous=int(before.get(e) or 0),
            by_day=by_event.get(e, [0] * period.days),
        )
        for e in ids
        if e in names
    ]
    events.sort(key=lambda e: (-e.total, e.name, e.event_id))
    return events, series
